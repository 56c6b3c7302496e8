"""The terminal side of the live assistant: who said what, notices, and the countdown during pauses."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape

from .dialogue import Spoken


class TerminalScreen:
    """Prints the conversation to stdout and notices to stderr; the countdown redraws one line in place,
    and only on a terminal (piped output stays one clean line per event)."""

    def __init__(self, out=None, err=None):
        self.out = Console(file=out or sys.stdout, highlight=False, soft_wrap=True)
        self.err = Console(file=err or sys.stderr, highlight=False, soft_wrap=True)
        self.live_line = False

    def _end_countdown(self) -> None:
        if self.live_line:
            self.out.print(" " * 60, end="\r")
            self.live_line = False

    def notice(self, message: str) -> None:
        self._end_countdown()
        self.err.print(message, markup=False)

    def heard(self, text: str, intent: str | None) -> None:
        self._end_countdown()
        self.out.print(f"[dim]you:[/dim] {escape(text)}  [dim]({intent or 'not understood'})[/dim]")

    def spoken(self, line: Spoken) -> None:
        self._end_countdown()
        self.out.print(f"[bold]backcare:[/bold] {escape(line.text)}")

    def countdown(self, title: str, step: int, seconds_left: float, paused: bool) -> None:
        if not self.out.is_terminal:
            return
        minutes, seconds = divmod(int(round(seconds_left)), 60)
        state = "paused" if paused else "left"
        self.out.print(f"[cyan]{title}, step {step}: {minutes}:{seconds:02d} {state}[/cyan]   ", end="\r")
        self.live_line = True

