"""The `zazu` command group and what every command shares: clean failure and a quiet TensorFlow."""

from __future__ import annotations

import os
import sys
from functools import wraps

import click

from zazu import __version__
from zazu.errors import ZazuError
from zazu.interrupts import exit_code


class DefaultToSearch(click.Group):
    def parse_args(self, ctx, args):
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = ["search", *args]
        return super().parse_args(ctx, args)


def fails_cleanly(fn):
    """ZazuError -> one line on stderr, exit 2; Ctrl-C -> exit 130 (SIGTERM in a search: 143). No tracebacks for user errors."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ZazuError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(e.exit_code)
        except KeyboardInterrupt as stop:
            click.echo("interrupted", err=True)
            sys.exit(exit_code(stop))
        except OSError as e:  # a place Zazu cannot write or read (the commands check theirs first where they can)
            if e.errno is None:
                raise
            where = f"{e.filename}: " if e.filename else ""
            click.echo(f"error: {where}{e.strerror}. Expected a place this user can read and write, with free "
                       "space.", err=True)
            sys.exit(2)

    return wrapper


@click.group(cls=DefaultToSearch, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zazu")
def cli():
    """Zazu: AutoML model zoo for edge vision.

    Without a command, runs `search` (see `zazu search --help`), e.g.
    `zazu --task classification`.
    """


def quiet_tensorflow(command: str = "zazu") -> None:
    """Before TensorFlow is imported: library output off the terminal, into a log file
    (`zazu.library_log`), unless --verbose / $ZAZU_VERBOSE."""
    from zazu import library_log

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    library_log.divert(command)


def _set_verbose(ctx, param, value) -> None:
    if value:
        from zazu.library_log import VERBOSE_ENV

        os.environ[VERBOSE_ENV] = "1"


VERBOSE_OPTION = click.Option(
    ["--verbose"], is_flag=True, expose_value=False, is_eager=True, callback=_set_verbose,
    help="Show TensorFlow's, Keras's and LiteRT's own output on the terminal (else it goes to a log: the "
         "run folder's zazu.log, or ~/.cache/zazu/logs/). Also: ZAZU_VERBOSE=1.")


def add_verbose_option(group: click.Group) -> None:
    """Every command of `group` (and its subgroups) takes --verbose."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            add_verbose_option(command)
        elif not any(p.name == "verbose" for p in command.params):
            command.params.append(VERBOSE_OPTION)


TRUST_OPTION = click.option(
    "--trust-run-code", "trust_run_code", is_flag=True,
    help="Import the run folder's own model code even if it is not code you ran or your zoo's (read it first).")
