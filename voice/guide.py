"""The timer of one running guide: which step, when its pause ends, which cues are due.

Pure bookkeeping against a monotonic `now` passed in by the caller; it never sleeps and never
speaks, so every pause/resume/skip case is a plain function call in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .content import Cue, Guide, Step

# Deadlines are sums of floats; a moment this close to one counts as reaching it.
EPSILON = 1e-6


@dataclass
class GuideRun:
    guide: Guide
    index: int = 0
    started_at: float | None = None  # when the current step's timed pause began (after its text was spoken)
    paused_at: float | None = None
    paused_total: float = 0.0
    cues_done: set[int] = field(default_factory=set)

    @property
    def step(self) -> Step:
        return self.guide.steps[self.index]

    @property
    def number(self) -> int:
        """1-based step number, as people count."""
        return self.index + 1

    @property
    def is_last(self) -> bool:
        return self.index == len(self.guide.steps) - 1

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    def go_to(self, index: int) -> None:
        """Move to a step; its timer starts when `begin_timer` is called after the text is spoken."""
        self.index = index
        self.started_at = None
        self.paused_total = 0.0
        self.cues_done = set()

    def begin_timer(self, now: float) -> None:
        self.started_at = now
        self.paused_total = 0.0
        self.cues_done = set()
        if self.paused_at is not None:  # paused while the step was being read: stay paused from here
            self.paused_at = now

    def pause(self, now: float) -> None:
        if self.paused_at is None:
            self.paused_at = now

    def resume(self, now: float) -> None:
        if self.paused_at is not None:
            if self.started_at is not None:
                self.paused_total += now - self.paused_at
            self.paused_at = None

    def elapsed(self, now: float) -> float:
        if self.started_at is None:
            return 0.0
        until = self.paused_at if self.paused_at is not None else now
        return max(0.0, until - self.started_at - self.paused_total)

    def remaining(self, now: float) -> float:
        return max(0.0, self.step.seconds - self.elapsed(now))

    def _pending_cues(self) -> list[tuple[float, int, Cue]]:
        cues = []
        for i, cue in enumerate(self.step.cues):
            at = cue.elapsed_at(self.step.seconds)
            if i not in self.cues_done and 0 < at < self.step.seconds:
                cues.append((at, i, cue))
        return sorted(cues)

    def next_deadline(self) -> float | None:
        """The absolute time of the next cue or of the step's end; None while paused or not timing."""
        if self.started_at is None or self.paused:
            return None
        offsets = [at for at, _, _ in self._pending_cues()] + [self.step.seconds]
        return self.started_at + self.paused_total + min(offsets)

    def due_cues(self, now: float) -> list[Cue]:
        """Cues whose moment has come, each returned once, in order."""
        if self.started_at is None:
            return []
        elapsed = self.elapsed(now)
        due = []
        for at, i, cue in self._pending_cues():
            if at <= elapsed + EPSILON:
                self.cues_done.add(i)
                due.append(cue)
        return due

    def step_over(self, now: float) -> bool:
        return self.started_at is not None and not self.paused and self.elapsed(now) + EPSILON >= self.step.seconds
