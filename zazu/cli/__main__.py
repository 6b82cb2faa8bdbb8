"""`python -m zazu.cli ...`: the `zazu` command without its console script (how the chief starts workers)."""

from zazu.cli import cli

cli(prog_name="zazu")
