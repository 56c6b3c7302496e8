"""Reliability, safety and privacy: failing devices fall back, Ctrl-C loses nothing, red flags always win,
only content is ever said, and nothing touches the network or the disk unless asked."""

from __future__ import annotations

import io
import json
import re
import socket
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voice import loop
from voice.audio import AudioError
from voice.cli import main
from voice.speaker import SpeakerUnavailable
from voice.store import Bookmark, FileStore, Memory

from .audio_fixtures import conversation, speak
from .conftest import Harness
from .test_understand import load_dev_set


@pytest.fixture
def home(tmp_path, monkeypatch):
    """The user's data and cache directories, inside the test's own folder."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def typed(monkeypatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    # Every way out is refused, while socket.socket stays a class (ssl subclasses it when first imported).
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket.socket, "sendto", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_text_loop_runs_with_sockets_blocked(home, monkeypatch, capsys, no_network):
    typed(monkeypatch, "why does my back hurt after sex\nguide massage\nhow much longer\nstop\ngoodbye\n")
    assert main(["--text", "--quiet", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "Step one" in out and "stopped the back massage" in out and "Goodbye" in out


def test_audio_loop_runs_with_sockets_blocked(home, tmp_path, capsys, no_network):
    path = conversation([(0.5, speak("guide massage", tmp_path, voice="en-us")),
                         (40.0, speak("stop", tmp_path, voice="en-us"))], tmp_path / "s.wav")
    assert main(["--input-audio", str(path), "--fast"]) == 0
    assert "Step one" in capsys.readouterr().out


def test_nothing_is_written_unless_asked(home, monkeypatch, capsys):
    typed(monkeypatch, "guide massage\nstop\ngoodbye\n")
    assert main(["--text", "--quiet"]) == 0
    written = [p for p in home.rglob("*") if p.is_file()]
    assert [p.name for p in written] == ["state.json"]  # the first-start note and bookmark only
    assert json.loads(written[0].read_text()) == {"disclaimer_given": True, "bookmark": None}


def test_log_keeps_transcript_and_audio(home, monkeypatch, capsys):
    typed(monkeypatch, "what helps\ngoodbye\n")
    assert main(["--text", "--quiet", "--log", str(home / "log")]) == 0
    transcript = (home / "log" / "transcript.txt").read_text()
    assert "user\twhat helps" in transcript and "assistant\t" in transcript
    assert len(list((home / "log").glob("*.wav"))) >= 3


def test_the_log_keeps_the_notices_told_at_start_too(home, monkeypatch, capsys):
    """A content directory made before a kind of line existed: the line it borrows is named in the transcript too."""
    import shutil

    from voice.content import DEFAULT_DIR, FILES

    pack = home / "pack"
    pack.mkdir()
    for name in FILES:
        shutil.copy(DEFAULT_DIR / name, pack / name)
    dialogue = (pack / "dialogue.yaml").read_text(encoding="utf-8")
    older, removed = re.subn(r"  wake_hint:\n(    - .*\n)+", "", dialogue)
    assert removed == 1
    (pack / "dialogue.yaml").write_text(older, encoding="utf-8")
    typed(monkeypatch, "goodbye\n")
    assert main(["--content", str(pack), "--text", "--quiet", "--log", str(home / "log")]) == 0
    transcript = (home / "log" / "transcript.txt").read_text().splitlines()
    told = [line for line in transcript if line.startswith("notice\t")]
    assert len(told) == 1 and "'wake_hint'" in told[0] and "the bundled wording is used" in told[0]
    assert "'wake_hint'" in capsys.readouterr().err  # and on the screen, as before


def test_a_log_that_cannot_be_kept_is_said_once_and_the_session_goes_on(home, monkeypatch, capsys):
    (home / "a file").write_text("not a directory")
    typed(monkeypatch, "what helps\ngoodbye\n")
    assert main(["--text", "--quiet", "--log", str(home / "a file")]) == 0
    out, err = capsys.readouterr()
    assert err.count("cannot keep the log") == 1 and "Traceback" not in err
    assert "warm compress" in out  # the answer to "what helps" came


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_stops_the_whole_log_with_one_line(home, monkeypatch, capsys):
    log = home / "log"
    log.mkdir()
    (log / "transcript.txt").symlink_to("/dev/full")  # every write fails: no space left on device

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("voice.speaker.synthesize", disk_full)  # and so does every WAV: still one line
    typed(monkeypatch, "what helps\ngoodbye\n")
    assert main(["--text", "--quiet", "--log", str(log)]) == 0
    err = capsys.readouterr().err
    assert err.count("cannot keep the log") == 1 and "No space left" in err


def test_no_microphone_falls_back_to_typing(home, monkeypatch, capsys):
    def no_mic(*args, **kwargs):
        raise AudioError("no microphone found (OSError: no default input device)")

    def no_recognizer(*args, **kwargs):
        raise AssertionError("the recognizer was loaded although there is no microphone to hear")

    monkeypatch.setattr("voice.listen.Microphone", no_mic)
    monkeypatch.setattr("voice.listen.Recognizer", no_recognizer)
    typed(monkeypatch, "goodbye\n")
    assert main(["--quiet"]) == 0
    captured = capsys.readouterr()
    assert "no microphone found" in captured.err and "type instead" in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert "Goodbye" in captured.out or "Take care" in captured.out


def test_no_speaker_falls_back_to_printing(home, monkeypatch, capsys):
    def no_voice(*args, **kwargs):
        raise SpeakerUnavailable("no audio output (aplay: audio open error)")

    monkeypatch.setattr(loop, "open_speaker", no_voice)
    typed(monkeypatch, "goodbye\n")
    assert main(["--text"]) == 0
    captured = capsys.readouterr()
    assert "no audio output" in captured.err and "printed only" in captured.err
    assert "Traceback" not in captured.err


def test_bad_recording_is_one_line(home, tmp_path, capsys):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    assert main(["--input-audio", str(bad), "--fast"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a readable WAV" in err[0]
    assert err[0].startswith(f"backcare: {bad}:")  # named like every other error, though raised where the file is read


def test_ctrl_c_mid_guide_is_clean_and_the_guide_is_offered_again(home, monkeypatch, capsys):
    lines = iter(["guide massage", "next", "next"])

    def listen(self, timeout, idle=True, until=None):
        try:
            return self.understander.understand(next(lines))
        except StopIteration:
            raise KeyboardInterrupt from None

    monkeypatch.setattr("voice.listen.KeyboardEars.listen", listen)
    assert main(["--text", "--quiet"]) == 130
    assert "stopped" in capsys.readouterr().err
    assert FileStore().load().bookmark == Bookmark("massage", 3, None)
    monkeypatch.undo()
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    typed(monkeypatch, "yes\n")
    assert main(["--text", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "step 3 of the back massage" in out and "Step three" in out


def test_the_live_loop_tells_the_ears_when_the_next_step_is_due(home, monkeypatch):
    lines, untils = iter(["guide massage"]), []

    def listen(self, timeout, idle=True, until=None):
        untils.append(until)
        try:
            return self.understander.understand(next(lines))
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("voice.listen.KeyboardEars.listen", listen)
    start = time.monotonic()
    assert main(["--text", "--quiet"]) == 0
    assert untils[0] is None  # no guide yet: nothing is due
    assert untils[1] is not None and untils[1] > start  # inside the massage: its first deadline


@pytest.mark.parametrize("argv", [["--seed", "x"], ["render", "compress", "out.wav", "--minutes", "abc"],
                                  ["understand", "--batch"], ["nosuchcommand"]])
def test_a_mistyped_command_line_is_one_line_not_the_usage_block(argv, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and len(err.splitlines()) == 1 and "--help" in err


def test_content_and_seed_are_taken_after_the_command_too(tmp_path, capsys):
    """`backcare understand --content DIR` is how people type it; given on both sides, the later one counts."""
    bundled = Path(__file__).resolve().parent.parent / "prompts"
    for argv in (["understand", "--content", str(tmp_path), "next"],
                 ["--content", str(bundled), "understand", "--seed", "3", "--content", str(tmp_path), "next"]):
        assert main(argv) == 1
        assert str(tmp_path) in capsys.readouterr().err  # the empty directory was the one read
    assert main(["--content", str(tmp_path), "understand", "--content", str(bundled), "next"]) == 0
    assert json.loads(capsys.readouterr().out)["intent"] == "next"


def test_ctrl_c_while_the_modules_load_is_one_line(monkeypatch, capsys):
    """In the first fraction of a second Ctrl-C lands while numpy, yaml and the content load: main() must be
    around that too, not only around the conversation."""
    import types

    class Loading(types.ModuleType):
        def __getattr__(self, name):
            raise KeyboardInterrupt

    monkeypatch.setitem(sys.modules, "voice.content", Loading("voice.content"))
    assert main(["understand", "hello"]) == 130
    assert capsys.readouterr().err == "backcare: stopped.\n"


@pytest.mark.parametrize("state_text", ["{not json", '{"bookmark": {"guide": "compress", "step": 1, "minutes": "x"}}',
                                        '{"bookmark": {"guide": "massage", "step": "two"}}', '[1, 2]'])
def test_a_corrupt_state_file_is_a_fresh_start_not_a_crash(home, capsys, state_text):
    state = FileStore().path
    state.parent.mkdir(parents=True)
    state.write_text(state_text)
    assert FileStore(warn=print).load() == Memory()
    assert "unreadable state file" in capsys.readouterr().out
    [kept] = state.parent.glob("state.json.unreadable-*")
    assert kept.read_text() == state_text  # set aside, not lost to the next save


def test_the_first_start_note_counts_as_given_only_when_the_file_says_true(home):
    state = FileStore().path
    state.parent.mkdir(parents=True)
    state.write_text('{"disclaimer_given": "no"}')
    assert FileStore().load().disclaimer_given is False


def test_every_warning_symptom_in_the_dev_set_gets_the_warning_mid_guide(content, understander):
    warnings = {text for answer in content.answers if answer.intent == "red_flag" for text in answer.texts}
    symptoms = [text for intent, _, text in load_dev_set() if intent == "red_flag"]
    assert len(symptoms) >= 40
    for text in symptoms:
        harness = Harness(content, understander)
        harness.say("guide massage")
        harness.wait(30)
        reply = harness.say(text)
        assert reply and reply[0].text in warnings, text
        assert harness.assistant.run is None


def content_patterns(content) -> list[re.Pattern]:
    """Everything the content lets the assistant say; placeholders match any word or number."""
    texts = [t for a in content.answers for t in a.texts]
    texts += [t for g in content.guides for t in (*g.intro, *g.outro, *(s.text for s in g.steps),
                                                  *(c.text for s in g.steps for c in s.cues))]
    texts += [t for field in content.lines.__dataclass_fields__ for t in getattr(content.lines, field)]
    offers = [t for ts in content.offers.values() for t in ts]
    pieces = [re.sub(r"\\\{\w+\\\}", r"[\\w .-]+", re.escape(t)) for t in texts]
    offer = "|".join(re.escape(t) for t in offers)
    return [re.compile(rf"(?:{p})(?: (?:{offer}))?") for p in pieces]


def test_the_assistant_only_ever_says_content(content, understander):
    from .test_soak import soak

    patterns = content_patterns(content)
    harness = soak(content, understander, 400, seed=11)
    said = {line.text for line in harness.spoken}
    strays = [text for text in said if not any(p.fullmatch(text) for p in patterns)]
    assert strays == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(-10, 5000, allow_nan=False), st.text(max_size=200)), max_size=12),
       st.text(max_size=300))
def test_simulate_accepts_anything(content, understander, turns, junk):
    from voice.simulate import parse_script, simulate

    script = [f"{t}\t{text}" for t, text in turns] + [junk]
    events = list(simulate(content, understander, parse_script(script)))
    times = [e["t"] for e in events]
    assert times == sorted(times)


def test_a_script_of_many_bad_lines_is_not_a_page_of_warnings():
    from voice.simulate import parse_script

    warnings = []
    turns = parse_script(["0\tguide massage"] + ["\x00\x7fELF junk"] * 10 + ["5\tstop"], warn=warnings.append)
    assert [turn.text for turn in turns] == ["guide massage", "stop"]
    assert [w.split(":")[0] for w in warnings[:3]] == ["line 2", "line 3", "line 4"]
    assert warnings[3:] == ["7 more lines like that skipped"]


def test_pyaudio_missing_is_a_clear_audio_error(monkeypatch):
    from voice.audio import Microphone

    monkeypatch.setitem(sys.modules, "pyaudio", None)
    with pytest.raises(AudioError, match="microphone"):
        Microphone()


@pytest.mark.parametrize("option, value, message", [
    ("--end-silence", "60", "backcare: --end-silence must be from 0.2 to 5 seconds"),
    ("--energy-threshold", "0", "backcare: --energy-threshold must be from 10 to 10000"),
    ("--calibration", "-1", "backcare: --calibration must be from 0 to 10 seconds"),
    ("--wake", " ! ", 'backcare: --wake needs words to listen for, e.g. --wake "hey coach"'),
])
def test_bad_listening_options_are_one_line(home, capsys, option, value, message):
    assert main(["--text", option, value]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [message]


def test_endpointing_options_reach_the_settings():
    from voice.audio import Endpointing
    from voice.cli import _parser
    from voice.loop import endpointing

    args = _parser().parse_args(["--end-silence", "1.2", "--energy-threshold", "250", "--calibration", "0"])
    assert endpointing(args) == Endpointing(end_silence=1.2, energy_threshold=250, calibration=0)
