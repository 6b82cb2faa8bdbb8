"""`zazu report RUN_DIR`: (re)write a run's report.html."""

from __future__ import annotations

import click

from zazu.cli._base import cli, fails_cleanly


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=str))
@fails_cleanly
def report(run_dir):
    """Write RUN_DIR/report.html (plots in RUN_DIR/report/) from the run folder's files."""
    from zazu.report import write_report

    path = write_report(run_dir)
    click.echo(f"Report: {path}")
