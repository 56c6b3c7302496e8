"""The live loop's wiring, driven by scripted ears on the virtual clock (no audio: what the ears hear is given)."""

from __future__ import annotations

import random
import re

import pytest

from voice.audio import AudioError
from voice.clock import VirtualClock
from voice.dialogue import REPLY_SECONDS, WOKEN, Assistant
from voice.listen import MicrophoneThenKeyboard
from voice.loop import converse
from voice.simulate import TimedSpeaker


class ScriptedEars:
    """Hands over what each turn says (None: nobody spoke, and the whole timeout passes, or a minute when there is
    none) and notes what the loop
    asked of it: (timeout, idle)."""

    wake = "hey coach"

    def __init__(self, clock: VirtualClock, turns):
        self.clock, self.turns, self.asked = clock, list(turns), []

    def listen(self, timeout, idle=True, until=None):
        if not self.turns:
            raise EOFError
        self.asked.append((timeout, idle))
        heard = self.turns.pop(0)
        self.clock.advance(1.0 if heard is not None else 60.0 if timeout is None else timeout)
        return heard


class Screen:
    def __init__(self):
        self.notices = []

    def notice(self, message):
        self.notices.append(message)

    def heard(self, text, intent):
        pass

    def spoken(self, line):
        pass

    def countdown(self, title, step, seconds_left, paused):
        pass


def test_after_the_wake_phrase_the_request_may_come_for_as_long_as_a_reply_may(content):
    clock = VirtualClock()
    ears = ScriptedEars(clock, [None, WOKEN, None, None])
    screen = Screen()
    assistant = Assistant(content, TimedSpeaker(clock), clock, rng=random.Random(1), wake="hey coach")
    converse(assistant, ears, clock, screen)
    (after_greeting, greeting_idle), (_, idle), (after_wake, wake_idle), (_, later_idle) = ears.asked
    assert after_greeting == pytest.approx(REPLY_SECONDS) and not greeting_idle  # a reply to the greeting needs none
    assert idle  # nothing was said: the wake phrase is needed
    assert after_wake == pytest.approx(REPLY_SECONDS) and not wake_idle  # woken: the request needs none
    assert later_idle  # nothing came in time: needed again
    assert screen.notices == ["(listening)"]


class FailingMicrophone:
    """Hears what it is given, then stops working as an unplugged microphone does."""

    wake = None

    def __init__(self, clock, turns):
        self.clock, self.turns, self.closed = clock, list(turns), False

    def listen(self, timeout, idle=True, until=None):
        if not self.turns:
            raise AudioError("the microphone stopped working ([Errno -9999] Unanticipated host error)")
        self.clock.advance(1.0)
        return self.turns.pop(0)

    def close(self):
        self.closed = True


def test_a_microphone_lost_mid_guide_hands_over_to_the_keyboard_and_the_guide_goes_on(content, understander):
    clock = VirtualClock()
    microphone = FailingMicrophone(clock, [understander.understand("guide massage")])
    keyboard = ScriptedEars(clock, [None, understander.understand("how much longer")])
    screen = Screen()
    said = []
    assistant = Assistant(content, TimedSpeaker(clock), clock, rng=random.Random(1), on_spoken=lambda line: said.append(line.text))
    ears = MicrophoneThenKeyboard(lambda: microphone, lambda: keyboard, screen.notice)
    converse(assistant, ears, clock, screen)
    assert microphone.closed
    assert screen.notices == ["backcare: the microphone stopped working ([Errno -9999] Unanticipated host error); "
                              "type instead (Enter after each line)."]
    assert assistant.run is not None and assistant.run.guide.name == "massage"  # the guide was not lost
    time_left = [re.compile(re.sub(r"\\{\w+\\}", ".+", re.escape(line)))
                 for line in content.lines.time_left_seconds + content.lines.time_left_minutes]
    assert any(pattern.fullmatch(said[-1]) for pattern in time_left), said[-1]  # typed, and answered

