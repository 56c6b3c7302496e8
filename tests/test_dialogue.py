"""The conversation and the timed guides, driven on the virtual clock."""

from __future__ import annotations

import pytest

from voice.dialogue import REPLY_SECONDS
from voice.speaker import MAX_RATE, MIN_RATE
from voice.store import Bookmark, Memory, MemoryStore

from .conftest import Harness


def step_starts(lines, guide="massage"):
    """Virtual times at which each step's text finished being read (its timer start), by step number."""
    starts = {}
    for line in lines:
        if line.guide == guide and line.step and line.text.startswith(("Step", "First", "Now roll", "Keep the warm")):
            starts[line.step] = line.end
    return starts


def test_first_start_says_it_is_not_a_diagnosis_once(content, understander):
    store = MemoryStore()
    first = Harness(content, understander, store)
    first.assistant.start()
    assert any("not a diagnosis" in line.text for line in first.spoken)
    again = Harness(content, understander, store)
    again.assistant.start()
    assert not any("not a diagnosis" in line.text for line in again.spoken)
    assert again.spoken, "the greeting is still said"


def test_answer_then_yes_starts_the_offered_massage(harness):
    reply = harness.say("what can i do to relieve it")
    assert "massage" in reply[-1].text and reply[-1].text.endswith("?")
    reply = harness.say("yes please")
    assert reply[0].guide == "massage" and reply[0].step is None  # the intro
    assert reply[1].step == 1 and reply[1].text.startswith("Step one")


def test_no_after_an_offer_declines_and_yes_later_starts_nothing(harness):
    harness.say("what can i do to relieve it")
    assert harness.say("no thanks")[0].guide is None
    reply = harness.say("yes")
    assert all(line.guide is None for line in reply)
    assert harness.assistant.run is None


def test_whole_massage_runs_on_its_deadlines_with_cues(harness):
    harness.say("guide massage")
    lines = harness.spoken + harness.wait(3600)
    starts = step_starts(lines)
    assert sorted(starts) == [1, 2, 3, 4]
    # Each step begins when the previous step's timer (started after its text) ran out, plus reading time.
    for step, seconds in ((1, 60), (2, 60), (3, 60)):
        next_read = next(line for line in lines if line.step == step + 1)
        assert next_read.t == pytest.approx(starts[step] + seconds)
    halfway = [line for line in lines if line.text.startswith("Halfway") and line.step == 1]
    assert halfway[0].t == pytest.approx(starts[1] + 30)
    ten = [line for line in lines if line.text == "Ten seconds left." and line.step == 4]
    assert ten[0].t == pytest.approx(starts[4] + 110)
    outro = lines[-1]
    assert outro.guide == "massage" and outro.step is None and outro.t == pytest.approx(starts[4] + 120)
    assert harness.assistant.run is None


def test_next_and_previous_at_the_ends(harness):
    harness.say("guide massage")
    reply = harness.say("go back")
    assert "first step" in reply[0].text and reply[-1].step == 1 and reply[-1].text.startswith("Step one")
    for step in (2, 3, 4):
        assert harness.say("next step")[-1].step == step
    reply = harness.say("previous step")
    assert reply[-1].step == 3
    harness.say("next")
    reply = harness.say("next")
    assert reply[-1].guide == "massage" and reply[-1].step is None  # the outro after the last step
    assert harness.assistant.run is None
    assert "No guide" in harness.say("next")[0].text


def test_repeat_rereads_the_step_and_restarts_its_timer(harness):
    harness.say("guide massage")
    harness.wait(40)
    reply = harness.say("repeat that")
    assert reply[0].step == 1 and reply[0].text.startswith("Step one")
    restarted = reply[0].end
    assert harness.assistant.next_deadline() == pytest.approx(restarted + 30)  # the halfway cue again


def test_pause_resume_and_time_left(harness):
    harness.say("guide massage")
    harness.wait(20)
    assert "40 seconds" in harness.say("how much longer")[0].text
    harness.say("pause")
    assert harness.assistant.next_deadline() is None
    harness.wait(600)
    reply = harness.say("how much time is left")[0].text
    assert "paused" in reply
    paused_left = harness.assistant.run.remaining(harness.clock.now())
    harness.say("resume")
    assert 30 < paused_left < 40
    # Next comes the halfway cue, 30 s into the step: the ten paused minutes are not counted.
    assert harness.assistant.next_deadline() == pytest.approx(harness.clock.now() + paused_left - 30)
    assert harness.assistant.run.index == 0, "ten minutes of pause did not move the guide on"


def test_time_left_in_minutes_for_the_compress(harness):
    harness.say("warm compress")
    harness.wait(60)
    assert "14 minutes" in harness.say("how much longer")[0].text


def test_red_flag_mid_step_stops_the_guide_and_offers_nothing(harness):
    harness.say("guide massage")
    harness.wait(70)
    reply = harness.say("wait there is some bleeding")
    assert len(reply) == 1 and "doctor" in reply[0].text and reply[0].guide is None
    assert harness.assistant.run is None and harness.assistant.offer is None
    assert harness.wait(600) == []
    reply = harness.say("yes")
    assert harness.assistant.run is None


