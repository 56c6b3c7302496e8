"""The guide timer on its own: deadlines, pause arithmetic, cues once each and in order."""

from __future__ import annotations

import pytest

from voice.content import Cue, Guide, Step
from voice.guide import GuideRun


def make_guide(*seconds: float, cues=()) -> Guide:
    steps = tuple(Step(f"step {i + 1}", s, tuple(cues)) for i, s in enumerate(seconds))
    return Guide("g", "guide_massage", "test guide", ("intro",), steps, ("outro",), None, None)


def test_deadline_is_start_plus_duration_not_summed_sleeps():
    run = GuideRun(make_guide(60))
    run.begin_timer(100.0)
    assert run.next_deadline() == 160.0
    assert not run.step_over(159.999)
    assert run.step_over(160.0)


def test_no_deadline_before_the_step_is_read():
    run = GuideRun(make_guide(60))
    assert run.next_deadline() is None
    assert run.remaining(5.0) == 60


def test_paused_time_is_not_counted():
    run = GuideRun(make_guide(60))
    run.begin_timer(0.0)
    run.pause(20.0)
    assert run.next_deadline() is None
    assert run.remaining(500.0) == 40.0
    run.resume(500.0)
    assert run.remaining(510.0) == 30.0
    assert run.next_deadline() == 540.0
    run.pause(520.0)
    run.resume(530.0)
    assert run.next_deadline() == 550.0


def test_pause_and_resume_are_idempotent():
    run = GuideRun(make_guide(60))
    run.begin_timer(0.0)
    run.pause(10.0)
    run.pause(30.0)
    run.resume(40.0)
    run.resume(90.0)
    assert run.remaining(40.0) == 50.0


def test_pause_while_the_step_is_read_holds_the_timer_from_its_start():
    run = GuideRun(make_guide(60))
    run.pause(1.0)
    run.begin_timer(5.0)
    assert run.remaining(100.0) == 60.0
    run.resume(100.0)
    assert run.next_deadline() == 160.0


def test_cues_come_due_once_and_in_order():
    cues = (Cue("ten left", remaining=10), Cue("half", fraction=0.5))
    run = GuideRun(make_guide(60, cues=cues))
    run.begin_timer(0.0)
    assert run.next_deadline() == 30.0
    assert [c.text for c in run.due_cues(30.0)] == ["half"]
    assert run.due_cues(30.0) == []
    assert run.next_deadline() == 50.0
    assert [c.text for c in run.due_cues(55.0)] == ["ten left"]
    assert run.next_deadline() == 60.0


def test_cues_rearm_when_the_step_restarts():
    run = GuideRun(make_guide(60, cues=(Cue("half", fraction=0.5),)))
    run.begin_timer(0.0)
    assert len(run.due_cues(31.0)) == 1
    run.go_to(0)
    run.begin_timer(40.0)
    assert run.next_deadline() == 70.0


@pytest.mark.parametrize("minutes", [15, 18, 20])
def test_compress_minutes_change_the_only_step(minutes):
    guide = make_guide(900).with_minutes(minutes)
    assert guide.steps[0].seconds == minutes * 60
