"""The one place that talks to the terminal during a search.

`rich` renders colour and tables on a terminal and degrades to plain lines when
output is piped (CI, Docker logs).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.markup import escape


def _short(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v) if isinstance(v, (list, dict)) else v}" for k, v in values.items())


class Reporter:
    def __init__(self, console=None, quiet: bool = False):
        from rich.console import Console

        # Piped output (CI, Docker logs) has no width; 80 columns would fold the table.
        self.console = console or Console(highlight=False, width=None if sys.stdout.isatty() else 160)
        self.quiet = quiet
        self.started = 0
        self.total = 0

    def message(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text, soft_wrap=True)

    def note(self, text: str) -> None:
        self.message(f"[cyan]note:[/cyan] {escape(text)}")

    def warning(self, text: str) -> None:
        self.console.print(f"[yellow]warning:[/yellow] {escape(text)}", soft_wrap=True)

    def trial_started(self, model: str, trial_id: str, hyperparameters: dict[str, Any]) -> None:
        self.started += 1
        total = f"/{self.total}" if self.total else ""
        self.message(f"[bold]trial {self.started}{total}[/bold] {model} #{trial_id}  {_short(hyperparameters)}")

    def trial_finished(self, record: dict[str, Any], objective: str) -> None:
        secs = f"{record.get('wall_time_s', 0):.1f}s"
        if record["status"] == "COMPLETED":
            self.message(f"  [green]done[/green] {objective}={record['metrics'][objective]:.4f} in {secs}")
        else:
            self.message(f"  [red]failed[/red] after {secs}: {record.get('error', '')} "
                         f"(traceback in {record['trial_dir']}/traceback.txt)")

    def leaderboard(self, ranked: list[dict[str, Any]], objective: str, limit: int = 20) -> None:
        from rich.table import Table

        table = Table(title="Leaderboard", title_justify="left")
        for column in ("rank", "model", "trial", objective, "status", "time", "hyperparameters"):
            table.add_column(column)
        for i, r in enumerate(ranked[:limit], 1):
            done = r["status"] == "COMPLETED"
            table.add_row(
                str(i) if done else "-", r["model"], r["trial_id"],
                f"{r['metrics'][objective]:.4f}" if done else "-",
                r["status"], f"{r.get('wall_time_s', 0):.1f}s", _short(r.get("hyperparameters", {})),
            )
        self.console.print(table)
