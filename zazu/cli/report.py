"""`zazu report RUN_DIR`: (re)write a run's report.html, and open it with --open."""

from __future__ import annotations

import click

from zazu.cli._base import cli, fails_cleanly


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("--open", "open_it", is_flag=True, help="Open the report in the web browser, when there is one.")
@fails_cleanly
def report(run_dir, open_it):
    """Write RUN_DIR/report.html (plots in RUN_DIR/report/) from the run folder's files: any run
    folder, older ones included."""
    from zazu.report import write_report

    path = write_report(run_dir)
    click.echo(f"Report: {path}")
    if open_it:
        import webbrowser

        try:
            opened = webbrowser.get().open(path.resolve().as_uri())
        except webbrowser.Error:
            opened = False
        if not opened:
            click.echo(f"No web browser to open it here: open {path} in one.")
