"""The decoders that give rejection its second opinions, in a process of their own: they hear what they would in
this one, and an utterance is not lost when that process dies or cannot start."""

from __future__ import annotations

import os
import shutil
import signal
import sys

import pytest

from voice.decoders import LocalOpinions, OpinionProcess
from voice.recognize import CHUNK_SECONDS, Recognizer, RecognizerError, build_files

from .audio_fixtures import speak
from .test_adapt import IDENTITY_TRANSFORM


@pytest.fixture(scope="module")
def files(understander, grammar_cache):
    _, ngram, dictionary = build_files(understander.content, grammar_cache)
    return ngram, dictionary


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    voices = tmp_path_factory.mktemp("voices")
    return [speak("how much longer", voices), speak("what can i do to relieve the pain", voices)]


@pytest.fixture(scope="module")
def in_this_process(files, clips):
    """What the decoders hear in this process: both clips in turn, and the second alone (fresh decoders)."""
    return hear(LocalOpinions(*files), clips), hear(LocalOpinions(*files), clips[1:])[0]


@pytest.fixture
def process(files):
    opinions = OpinionProcess(*files)
    opinions.wait_until_ready()
    yield opinions
    opinions.close()


def hear(opinions, clips):
    results = []
    for clip in clips:
        opinions.start()
        for pcm in clip.chunks(CHUNK_SECONDS):
            opinions.feed(pcm)
        opinions.end()
        results.append(opinions.result())
    return results


def test_the_second_process_hears_what_this_one_would(process, clips, in_this_process):
    heard = hear(process, clips)
    assert process.local is None  # it did run in the other process
    assert all(o.phone_score is not None and o.speech_frames > 0 and o.loose for o in heard), heard
    assert heard == in_this_process[0]


@pytest.mark.parametrize("pieces_before", [0, 5, None], ids=["after start", "mid-utterance", "after the end"])
def test_an_utterance_is_not_lost_when_the_second_process_dies(process, clips, in_this_process, pieces_before):
    """It is killed during the second utterance; what the first taught the running mean is lost with it."""
    hear(process, clips[:1])
    pieces = list(clips[1].chunks(CHUNK_SECONDS))
    process.start()
    for index, pcm in enumerate(pieces):
        if index == pieces_before:
            process.process.kill()
        process.feed(pcm)
    if pieces_before is None:
        process.end()
        process.process.kill()
    else:
        process.end()
    heard = process.result()
    assert process.local is not None
    assert heard == in_this_process[1]
    assert hear(process, clips[:1])[0].loose == "how much longer"  # and the next utterance is heard as well


def test_decoding_stays_in_this_process_when_a_second_cannot_start(files, clips, in_this_process, monkeypatch):
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    opinions = OpinionProcess(*files)
    opinions.wait_until_ready()
    assert opinions.local is not None
    assert hear(opinions, clips) == in_this_process[0]


def test_a_voice_profile_gone_mid_session_is_not_needed_when_the_second_process_dies(files, clips, tmp_path):
    """The session's copy of the profile removed (the cache cleared) while the assistant runs: the decoders rebuilt
    here listen as shipped."""
    profile = tmp_path / "voice.mllr"
    profile.write_text(IDENTITY_TRANSFORM)
    opinions = OpinionProcess(*files, adaptation=profile)
    opinions.wait_until_ready()
    assert opinions.local is None  # the profile was applied there
    profile.unlink()
    opinions.process.kill()
    heard = hear(opinions, clips[:1])
    opinions.close()
    assert opinions.local is not None and heard[0].loose == "how much longer"


def test_ctrl_c_is_left_to_the_assistant(process, clips):
    """Ctrl+C in a terminal reaches every process of it: the second must not die with a traceback of its own."""
    os.kill(process.process.pid, signal.SIGINT)
    heard = hear(process, clips[:1])
    assert process.local is None and process.process.poll() is None
    assert heard[0].loose == "how much longer"


def test_decoders_that_cannot_be_built_are_reported_in_one_line(understander, files, tmp_path):
    shutil.copytree(files[0].parent.parent, tmp_path, dirs_exist_ok=True)  # the compiled files, to spoil a copy
    _, ngram, _ = build_files(understander.content, tmp_path)
    ngram.write_text("not a language model\n")
    with pytest.raises(RecognizerError, match="^the speech recognizer could not start"):
        Recognizer(understander, tmp_path)
