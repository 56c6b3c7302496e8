"""The conversation: what the assistant says in reply to each understood turn, and when guide steps
and cues are due.

The Assistant speaks through a Speaker (blocking: half-duplex) and reads time from a Clock; the
driver (live loop, simulator, tests) calls `hear()` for each user turn and `tick()` when
`next_deadline()` comes. Nothing here knows about terminals, microphones or real time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Callable

from .clock import Clock
from .content import GUIDE_INTENTS, QUESTION_INTENTS, Content, Guide
from .guide import GuideRun
from .speaker import MAX_RATE, MIN_RATE, Speaker
from .store import Bookmark, MemoryStore, Store
from .understand import Understanding

# Each "slower"/"faster" changes the rate by this factor, within the speaker's bounds.
RATE_STEP = 1.15
# Misunderstood turns in a row before a hint with example questions.
HINT_AFTER = 2
# With a wake phrase, a reply to what the assistant just said (an offer's "yes", a follow-up question) needs none
# if it starts within this many seconds of the assistant falling quiet: nobody says "hey coach, yes".
REPLY_SECONDS = 8.0
# What ears hand over when they heard the wake phrase: not a turn, but the start of REPLY_SECONDS in which the request
# needs none (compared by identity: an equal Understanding from elsewhere is not it).
WOKEN = Understanding("(the wake phrase)", None)
# time_left answers in seconds below this, in whole minutes above.
SECONDS_BELOW = 90
# `_say(step=CURRENT)`: the line belongs to the running guide's current step.
CURRENT = object()


@dataclass(frozen=True)
class Spoken:
    """One line the assistant said, with when, and which guide step it belongs to."""

    t: float
    end: float
    text: str
    guide: str | None = None
    step: int | None = None


@dataclass(frozen=True)
class Offer:
    """What a following "yes" starts: an intent, or an interrupted guide from a given step."""

    intent: str
    step: int = 1
    minutes: int | None = None


class Assistant:
    def __init__(self, content: Content, speaker: Speaker, clock: Clock, *, rng: random.Random | None = None,
                 store: Store | None = None, on_spoken: Callable[[Spoken], None] | None = None, wake: str | None = None):
        self.content = content
        self.wake = wake  # the wake phrase the person must say between turns, if any
        self.lines = content.lines
        self.speaker = speaker
        self.clock = clock
        self.rng = rng or random.Random()
        self.store = store or MemoryStore()
        self.on_spoken = on_spoken or (lambda spoken: None)
        self.run: GuideRun | None = None
        self.offer: Offer | None = None
        self.misunderstood = 0
        self.last_said: str | None = None
        self.reply_until = clock.now()  # a turn starting before then is a reply (REPLY_SECONDS)
        self.finished = False

    # --- speaking -------------------------------------------------------------------------------

    def _say(self, text: str, *, step: int | None | object = CURRENT, in_guide: bool = True) -> None:
        """Speak (blocking) and report the line; while a guide runs, lines belong to its current step."""
        guide = self.run.guide.name if self.run and in_guide else None
        if guide is None:
            step = None
        elif step is CURRENT:
            step = self.run.number
        start = self.clock.now()
        self.speaker.say(text)
        self.on_spoken(Spoken(start, self.clock.now(), text, guide, step))
        self.last_said = text
        self.reply_until = self.clock.now() + REPLY_SECONDS

    def _pick(self, texts: tuple[str, ...], **values) -> str:
        """One wording at random; placeholders are filled only in lines that have them (answers may contain braces)."""
        text = self.rng.choice(texts)
        return text.format(**values) if values else text

    def _line(self, name: str, **values) -> None:
        self._say(self._pick(getattr(self.lines, name), **values))

    # --- start and the user's turns -------------------------------------------------------------

    def start(self) -> None:
        """Greets; the first time ever also says what the assistant is not; offers an interrupted guide."""
        memory = self.store.load()
        self._line("greeting")
        if self.wake:
            self._line("wake_hint", wake=self.wake)
        if not memory.disclaimer_given:
            self._line("disclaimer")
            memory = replace(memory, disclaimer_given=True)
            self.store.save(memory)
        mark = memory.bookmark
        guide = self.content.guide_named(mark.guide) if mark else None
        if mark and guide and 1 <= mark.step <= len(guide.steps):
            self.offer = Offer(guide.intent, mark.step, mark.minutes)
            self._line("resume_offer", step=mark.step, guide=guide.title)

    def hear(self, heard: Understanding) -> None:
        intent = heard.intent
        if not heard.text.strip():
            return
        if intent is None:
            self._misunderstood()
            return
        self.misunderstood = 0
        if intent == "red_flag":
            self._on_red_flag(heard)
        elif intent in QUESTION_INTENTS:
            self._answer(intent, heard.slots)
        elif intent in GUIDE_INTENTS:
            self._guide_asked(intent, heard.slots.get("minutes"))
        else:
            getattr(self, f"_on_{intent}")()

    def woken(self) -> None:
        """The wake phrase was heard: the request that follows is taken as a reply is (REPLY_SECONDS)."""
        self.reply_until = self.clock.now() + REPLY_SECONDS

    def no_reply(self) -> None:
        """The moment to reply passed without a word: a wake phrase, if any, is needed again."""
        self.reply_until = self.clock.now()

    def _misunderstood(self) -> None:
        self.misunderstood += 1
        self._line("not_understood")
        if self.misunderstood >= HINT_AFTER:
            self.misunderstood = 0
            self._line("hint")
            self.no_reply()  # one more try after a "sorry"; a television must not keep it listening, sorry after sorry

    def _answer(self, intent: str, slots) -> None:
        answer = self.content.answer_for(intent, slots)
        if answer is None:
            self._misunderstood()
            return
        text = self._pick(answer.texts)
        if self.run is None and answer.offer:
            self.offer = Offer(answer.offer)
            text += " " + self._pick(self.content.offers[answer.offer])
        else:
            self.offer = None
        self._say(text, in_guide=False)
        if self.run is not None:
            self._line("back_to_guide", guide=self.run.guide.title)

    def _on_red_flag(self, heard: Understanding) -> None:
        """Safety first: whatever is running stops, the warning comes at once, and nothing is offered."""
        if self.run is not None:
            self.run = None
            self._forget_bookmark()
        self.offer = None
        answer = self.content.answer_for("red_flag", heard.slots)
        self._say(self._pick(answer.texts), in_guide=False)

    # --- guides ---------------------------------------------------------------------------------

    def _guide_asked(self, intent: str, minutes: int | None) -> None:
        guide = self.content.guide_for(intent)
        if self.run is not None:
            if self.run.guide.name == guide.name and minutes is not None and guide.minutes:
                self._set_minutes(guide, minutes)
            else:
                self._line("guide_busy", guide=self.run.guide.title)
            return
        self._start_guide(guide, 1, minutes)

    def _clamped_minutes(self, guide: Guide, minutes: int | None) -> int | None:
        if guide.minutes is None:
            return None
        if minutes is None:
            return guide.minutes.default
        clamped = guide.minutes.clamp(int(minutes))
        if clamped != minutes:
            self._line("minutes_clamped", low=guide.minutes.low, high=guide.minutes.high, minutes=clamped)
        return clamped

    def _set_minutes(self, guide: Guide, minutes: int) -> None:
        """'Make it twenty minutes' during the compress: the running step keeps its elapsed time."""
        minutes = self._clamped_minutes(guide, minutes)
        self.run.guide = guide.with_minutes(minutes)
        self._remember()
        self._line("minutes_set", minutes=minutes)

    def _start_guide(self, guide: Guide, step: int, minutes: int | None) -> None:
        self.offer = None
        minutes = self._clamped_minutes(guide, minutes)
        self.run = GuideRun(guide.with_minutes(minutes) if minutes else guide)
        self._say(self._pick(guide.intro), step=None)
        self._read_step(step - 1)

    def _read_step(self, index: int) -> None:
        """Reads a step aloud; its timer starts once the reading is over."""
        self.run.go_to(index)
        self._remember()
        self._say(self.run.step.text)
        self.run.begin_timer(self.clock.now())

    def _finish_guide(self) -> None:
        guide = self.run.guide
        self._forget_bookmark()
        text = self._pick(guide.outro)
        if guide.offer:
            text += " " + self._pick(self.content.offers[guide.offer])
        self._say(text, step=None)
        self.run = None
        self.offer = Offer(guide.offer) if guide.offer else None

    def _remember(self) -> None:
        run = self.run
        minutes = round(run.guide.steps[0].seconds / 60) if run.guide.minutes else None
        self.store.save(replace(self.store.load(), bookmark=Bookmark(run.guide.name, run.number, minutes)))

    def _forget_bookmark(self) -> None:
        self.store.save(replace(self.store.load(), bookmark=None))

    def next_deadline(self) -> float | None:
        return self.run.next_deadline() if self.run else None

    def tick(self) -> None:
        """Say the cues that are due, and move on when the step's time is up."""
        if self.run is None:
            return
        now = self.clock.now()
        if self.run.step_over(now):
            if self.run.is_last:
                self._finish_guide()
            else:
                self._read_step(self.run.index + 1)
            return
        for cue in self.run.due_cues(now):
            self._say(cue.text)

    # --- controls -------------------------------------------------------------------------------

    def _needs_guide(self) -> bool:
        if self.run is None:
            self._line("no_guide")
            return False
        return True

    def _on_next(self) -> None:
        if self._needs_guide():
            if self.run.is_last:
                self._finish_guide()
            else:
                self._read_step(self.run.index + 1)

    def _on_previous(self) -> None:
        if self._needs_guide():
            if self.run.index == 0:
                self._line("first_step")
            self._read_step(max(0, self.run.index - 1))

    def _on_repeat(self) -> None:
        if self.run is not None:
            self._read_step(self.run.index)
        elif self.last_said:
            self._say(self.last_said, in_guide=False)
        else:
            self._line("help_idle")

    def _on_pause(self) -> None:
        if self._needs_guide():
            if self.run.paused:
                self._line("already_paused")
            else:
                self.run.pause(self.clock.now())
                self._line("paused")

    def _on_resume(self) -> None:
        if self._needs_guide():
            if self.run.paused:
                self._line("resumed")
                self.run.resume(self.clock.now())
            else:
                self._line("not_paused")

    def _on_time_left(self) -> None:
        if self._needs_guide():
            left = self.run.remaining(self.clock.now())
            if self.run.paused:
                self._line("time_left_paused", seconds=round(left))
            elif left < SECONDS_BELOW:
                self._line("time_left_seconds", seconds=max(1, round(left)))
            else:
                self._line("time_left_minutes", minutes=round(left / 60))

    def _on_slower(self) -> None:
        self._change_rate(1 / RATE_STEP, "slower", "slowest")

    def _on_faster(self) -> None:
        self._change_rate(RATE_STEP, "faster", "fastest")

    def _change_rate(self, factor: float, changed: str, at_limit: str) -> None:
        rate = round(min(MAX_RATE, max(MIN_RATE, self.speaker.rate * factor)))
        if rate == self.speaker.rate:
            self._line(at_limit)
        else:
            self.speaker.rate = rate
            self._line(changed)

    def _on_stop(self) -> None:
        if self._needs_guide():
            title = self.run.guide.title
            self._forget_bookmark()
            self.run = None
            self.offer = None
            self._say(self._pick(self.lines.guide_stopped, guide=title), in_guide=False)

    def _on_help(self) -> None:
        self._line("help_guide" if self.run else "help_idle")

    def _on_yes(self) -> None:
        offer, self.offer = self.offer, None
        if offer is None:
            self._line("nothing_offered")
        elif offer.intent in GUIDE_INTENTS:
            self._start_guide(self.content.guide_for(offer.intent), offer.step, offer.minutes)
        else:
            self._answer(offer.intent, {})

    def _on_no(self) -> None:
        if self.offer is not None and self.offer.step > 1:
            self._forget_bookmark()
        self.offer = None
        self._line("declined")

    def _on_goodbye(self) -> None:
        """Inside a guide the bookmark stays: the place is offered again next time (a goodbye misheard from
        stray words must not lose it; "stop" is how a guide is ended for good)."""
        self.run = None
        self._line("goodbye")
        self.finished = True
