"""Plays a scripted conversation on the virtual clock: a five-minute massage runs in milliseconds.

Script lines are `SECONDS<TAB>UTTERANCE` (virtual seconds since start; `#` starts a comment).
The assistant is half-duplex, as in the live loop: a turn said while it is speaking is heard as
soon as it stops.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from .clock import VirtualClock
from .content import Content
from .dialogue import Assistant, Spoken
from .speaker import DEFAULT_RATE, speaking_seconds
from .store import MemoryStore
from .understand import Understander

# A guide left paused forever, or a script far in the future, stops the simulation here.
MAX_VIRTUAL_SECONDS = 24 * 3600
# Malformed lines named one by one; the rest are counted. The wrong file (a binary, a long text) is not a page of warnings.
NAMED_BAD_LINES = 3


@dataclass(frozen=True)
class Turn:
    t: float
    text: str


def parse_script(lines: Iterable[str], warn: Callable[[str], None] = lambda message: None) -> list[Turn]:
    """Turns in time order; malformed lines are reported through `warn` and skipped."""
    turns, bad = [], []
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        seconds, tab, text = line.partition("\t")
        try:
            t = float(seconds)
            if not tab or not 0 <= t <= MAX_VIRTUAL_SECONDS:
                raise ValueError
        except ValueError:
            bad.append(number)
            continue
        turns.append(Turn(t, text.split("#", 1)[0].strip()))
    for number in bad[:NAMED_BAD_LINES]:
        warn(f"line {number}: expected SECONDS<TAB>UTTERANCE with 0 <= SECONDS <= {MAX_VIRTUAL_SECONDS}, skipped")
    if len(bad) > NAMED_BAD_LINES:
        warn(f"{len(bad) - NAMED_BAD_LINES} more lines like that skipped")
    return sorted(turns, key=lambda turn: turn.t)


class TimedSpeaker:
    """Speaks by moving the virtual clock on by how long the words would take at the current rate."""

    def __init__(self, clock: VirtualClock, rate: int = DEFAULT_RATE):
        self.clock = clock
        self.rate = rate

    def say(self, text: str) -> None:
        self.clock.advance(speaking_seconds(text, self.rate))

    def close(self) -> None:
        pass


def simulate(content: Content, understander: Understander, turns: list[Turn], seed: int | None = 0) -> Iterator[dict]:
    """Events as the evaluation contract has them, in time order."""
    clock = VirtualClock()
    events: list[dict] = []

    def spoken(line: Spoken) -> None:
        events.append({"t": round(line.t, 3), "end": round(line.end, 3), "who": "assistant", "text": line.text,
                       "guide": line.guide, "step": line.step})

    assistant = Assistant(content, TimedSpeaker(clock), clock, rng=random.Random(seed), store=MemoryStore(),
                          on_spoken=spoken)
    assistant.start()
    for turn in turns:
        if assistant.finished:
            break
        _run_until(assistant, clock, turn.t)
        clock.advance_to(turn.t)
        heard = understander.understand(turn.text)
        events.append({"t": round(turn.t, 3), "who": "user", "text": turn.text, "intent": heard.intent})
        assistant.hear(heard)
    if not assistant.finished:
        _run_until(assistant, clock, MAX_VIRTUAL_SECONDS)
    return iter(sorted(events, key=lambda event: event["t"]))


def _run_until(assistant: Assistant, clock: VirtualClock, moment: float) -> None:
    """Let the guide's timers fire up to `moment`, and any that fell due while the assistant spoke."""
    while (deadline := assistant.next_deadline()) is not None and deadline <= max(moment, clock.now()):
        clock.advance_to(deadline)
        assistant.tick()
