"""`python main.py --task classification`: the same CLI as the `zazu` command."""

from zazu.cli import main

if __name__ == "__main__":
    main()
