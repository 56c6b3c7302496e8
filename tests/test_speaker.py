"""Speech out: the three speakers, the pyttsx3 workarounds, and the rendered guide."""

from __future__ import annotations

import io
import re
import wave
from pathlib import Path

import pytest

from voice.cli import main
from voice.render import MARK, Until, guide_timeline, render_wav
from voice.speaker import (
    PrintSpeaker,
    Pyttsx3Speaker,
    SpeakerUnavailable,
    Synthesizer,
    VoiceThenPrint,
    WavSpeaker,
    load_espeak,
    speaking_seconds,
    synthesize,
)


def seconds_of(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def test_speaking_time_grows_with_words_and_shrinks_with_rate():
    short, long = "Ten seconds left.", "Ten seconds left in this step, keep the pressure firm and steady."
    assert speaking_seconds(long, 170) > speaking_seconds(short, 170)
    assert speaking_seconds(long, 240) < speaking_seconds(long, 120)


def test_wav_speaker_writes_numbered_playable_files_faster_at_higher_rate(tmp_path):
    speaker = WavSpeaker(tmp_path, rate=120)
    text = "Step one. Gently rub both sides of the lower back."
    speaker.say(text)
    speaker.rate = 250
    speaker.say(text)
    first, second = tmp_path / "0001.wav", tmp_path / "0002.wav"
    assert seconds_of(first) > seconds_of(second) > 0.5
    assert not list(tmp_path.glob("*.partial"))


def test_wav_speaker_passes_lines_on_with_its_rate(tmp_path):
    out = io.StringIO()
    printer = PrintSpeaker(out)
    speaker = WavSpeaker(tmp_path, rate=200, then=printer)
    speaker.say("Carrying on.")
    assert out.getvalue() == "Carrying on.\n" and printer.rate == 200


def test_wav_speaker_numbers_after_an_earlier_session_instead_of_over_it(tmp_path):
    (tmp_path / "0001.wav").write_bytes(b"earlier")
    (tmp_path / "10003.wav").write_bytes(b"earlier too")  # past 9999, and 0002 deleted: still no overwrite
    WavSpeaker(tmp_path).say("Carrying on.")
    assert (tmp_path / "10003.wav").read_bytes() == b"earlier too"
    assert seconds_of(tmp_path / "10004.wav") > 0.3


def test_a_full_disk_stops_the_wav_log_once_and_the_speech_goes_on(tmp_path, monkeypatch):
    def disk_full(text, rate, path):
        path.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("voice.speaker.synthesize", disk_full)
    out, warnings = io.StringIO(), []
    speaker = WavSpeaker(tmp_path, then=PrintSpeaker(out), warn=warnings.append)
    speaker.say("One.")
    speaker.say("Two.")
    assert out.getvalue() == "One.\nTwo.\n"
    assert [err.strerror for err in warnings] == ["No space left on device"]
    assert not list(tmp_path.iterdir())  # no half-written file left behind


def test_print_speaker():
    out = io.StringIO()
    PrintSpeaker(out).say("Hello.")
    assert out.getvalue() == "Hello.\n"
    PrintSpeaker(None).say("nothing printed, nothing raised")


def test_quirk_consecutive_utterances_keep_their_own_rate_and_audio():
    """pyttsx3's asynchronous driver gave utterances another one's rate or audio; ours are deterministic."""
    synthesizer = Synthesizer.shared()
    text = "Step one. Gently rub both sides."
    lengths = {120: [], 250: []}
    for rate in (120, 250) * 6:
        lengths[rate].append(len(synthesizer.samples(text, rate)))
    for rate, values in lengths.items():
        assert max(values) < min(values) * 1.02, (rate, values)  # espeak varies by a few samples only
    assert min(lengths[120]) > max(lengths[250]) * 1.5


def test_quirk_nothing_is_printed_on_stdout(tmp_path, capfd):
    synthesize("Quiet please.", 170, tmp_path / "q.wav")
    assert capfd.readouterr().out == ""


def test_quirk_blank_text_is_not_synthesized(tmp_path):
    synthesize("   ", 170, tmp_path / "blank.wav")
    assert seconds_of(tmp_path / "blank.wav") == 0


def test_synthesizer_is_shared():
    assert Synthesizer.shared() is Synthesizer.shared()


def test_engine_that_cannot_start_is_unavailable(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyttsx3.drivers._espeak", None)  # as if libespeak-ng were missing
    with pytest.raises(SpeakerUnavailable, match="could not start"):
        load_espeak()

    class Broken:
        AUDIO_OUTPUT_SYNCHRONOUS = 2

        def Initialize(self, mode, buffer):
            return -1

    with pytest.raises(SpeakerUnavailable, match="could not start"):
        Synthesizer(Broken())


def test_no_sound_card_or_player_is_unavailable(tmp_path):
    with pytest.raises(SpeakerUnavailable, match="no audio player"):
        Pyttsx3Speaker(player=("no-such-player-here",))
    with pytest.raises(SpeakerUnavailable, match="no audio output"):
        Pyttsx3Speaker(player=("false",))


def test_playing_speaker_synthesizes_then_plays(tmp_path):
    played = tmp_path / "played.txt"
    player = ("sh", "-c", f'cat "$0" > /dev/null && echo ok >> {played}')
    voice = Pyttsx3Speaker(player=player)
    voice.say("Hello there.")
    voice.say("")
    voice.close()
    assert played.read_text().count("ok") == 2  # the probe and one utterance; blank text is not played


def test_a_voice_lost_mid_session_is_told_once_and_the_replies_go_on_in_print(tmp_path):
    """Headphones unplugged after the first line: aplay fails from then on."""
    played, unplugged = tmp_path / "played.txt", tmp_path / "unplugged"
    player = ("sh", "-c", f'[ -e {unplugged} ] && {{ echo "aplay: main:831: audio open error: No such device" >&2; exit 1; }}; '
                          f'echo ok >> {played}')
    told, printed = [], io.StringIO()
    voice = VoiceThenPrint(lambda: Pyttsx3Speaker(player=player), warn=told.append, stream=printed)
    voice.say("Hello there.")
    unplugged.touch()
    voice.rate = 140
    voice.say("Step one.")
    voice.say("Step two.")
    voice.close()
    assert played.read_text().count("ok") == 2  # the probe and the first line
    assert told == ["backcare: no audio output (aplay: main:831: audio open error: No such device); replies will be printed only."]
    assert printed.getvalue() == "Step one.\nStep two.\n"  # the line that failed is not lost
    assert voice.rate == 140


def test_a_player_that_hangs_on_a_taken_sound_device_is_not_waited_on_for_ever(tmp_path):
    taken = tmp_path / "taken"
    player = ("sh", "-c", f'[ -e {taken} ] && exec sleep 60; exit 0')
    told, printed = [], io.StringIO()
    voice = VoiceThenPrint(lambda: Pyttsx3Speaker(player=player, patience=0.3), warn=told.append, stream=printed)
    voice.say("Hello.")
    taken.touch()
    voice.say("Step one.")
    voice.say("Step two.")
    assert len(told) == 1 and re.fullmatch(r"backcare: no audio output \(sh did not finish within \d+ s: is the sound device "
                                           r"taken by another program\?\); replies will be printed only\.", told[0]), told
    assert printed.getvalue() == "Step one.\nStep two.\n"


def test_a_voice_that_cannot_write_its_sound_any_more_is_told_once_too(tmp_path):
    class FullDisk(PrintSpeaker):
        def say(self, text):
            raise OSError(28, "No space left on device")

    told = []
    voice = VoiceThenPrint(lambda: FullDisk(stream=None), warn=told.append)
    voice.say("Step one.")
    voice.say("Step two.")
    assert told == ["backcare: [Errno 28] No space left on device; replies will be printed only."]


def test_render_places_cues_after_the_step_mark(tmp_path):
    out = tmp_path / "t.wav"
    total = render_wav(["Step one.", MARK, Until(3.0), "Half.", Until(6.0), 0.5], out, 170)
    assert total == pytest.approx(seconds_of(out))
    speech = seconds_of_text("Step one.", tmp_path)
    assert total == pytest.approx(speech + 6.0 + 0.5, abs=0.01)


def seconds_of_text(text: str, tmp_path: Path) -> float:
    synthesize(text, 170, tmp_path / "s.wav")
    return seconds_of(tmp_path / "s.wav")


def test_render_guide_lasts_its_steps_plus_speech(content, tmp_path):
    out = tmp_path / "massage.wav"
    assert main(["render", "massage", str(out)]) == 0
    assert 300 + 20 < seconds_of(out) < 300 + 120
    assert guide_timeline(content.guide_named("massage")).count(MARK) == 4


def test_render_compress_minutes(tmp_path, capsys):
    out = tmp_path / "c.wav"
    assert main(["render", "compress", str(out), "--minutes", "20"]) == 0
    assert 1200 < seconds_of(out) < 1260
    assert main(["render", "compress", str(out), "--minutes", "45"]) == 1
    assert "15 to 20" in capsys.readouterr().err


def test_render_writes_through_a_symlink_readable_like_any_new_file(tmp_path):
    (tmp_path / "real").mkdir()
    link = tmp_path / "link.wav"
    link.symlink_to(tmp_path / "real" / "guide.wav")
    render_wav([0.2], link, 170)
    assert link.is_symlink() and seconds_of(tmp_path / "real" / "guide.wav") == pytest.approx(0.2)
    (tmp_path / "any new file").touch()
    assert (tmp_path / "real" / "guide.wav").stat().st_mode == (tmp_path / "any new file").stat().st_mode  # not 0600


@pytest.mark.parametrize("where", ["missing/dir/out.wav", "a directory", "/dev/null"])
def test_render_to_a_place_it_cannot_write_says_so_in_one_line(tmp_path, capsys, where):
    (tmp_path / "a directory").mkdir()
    assert main(["render", "rest", str(tmp_path / where)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("backcare: cannot write") and err.count("\n") == 1 and "unexpected" not in err
    assert Path("/dev/null").is_char_device()  # a device is never replaced by a file


def test_interrupted_render_leaves_no_file(tmp_path, monkeypatch):
    def broken(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr("voice.render.synthesize", broken)
    with pytest.raises(KeyboardInterrupt):
        render_wav([1.0, "Hello."], tmp_path / "x.wav", 170)
    assert list(tmp_path.iterdir()) == []