def test_question_mid_guide_is_answered_without_an_offer_then_the_guide_goes_on(harness):
    harness.say("guide massage")
    harness.wait(10)
    reply = harness.say("who is prone to back pain after sex")
    assert "office workers" in reply[0].text and "?" not in reply[0].text
    assert reply[0].guide is None and reply[1].guide == "massage"
    assert step_starts(harness.wait(3600)).keys() == {2, 3, 4}


def test_slower_and_faster_are_bounded_and_kept(harness):
    speaker = harness.assistant.speaker
    start = speaker.rate
    harness.say("speak slower")
    assert speaker.rate < start
    for _ in range(20):
        harness.say("slow down")
    assert speaker.rate == MIN_RATE
    assert "as slow" in harness.spoken[-1].text
    for _ in range(30):
        harness.say("talk faster")
    assert speaker.rate == MAX_RATE
    harness.say("guide massage")
    assert speaker.rate == MAX_RATE


def test_stop_ends_the_guide_and_says_so(harness):
    harness.say("guide massage")
    reply = harness.say("stop")
    assert "stopped" in reply[0].text and harness.assistant.run is None
    assert harness.wait(600) == []


@pytest.mark.parametrize("said,minutes,clamped", [
    ("warm compress", 15, False),
    ("start a warm compress for twenty minutes", 20, False),
    ("hot pack for 18 minutes", 18, False),
    ("warm compress for forty five minutes", 20, True),
    ("heat pack for five minutes", 15, True),
    ("heat for 90 minutes", 20, True),  # beyond the template's numbers: still heard, and clamped out loud
    ("warm compress for twenty thousand minutes", 20, True),
    ("heat for zero minutes", 15, True),
])
def test_compress_length(harness, said, minutes, clamped):
    reply = harness.say(said)
    assert any("15 to 20 minutes" in line.text for line in reply) == clamped
    assert harness.assistant.run.step.seconds == minutes * 60


def test_make_it_twenty_minutes_during_the_compress_keeps_elapsed_time(harness):
    harness.say("warm compress")
    harness.wait(300)
    harness.say("make it twenty minutes")
    assert harness.assistant.run.remaining(harness.clock.now()) == pytest.approx(900, abs=20)


def test_after_a_reply_the_person_may_answer_without_a_wake_phrase_but_not_after_two_sorries(harness):
    harness.say("what can i do to relieve it")  # answered, with an offer
    assert harness.assistant.reply_until == harness.clock.now() + REPLY_SECONDS
    harness.assistant.no_reply()
    assert harness.assistant.reply_until == harness.clock.now()
    harness.say("yes")
    assert harness.assistant.reply_until == harness.clock.now() + REPLY_SECONDS
    harness.say("the purple elephant sings opera")  # "sorry": the person may say it again
    assert harness.assistant.reply_until == harness.clock.now() + REPLY_SECONDS
    harness.say("bananas are yellow on tuesdays")  # a second miss in a row: stray speech, a television
    assert harness.assistant.reply_until == harness.clock.now()


def test_the_greeting_says_the_wake_phrase_only_when_one_is_needed(content, understander):
    for wake in ("hey coach", None):
        harness = Harness(content, understander)
        harness.assistant.wake = wake
        harness.assistant.start()
        assert any("hey coach" in line.text for line in harness.spoken) == (wake is not None)


def test_two_misunderstood_turns_get_a_hint(harness):
    first = harness.say("the purple elephant sings opera")
    assert len(first) == 1
    second = harness.say("bananas are yellow on tuesdays")
    assert any("why does my back hurt" in line.text for line in second)


def test_help_depends_on_whether_a_guide_runs(harness):
    idle = harness.say("what can i say")[0].text
    harness.say("guide massage")
    in_guide = harness.say("help")[0].text
    assert idle != in_guide and "pause" in in_guide


def test_goodbye_ends_politely(harness):
    reply = harness.say("goodbye")
    assert reply and harness.assistant.finished


def next_start_after(content, understander, *said: str) -> Harness:
    """A fresh start of the assistant after a session in which the person said `said`, sharing its memory."""
    store = MemoryStore()
    first = Harness(content, understander, store)
    for text in said:
        first.say(text)
    again = Harness(content, understander, store)
    again.assistant.start()
    return again


def test_interrupted_guide_is_offered_at_next_start(content, understander):
    again = next_start_after(content, understander, "guide massage", "next", "next")
    assert "step 3 of the back massage" in again.spoken[-1].text
    reply = again.say("yes")
    assert reply[-1].step == 3 and reply[-1].text.startswith("Step three")


def test_goodbye_inside_a_guide_keeps_the_place_for_next_time(content, understander):
    again = next_start_after(content, understander, "guide massage", "next", "goodbye")
    assert "step 2 of the back massage" in again.spoken[-1].text


def test_finished_or_stopped_guides_are_not_offered_again(content, understander):
    store = MemoryStore(Memory(disclaimer_given=True, bookmark=Bookmark("rest", 2)))
    harness = Harness(content, understander, store)
    harness.assistant.start()
    harness.say("no")
    assert store.load().bookmark is None


def test_compress_bookmark_keeps_its_minutes(content, understander):
    store = MemoryStore()
    Harness(content, understander, store).say("warm compress for twenty minutes")
    assert store.load().bookmark == Bookmark("compress", 1, 20)
    again = Harness(content, understander, store)
    again.assistant.start()
    again.say("yes")
    assert again.assistant.run.step.seconds == 1200
