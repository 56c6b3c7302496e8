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


def lost_microphone_then(clock, understander, typed, notices):
    """A session whose microphone hears "guide massage" and then stops working; then `typed` is what the keyboard
    gives (ScriptedEars: it ends after the last)."""
    microphone = FailingMicrophone(clock, [understander.understand("guide massage")])
    ears = MicrophoneThenKeyboard(lambda: microphone, lambda: ScriptedEars(clock, typed), notices.notice, clock)
    return microphone, ears


LOST = ("backcare: the microphone stopped working ([Errno -9999] Unanticipated host error); "
        "type instead (Enter after each line).")
CLOSED = "backcare: nothing can be typed either (the input is closed); the guide goes on to its end."


def test_a_microphone_lost_mid_guide_hands_over_to_the_keyboard_and_the_guide_goes_on(content, understander):
    clock = VirtualClock()
    screen, said = Screen(), []
    assistant = Assistant(content, TimedSpeaker(clock), clock, rng=random.Random(1), on_spoken=lambda line: said.append(line))
    microphone, ears = lost_microphone_then(clock, understander, [None, understander.understand("how much longer")], screen)
    converse(assistant, ears, clock, screen)
    assert microphone.closed
    assert screen.notices == [LOST, CLOSED]
    time_left = [re.compile(re.sub(r"\\{\w+\\}", ".+", re.escape(line)))
                 for line in content.lines.time_left_seconds + content.lines.time_left_minutes]
    answer = next(i for i, line in enumerate(said) if any(pattern.fullmatch(line.text) for pattern in time_left))
    assert said[answer - 1].step == 1  # typed during the first step, and answered there
    # The keyboard closed too: the guide was not lost, but went on to its end with nobody to speak.
    massage = next(guide for guide in content.guides if guide.name == "massage")
    steps_after = list(dict.fromkeys(line.step for line in said[answer + 1:] if line.step))
    assert steps_after == list(range(1, len(massage.steps) + 1))  # the rest of the first step, then every other one
    assert any(said[-1].text.startswith(outro) for outro in massage.outro)
    assert clock.now() >= sum(step.seconds for step in massage.steps)
    assert assistant.run is None


def test_with_the_microphone_lost_and_nothing_to_type_a_paused_guide_ends_the_session(content, understander):
    clock = VirtualClock()
    screen = Screen()
    assistant = Assistant(content, TimedSpeaker(clock), clock, rng=random.Random(1))
    _, ears = lost_microphone_then(clock, understander, [understander.understand("pause")], screen)
    converse(assistant, ears, clock, screen)  # returns: nobody is left who could say "resume"
    assert screen.notices == [LOST]
    assert assistant.run is not None and assistant.run.paused

