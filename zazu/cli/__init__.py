"""The command line: parsing and printing only; the work is in the Python API.

One module per command group; each registers its commands on `cli` when imported.
`zazu` with no command (or options only) runs `zazu search`, so that
`python main.py --task classification` works as in ZazuML.
"""

from zazu.cli._base import add_verbose_option, cli, fails_cleanly
from zazu.cli import data, evaluate, export, predict, report, search, serve, train, zoo  # noqa: F401,E402  (importing registers the commands)

add_verbose_option(cli)


def main(argv=None):
    cli.main(args=argv, prog_name="zazu")


__all__ = ["cli", "fails_cleanly", "main"]
