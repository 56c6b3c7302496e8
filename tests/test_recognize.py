"""Speech in: the grammar compiled from the templates, recognition floors, rejection, audio files, the live
loop fed from a recording."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from voice.audio import SAMPLE_RATE, AudioError, Endpointing, load_wav, pink_noise
from voice.cli import main
from voice.grammar import compile_jsgf
from voice.recognize import CHUNK_SECONDS, LONGEST_FILE_SECONDS, MIN_SCORE, Recognizer, build_files, echoed, utterance_score
from voice.store import default_state_path

from .audio_fixtures import FLITE_VOICES, conversation, speak, with_noise, with_quiet_around, without_padding, write_wav

# Every test here finds the grammar compiled in its cache (conftest.py), as a person's second session does.
pytestmark = pytest.mark.usefixtures("grammar_cache")

IN_SCOPE = [
    ("how much longer", "time_left"),
    ("what can i do to relieve the pain", "ask_relief"),
    ("next step", "next"),
    ("i have a fever", "red_flag"),
    ("why does my back hurt after sex", "ask_causes"),
    ("make it twenty minutes", "guide_compress"),
    ("can you coach us through the massage", "guide_massage"),
    ("pause", "pause"),
]
OFF_TOPIC = [
    "the weather will be sunny tomorrow",
    "turn the lights off in the kitchen",
    "i am going to the shop to buy some bread",
    "the football match was exciting last night",
]
# espeak-ng's formant voices are far from the recorded speech the acoustic model learned from; flite's voices,
# built from recordings of real speakers, are much nearer to how a person sounds. The voices take turns.
VOICE_FAMILIES = {"espeak-ng": ("en-us+m3",), "flite": FLITE_VOICES}
# The voice of the recordings of a person's turns, heard as the microphone hands them over (with quiet before each
# turn): one built from recordings of a real speaker. After quiet, espeak-ng's voices fit the acoustic model
# markedly worse than when they start the clip (on the tuning audio, 102 -> 80 of 152 in-scope sentences right);
# flite's do not (130 -> 131).
PERSON = "flite:slt"


@pytest.fixture(scope="module")
def recognizer(understander, grammar_cache):
    recognizer = Recognizer(understander, grammar_cache)
    yield recognizer
    recognizer.close()


@pytest.fixture
def fresh_recognizer(understander, grammar_cache):
    """One that has heard nothing yet: what the shared one heard before (the tests that ran first in this worker)
    shifts its running averages."""
    recognizer = Recognizer(understander, grammar_cache)
    yield recognizer
    recognizer.close()


@pytest.fixture(scope="module")
def voices(tmp_path_factory):
    return tmp_path_factory.mktemp("voices")


def test_grammar_covers_every_template_word(content):
    jsgf, words = compile_jsgf(content.intents)
    assert "public <utterance>" in jsgf and "<intent_guide_massage>" in jsgf
    assert {"massage", "compress", "twenty", "fever"} <= words


def test_grammar_is_cached_and_rebuilt_when_content_changes(content, grammar_cache, tmp_path):
    shutil.copytree(grammar_cache, tmp_path, dirs_exist_ok=True)  # compiled by build_files for this content already
    first = build_files(content, tmp_path)
    stamp = first[0].stat().st_mtime_ns
    assert build_files(content, tmp_path)[0].stat().st_mtime_ns == stamp
    import dataclasses

    changed = dataclasses.replace(content, fingerprint="0" * 16)
    assert build_files(changed, tmp_path)[0] != first[0]


@pytest.mark.parametrize("family, floor", [("espeak-ng", 6), ("flite", 7)])
def test_in_scope_speech_floor(recognizer, voices, family, floor):
    said = VOICE_FAMILIES[family]
    right = sum(
        recognizer.transcribe(speak(text, voices, voice=said[i % len(said)])).heard.intent == intent
        for i, (text, intent) in enumerate(IN_SCOPE)
    )
    assert right >= floor, right  # scripts/bench reports the full figure per voice and noise level


@pytest.mark.parametrize("speed", [120, 180])
def test_slower_and_faster_speech_floor(fresh_recognizer, voices, speed):
    """Words per minute; the other tests' voices speak at 150."""
    right = sum(fresh_recognizer.transcribe(speak(text, voices, speed=speed)).heard.intent == intent for text, intent in IN_SCOPE)
    assert right >= 6, right


def test_the_recognizer_knows_our_words_said_the_british_way_too(content, grammar_cache):
    """espeak-ng's default voice, and many people, speak British English; cmudict spells every word the American way."""
    _, _, dictionary = build_files(content, grammar_cache)
    spellings: dict[str, set[str]] = {}
    for line in dictionary.read_text(encoding="utf-8").splitlines():
        word, phones = line.split(" ", 1)
        spellings.setdefault(word.split("(")[0], set()).add(phones)
    assert {"S T AA P", "S T AO P"} <= spellings["stop"]  # the vowel of "stop" rounded
    assert {"D AA K T ER", "D AO K T AH"} <= spellings["doctor"]  # and no r after a vowel


def test_a_british_pronunciation_is_added_only_where_it_differs_from_the_american_ones():
    from voice.accents import british_variants

    lines = ["stop S T AA P", "doctor D AA K T ER", "back B AE K", "after AE F T ER", "after(2) AA F T AH"]
    assert sorted(british_variants(lines)) == ["doctor(2) D AO K T AH", "stop(2) S T AO P"]


def test_without_espeak_ng_the_dictionary_is_american_only(monkeypatch, tmp_path):
    from voice.accents import british_variants

    monkeypatch.setenv("PATH", str(tmp_path))
    assert british_variants(["stop S T AA P"]) == []


# Not template sentences: each has words the grammar lacks, so its best sentence of ours fits the sound badly.
PARAPHRASES = [
    ("repeat that step once more please", "repeat", "en-us"),
    ("pause the massage for a moment please", "pause", "en-us+m3"),
    ("i have a fever and my back hurts", "red_flag", "en-us"),
    ("stop the whole massage please", "stop", "en-us+m3"),
    ("how much more time is left now", "time_left", "en-us"),
    ("could you keep it going please", "resume", "en-us"),
]


def test_paraphrases_are_heard_when_the_ngram_decoder_agrees(voices, fresh_recognizer):
    transcripts = [(fresh_recognizer.transcribe(speak(text, voices, voice=voice)), intent) for text, intent, voice in PARAPHRASES]
    right = [t for t, intent in transcripts if t.heard.intent == intent]
    # 3 or 4, as the sample of our sentences the n-gram model is built from changes with the templates ("how much more
    # time is left now" or "... hour").
    assert len(right) >= 3, [(t.raw, t.loose) for t, _ in transcripts]
    # Some only because the n-gram decoder heard the same request: the grammar's fit alone was too poor (one at MIN_SCORE
    # -10, two at -8).
    only_by_agreeing = [t for t in right if t.evidence.agreed and not t.evidence.fits(fresh_recognizer.min_score)]
    assert only_by_agreeing, [(t.raw, t.loose, round(t.evidence.score, 1)) for t in right]


# Paraphrases in words the templates lack, in flite's voices: the grammar forces them onto a sentence of ours
# that fits badly, while the n-gram and open-vocabulary decoders each come near the words said.
PARAPHRASES_IN_OTHER_WORDS = [
    ("please tell me what i can do to feel better", "ask_relief", "flite:rms"),
    ("can you show my wife how to massage my back", "guide_massage", "flite:kal16"),
    ("could you tell me who is more at risk", "ask_risk_groups", "flite:awb"),
    ("please tell me what i can do to feel better", "ask_relief", "flite:kal16"),
]


def test_paraphrases_are_heard_when_the_ngram_and_open_vocabulary_decoders_hear_the_same_request(voices, fresh_recognizer):
    transcripts = [(fresh_recognizer.transcribe(speak(text, voices, voice=voice)), intent)
                   for text, intent, voice in PARAPHRASES_IN_OTHER_WORDS]
    right = [t for t, intent in transcripts if t.heard.intent == intent]
    assert len(right) >= 2, [(t.raw, t.loose, t.open) for t, _ in transcripts]
    # Some only by that: the grammar's sentence fitted too badly and asked for something else.
    confirmed = [t for t in right if not t.evidence.fits(fresh_recognizer.min_score) and not t.evidence.agreed
                 and t.heard == t.evidence.confirmed]
    assert confirmed, [(t.raw, t.loose, t.open) for t in right]


def test_when_the_grammar_fits_badly_the_other_decoders_opinions_decide():
    from voice.recognize import Evidence

    assert Evidence("next", -3.0, confirmed="stop", symptom="red_flag").taken(-7.5) == "next"
    assert Evidence("next", -12.0, agreed=True, confirmed="stop", symptom="red_flag").taken(-7.5) == "next"
    # A request the n-gram and open-vocabulary decoders both heard, then a warning symptom, then nothing.
    assert Evidence("next", -12.0, confirmed="stop", symptom="red_flag").taken(-7.5) == "stop"
    assert Evidence(None, -3.0, confirmed="stop").taken(-7.5) == "stop"
    assert Evidence("next", -12.0, symptom="red_flag").taken(-7.5) == "red_flag"
    assert Evidence(None, -3.0).taken(-7.5) is None
    assert Evidence("next", -12.0).taken(-7.5) is None


def test_a_noisy_room_asks_more_of_the_grammars_fit():
    from voice.recognize import NOISY_ROOM_RAISE, NOISY_ROOM_SNR_DB, QUIET_ROOM_SNR_DB, Evidence, noisiness

    quiet, noisy = QUIET_ROOM_SNR_DB + 10, NOISY_ROOM_SNR_DB - 5
    assert Evidence("next", -10.0, snr_db=quiet).taken(-10.0) == "next"
    assert Evidence("next", -10.0, snr_db=noisy).taken(-10.0) is None
    assert Evidence("next", -10.0 + NOISY_ROOM_RAISE, snr_db=noisy).taken(-10.0) == "next"
    # The other decoders' opinions count in noise as in quiet.
    assert Evidence("next", -10.0, agreed=True, snr_db=noisy).taken(-10.0) == "next"
    # A ramp, not a step: a room a little noisier than another is judged a little more strictly.
    assert noisiness(quiet) == 0.0 and noisiness(noisy) == 1.0
    assert noisiness((QUIET_ROOM_SNR_DB + NOISY_ROOM_SNR_DB) / 2) == pytest.approx(0.5)


def test_the_noise_is_measured_against_the_speech_in_it():
    from voice.audio import frame_loudness, signal_to_noise_db

    rng = np.random.default_rng(0)
    room = rng.normal(0, 30, SAMPLE_RATE)  # a second of quiet room, then of a loud voice in it
    speech = room + 3000 * np.sin(np.arange(SAMPLE_RATE) * 2 * np.pi * 200 / SAMPLE_RATE)
    assert signal_to_noise_db(frame_loudness(np.concatenate([room, speech]))) == pytest.approx(37, abs=1)
    assert signal_to_noise_db(frame_loudness(np.concatenate([room, speech]) * 0.1)) == pytest.approx(37, abs=1)  # not loudness
    assert signal_to_noise_db(frame_loudness(room[:100])) == float("inf")  # too short to measure: no raise


def test_the_rooms_noise_is_read_from_each_utterance(recognizer, voices):
    """The quiet around a turn is the room's noise: a fan at 10 dB below the voice raises the threshold (nearly) fully,
    a quiet room not at all, whether or not the clip has quiet around the speech."""
    from voice.recognize import noisiness

    clip = speak("what can i do to relieve the pain", voices, voice="flite:slt")
    for turn in (clip, with_quiet_around(clip)):
        assert noisiness(recognizer.transcribe(turn).evidence.snr_db) == 0.0
        assert noisiness(recognizer.transcribe(with_noise(turn, 10, "pink")).evidence.snr_db) >= 0.8
    assert 0.0 < noisiness(recognizer.transcribe(with_noise(clip, 22, "pink")).evidence.snr_db) < 1.0


def test_rejection_weighs_the_ngram_decoders_fit_and_the_length_of_the_speech():
    def score(fit, loose_fit, seconds, open_heard_a_word=True):
        return utterance_score(fit, loose_fit, seconds, open_heard_a_word=open_heard_a_word)

    # Off-topic speech: the n-gram decoder follows its words, the grammar is forced onto a sentence of ours.
    assert score(MIN_SCORE, MIN_SCORE, 2.0) >= MIN_SCORE > score(MIN_SCORE, MIN_SCORE + 4, 2.0)
    # The same fit is enough for two seconds of speech, not for a short sound that a short command fits by chance.
    fit = MIN_SCORE + 1
    assert score(fit, fit, 0.5) < MIN_SCORE <= score(fit, fit, 2.0)
    # A long question may fit a little worse.
    fit = MIN_SCORE - 1
    assert score(fit, fit, 3.0) >= MIN_SCORE > score(fit, fit, 2.0)
    # A sentence of which the open-vocabulary decoder heard no word must fit clearly better.
    fit = MIN_SCORE + 1
    assert score(fit, fit, 2.0) >= MIN_SCORE > score(fit, fit, 2.0, open_heard_a_word=False)


def test_a_longer_sentence_needs_the_open_decoder_to_hear_one_of_its_words(understander):
    assert echoed(understander, "why does my back hurt after sex", "my bad cat")  # any word of ours, even "my"
    assert not echoed(understander, "why does my back hurt after sex", "pass the salt")
    assert echoed(understander, "guide massage", "like most songs")  # short commands are spared


# Warning symptoms in words no red_flag template holds.
SYMPTOMS_IN_OTHER_WORDS = [
    ("my legs went numb last night", "numbness", "en-us"),
    ("there was some burning when i pee", "burning", "en-us+m3"),
    ("i noticed blood this morning", "bleeding", "en-us"),
    ("i keep getting pins and needles in my feet", "numbness", "en+f3"),
]


def test_a_warning_symptom_in_words_no_template_holds_is_heard(fresh_recognizer, understander, voices):
    """On a fresh recognizer: on the shared one, what the tests before it in its worker had said shifted its running
    averages enough to take this floor from 2 of 4 to 1 (as xdist happened to share out the tests on 2026-11-27)."""
    from hassil import recognize

    recognizer = fresh_recognizer
    for text, _, _ in SYMPTOMS_IN_OTHER_WORDS:
        assert recognize(text, understander.content.intents) is None, text
    transcripts = [(recognizer.transcribe(speak(text, voices, voice=voice)), symptom)
                   for text, symptom, voice in SYMPTOMS_IN_OTHER_WORDS]
    right = [t for t, symptom in transcripts if t.heard.intent == "red_flag" and t.heard.slots.get("symptom") == symptom]
    assert len(right) >= 2, [(t.raw, t.loose) for t, _ in transcripts]
    # Some of them only because the n-gram decoder heard the symptom: the grammar's fit alone was too poor.
    by_symptom = [t for t in right if not t.evidence.fits(recognizer.min_score) and not t.evidence.agreed]
    assert by_symptom, [(t.raw, t.loose) for t in right]


@pytest.mark.parametrize("family", VOICE_FAMILIES)
def test_off_topic_speech_is_rejected_not_forced_onto_the_nearest_command(recognizer, voices, family):
    said = VOICE_FAMILIES[family]
    transcripts = [recognizer.transcribe(speak(text, voices, voice=said[i % len(said)])) for i, text in enumerate(OFF_TOPIC)]
    accepted = [t.text for t in transcripts if t.heard.intent is not None]
    assert len(accepted) <= 1, accepted
    # The grammar does find sentences of ours in most of them; the acoustic score is what turns them down.
    assert sum(bool(t.raw) and not t.evidence.fits(recognizer.min_score) for t in transcripts) >= 2


def test_steady_noise_is_not_taken_for_a_request(recognizer, voices):
    """A fan or a shower switched on after calibration: the grammar finds its nearest sentence in any sound."""
    from voice.audio import AudioClip

    rng = np.random.default_rng(1)
    for rms in (300, 1000, 3000):
        for noise in (pink_noise(3 * SAMPLE_RATE, rng), rng.standard_normal(3 * SAMPLE_RATE)):
            clip = AudioClip(np.clip(rms * noise, -32768, 32767).astype("<i2").tobytes())
            assert recognizer.transcribe(clip).heard.intent is None
    # ... and the noise has not shifted the running cepstral mean that the next words are heard with.
    assert recognizer.transcribe(speak("how much longer", voices)).text == "how much longer"


def test_a_one_word_command_with_the_quiet_around_a_turn_is_not_taken_for_noise(fresh_recognizer, voices):
    """Few speech sounds in two seconds of audio, as in a steady noise; but short ones, as in speech."""
    said = [("resume", "en-us+m3"), ("yes", "en-us+m3"), ("yes", "flite:rms")]
    heard = [fresh_recognizer.transcribe(with_quiet_around(speak(text, voices, voice=voice))) for text, voice in said]
    assert sum(t.heard.intent == text for t, (text, _) in zip(heard, said)) >= 2, [t.raw for t in heard]


def test_noise_is_told_from_a_short_word_by_the_phone_loops_sounds():
    from voice.recognize import sounds_like_noise

    def spelled(text: str) -> list[tuple[str, int]]:
        """The phone loop's segments, written "SIL:50 AA:100"."""
        return [(phone, int(frames)) for phone, frames in (sound.split(":") for sound in text.split())]

    two_seconds = 200  # frames of 10 ms
    assert sounds_like_noise(spelled("SIL:10 AA:180 SIL:10"), two_seconds)  # a fan: one long sound
    assert sounds_like_noise(spelled("SIL:90 P:6 TH:6 SIL:98"), two_seconds)  # a knock: short, but no vowel
    assert sounds_like_noise(spelled("SIL:50 +NSN+:100 SIL:50"), two_seconds)
    assert not sounds_like_noise(spelled("SIL:110 Y:10 EH:12 S:8 SIL:110"), 250)  # "yes" with quiet around: sparse, but short sounds
    assert not sounds_like_noise(spelled("SIL:50 HH:8 AW:10 M:8 AH:6 CH:10 L:8 AO:12 NG:8 G:6 ER:14 SIL:60"), two_seconds)


def test_a_fan_is_taken_out_before_decoding(fresh_recognizer, voices, monkeypatch):
    """At 10 dB of pink noise (a fan, a shower) PocketSphinx loses most sentences in flite's voices, the ones built
    from recorded speech; with the noise taken out first (voice/denoise.py) most are heard."""
    clips = [(with_noise(with_quiet_around(speak(text, voices, voice=FLITE_VOICES[i % len(FLITE_VOICES)])), 10, "pink", seed=i), intent)
             for i, (text, intent) in enumerate(IN_SCOPE)]

    def right() -> int:
        return sum(fresh_recognizer.transcribe(clip).heard.intent == intent for clip, intent in clips)

    cleaned = right()
    monkeypatch.setattr(fresh_recognizer, "denoiser", None)
    as_heard = right()
    assert cleaned >= 6 and cleaned >= as_heard + 3, (cleaned, as_heard)


def test_noise_does_not_break_decoding(recognizer, voices):
    clip = with_noise(speak("how much longer", voices), 20, "pink")
    assert recognizer.transcribe(clip).text == "how much longer"


def test_wav_of_any_common_format_is_accepted(voices, tmp_path):
    clip = speak("stop", voices)
    samples = clip.samples()
    stereo_8k = np.repeat(samples[::2], 2)  # 8 kHz, both channels the same
    path = write_wav(tmp_path / "stereo8k.wav", stereo_8k, rate=8000, channels=2)
    loaded = load_wav(path)
    assert abs(loaded.seconds - clip.seconds) < 0.01


@pytest.mark.parametrize("rate", [22050, 44100, 48000])
def test_sound_above_what_16_khz_holds_does_not_fold_back_into_it(tmp_path, rate):
    """Taken down to 16 kHz, a 10 kHz hiss must vanish, not come back as 6 kHz inside the band the model hears;
    speech frequencies pass."""
    seconds = np.arange(rate) / rate
    for hertz, kept in ((1000, True), (10_000, False)):
        tone = (8000 * np.sin(2 * np.pi * hertz * seconds)).astype(np.int16)
        loaded = load_wav(write_wav(tmp_path / f"{hertz}.wav", tone, rate=rate)).samples()[1000:-1000].astype(float)
        assert (np.sqrt(np.mean(loaded ** 2)) > 2000) == kept


@pytest.mark.parametrize("sox_options", [
    ["-b", "24"], ["-b", "32"], ["-e", "floating-point", "-b", "32"], ["-r", "44100", "-c", "2"]])
def test_wav_from_sound_editors_is_heard(recognizer, voices, tmp_path, sox_options):
    """sox and Audacity write 24/32-bit and float WAVs with the extensible header Python's wave refuses."""
    plain = write_wav(tmp_path / "plain.wav", speak("how much longer", voices).samples())
    edited = tmp_path / "edited.wav"
    subprocess.run(["sox", str(plain), *sox_options, str(edited)], check=True)
    assert recognizer.transcribe(load_wav(edited)).text == "how much longer"


@pytest.mark.parametrize("payload,message", [
    (b"", "not a readable WAV"),
    (b"this is not audio at all", "not a readable WAV"),
    (b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0\x55\0\x01\0\x40\x1f\0\0\0\0\0\0\x01\0\x10\0data\0\0\0\0", "compressed WAV"),
])
def test_bad_audio_files_give_one_line(tmp_path, payload, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(payload)
    with pytest.raises(AudioError, match=message):
        load_wav(path)


@pytest.mark.filterwarnings("error")
def test_a_float_wav_with_damaged_samples_loads_quietly(tmp_path):
    import struct

    samples = np.array([0.5, np.nan, np.inf, -np.inf, -0.5] * 3200, dtype="<f4")
    fmt = struct.pack("<HHIIHH", 3, 1, SAMPLE_RATE, SAMPLE_RATE * 4, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", samples.nbytes) + samples.tobytes()
    path = tmp_path / "damaged.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    loaded = load_wav(path).samples()
    assert list(loaded[:5]) == [16384, 0, 32767, -32768, -16384]


def _pcm_wav(samples: np.ndarray, rate: int = SAMPLE_RATE, channels: int = 1, data_size: int | None = None,
             riff_size: int | None = None, after: bytes = b"") -> bytes:
    """16-bit PCM WAV bytes whose header can say another rate, channel count or size than the samples have, with
    `after` (another chunk) after the samples."""
    import struct

    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels % 2**32, 2 * channels % 2**16, 16)
    size = samples.nbytes if data_size is None else data_size
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size) + samples.tobytes()
            + after)
    return b"RIFF" + struct.pack("<I", len(body) if riff_size is None else riff_size) + body


@pytest.mark.parametrize("rate,channels", [(4_000_000_000, 1), (6000, 1), (SAMPLE_RATE, 65535)])
def test_a_wav_header_no_recorder_writes_is_refused_at_once(tmp_path, rate, channels):
    """A damaged rate or channel count is named, not taken at its word (a rate of 4 GHz set the low-pass filter
    running for hours)."""
    path = tmp_path / "damaged.wav"
    path.write_bytes(_pcm_wav(np.zeros(SAMPLE_RATE, dtype="<i2"), rate=rate, channels=channels))
    with pytest.raises(AudioError, match=rf"unsupported WAV format \({channels} channels, 16-bit, {rate} Hz\)"):
        load_wav(path)


def test_a_directory_is_named_as_one(tmp_path):
    with pytest.raises(AudioError, match="a directory, not a WAV file$"):
        load_wav(tmp_path)


def test_a_recording_whose_header_was_never_finished_is_read_to_its_end(tmp_path):
    """A recorder killed before it wrote the sizes leaves a data size of 0 with the samples after it."""
    samples = (1000 * np.sin(np.arange(SAMPLE_RATE) / 5)).astype("<i2")
    path = tmp_path / "unfinished.wav"
    path.write_bytes(_pcm_wav(samples, data_size=0, riff_size=0))
    assert np.array_equal(load_wav(path).samples(), samples)
    finished_empty = _pcm_wav(np.zeros(0, dtype="<i2"), after=b"LIST\x04\0\0\0INFO")  # sizes all written: truly empty
    path.write_bytes(finished_empty)
    with pytest.raises(AudioError, match="the recording is empty"):
        load_wav(path)


def test_empty_and_truncated_wav(voices, tmp_path):
    empty = write_wav(tmp_path / "empty.wav", np.zeros(0, dtype=np.int16))
    with pytest.raises(AudioError, match="empty"):
        load_wav(empty)
    whole = write_wav(tmp_path / "whole.wav", speak("stop", voices).samples())
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(whole.read_bytes()[:1001])  # header says more than there is, odd byte count
    assert load_wav(truncated).seconds > 0


def test_a_recording_is_heard_turn_by_turn_like_the_microphone(understander, voices, tmp_path, fresh_recognizer):
    from voice.clock import VirtualClock
    from voice.listen import AudioFileEars

    said = [("guide massage", "guide_massage"), ("how much longer", "time_left"), ("stop", "stop")]
    clips = [speak(text, voices, voice=PERSON) for text, _ in said]
    path = conversation([(0.5 + 3 * i, clip) for i, clip in enumerate(clips)], tmp_path / "three.wav")
    clock = VirtualClock()
    ears = AudioFileEars(path, understander, clock, fresh_recognizer)
    for i, ((_, intent), clip) in enumerate(zip(said, clips)):
        assert ears.listen(None).intent == intent  # each turn heard, one at a time
        voiced = np.flatnonzero(np.abs(clip.samples()) > 100) / SAMPLE_RATE + 0.5 + 3 * i
        assert voiced[-1] + 0.4 <= clock.now() <= voiced[-1] + 1.0  # heard once its end silence (0.7 s, from the fade) passed
    with pytest.raises(EOFError):  # the silence after the last turn is not one more turn
        ears.listen(None)


def test_listening_to_a_recording_times_out_on_its_clock(understander, voices, tmp_path, fresh_recognizer):
    from voice.clock import VirtualClock
    from voice.listen import AudioFileEars

    path = conversation([(4.0, speak("how much longer", voices))], tmp_path / "late.wav")
    clock = VirtualClock()
    ears = AudioFileEars(path, understander, clock, fresh_recognizer, Endpointing(calibration=0))
    assert ears.listen(1.0) is None and 0.9 <= clock.now() <= 1.2  # nobody spoke yet: a guide deadline can fire
    assert ears.listen(0.0) is None and clock.now() <= 1.2  # a deadline already due does not wait for speech
    assert ears.listen(10.0).text == "how much longer"


def test_inside_a_guide_a_sound_that_never_pauses_is_cut_soon_after_the_step_is_due(understander, voices, tmp_path,
                                                                                     fresh_recognizer):
    """A television left on: without the cut, the next step waited for SpeechRecognition's 15 s phrase limit."""
    from voice.clock import VirtualClock
    from voice.listen import STEP_GRACE_SECONDS, AudioFileEars

    talk = [speak(text, voices, voice=voice).samples().astype(np.float64) for text, voice in
            [("and now the weather for the weekend ahead", "en-us"), ("the match kicks off at eight tonight", "en+f3"),
             ("stay tuned for more after the break", "en-us+m3")]]
    television = sum(np.resize(voice, 20 * SAMPLE_RATE) for voice in talk)  # three voices at once, for 20 s
    path = write_wav(tmp_path / "tv.wav", np.concatenate([np.zeros(SAMPLE_RATE // 2), television]))  # quiet, then the television
    clock = VirtualClock()
    ears = AudioFileEars(path, understander, clock, fresh_recognizer)
    heard = ears.listen(1.0, idle=False, until=3.0)
    assert heard is not None and heard.intent is None  # heard, and not taken for a command
    assert 3.0 + STEP_GRACE_SECONDS <= clock.now() <= 3.0 + STEP_GRACE_SECONDS + 0.2


def test_understand_audio_cli(voices, tmp_path, capsys):
    good = write_wav(tmp_path / "good.wav", speak("what can i do to relieve the pain", voices).samples())
    bad = tmp_path / "bad.wav"
    bad.write_text("nope")
    # A long recording is not one utterance: decoded whole it would take gigabytes; a device never ends.
    long = write_wav(tmp_path / "long.wav", np.zeros((LONGEST_FILE_SECONDS + 1) * SAMPLE_RATE, dtype=np.int16))
    assert main(["understand", "--audio", str(good), str(bad), str(long), "/dev/zero", str(good)]) == 1
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(err.splitlines()) == 3 and "Traceback" not in err  # one line per file not heard
    assert [line["file"] for line in lines] == [str(good), str(bad), str(long), "/dev/zero", str(good)]
    assert lines[0]["intent"] == lines[4]["intent"] == "ask_relief"  # the files after the bad ones are still heard
    assert lines[0]["transcript"].startswith("what can i do") and lines[0]["text"] == lines[0]["transcript"]
    assert all(line["intent"] is None and "error" in line for line in lines[1:4])
    assert "not one utterance" in lines[2]["error"] and "--input-audio" in lines[2]["error"]
    assert "a device" in lines[3]["error"]


def test_understand_audio_batch_skips_comments_and_blank_lines(voices, tmp_path, capsys):
    good = write_wav(tmp_path / "good.wav", speak("stop", voices).samples())
    batch = tmp_path / "files.txt"
    batch.write_bytes(f"# what the person said\r\n\r\n  {good}  \r\n{tmp_path / 'gone.wav'}\r\n".encode())
    assert main(["understand", "--batch", str(batch), "--audio"]) == 1  # a file it names is gone
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == [str(good), str(tmp_path / "gone.wav")]
    assert lines[0]["intent"] == "stop" and lines[1]["error"].endswith("no such file")


def test_live_loop_from_a_recording(voices, tmp_path, capsys):
    """One WAV: 'guide massage', then mid-pause 'how much longer', then 'stop', through --input-audio --fast."""
    path = conversation([(0.5, speak("guide massage", voices, voice=PERSON)),
                         (45.0, speak("how much longer", voices, voice=PERSON)),
                         (60.0, speak("stop the massage", voices, voice=PERSON))], tmp_path / "session.wav")
    assert main(["--input-audio", str(path), "--fast", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "Step one" in out
    assert "seconds left in this step" in out
    assert "stopped the back massage" in out
    assert out.index("Step one") < out.index("seconds left") < out.index("stopped")


def test_a_recording_that_starts_with_speech_is_heard_from_its_first_word_to_its_last(voices, tmp_path, capsys):
    """A recording's room is measured in its quietest stretch: measured in its first 0.5 s, the speech there was taken
    for the room, the threshold sat above the voice, and nothing in the recording was heard. Its last turn, not
    understood, is answered like any other, not taken for the quiet at its end."""
    said = [without_padding(speak(text, voices, voice="en-us").samples())
            for text in ("what can i do to relieve the pain", "the bakery opens at seven tomorrow")]
    path = write_wav(tmp_path / "tight.wav", np.concatenate([said[0], np.zeros(3 * SAMPLE_RATE), said[1]]))
    assert main(["--input-audio", str(path), "--fast", "--quiet", "--seed", "1"]) == 0
    captured = capsys.readouterr()
    heard = [line for line in captured.out.splitlines() if line.startswith("you: ")]
    assert heard == ["you: what can i do to relieve the pain  (ask_relief)", "you: (not one of our sentences)  (not understood)"]
    assert "no speech was heard" not in captured.err


def test_a_recording_in_which_nothing_stands_out_says_so_in_one_line(tmp_path, capsys):
    fan = 300 * pink_noise(3 * SAMPLE_RATE, np.random.default_rng(0))
    path = write_wav(tmp_path / "fan.wav", fan)
    assert main(["--input-audio", str(path), "--fast", "--quiet"]) == 0
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"backcare: no speech was heard in {path}: nothing stood out from its quietest 0.5 s, taken for the room; if it "
        "has no pause that long, pass --calibration 0")


def test_the_room_of_a_recording_is_its_quietest_stretch():
    from voice.audio import AudioClip, quietest_stretch, rms

    rng = np.random.default_rng(0)
    samples = np.concatenate([rng.normal(0, 3000, SAMPLE_RATE), rng.normal(0, 300, SAMPLE_RATE),  # a word, the room,
                              rng.normal(0, 3000, SAMPLE_RATE)])  # and another word
    stretch = quietest_stretch(AudioClip(samples.astype("<i2").tobytes()), 0.5)
    assert 0.45 <= stretch.seconds <= 0.55 and 270 <= rms(stretch.pcm) <= 330
    short = AudioClip(samples[: SAMPLE_RATE // 4].astype("<i2").tobytes())
    assert quietest_stretch(short, 0.5) == short  # shorter than asked: all of it


def test_a_session_through_a_real_sound_device(voices, tmp_path):
    """`backcare` itself, through PyAudio and ALSA as on a person's machine: the sound device is ALSA's own, its
    file plugin standing in for the microphone (it hands over a recording, as fast as it is read) and its null
    device for the loudspeaker, which aplay plays to. No fake of ours is in the path."""
    pytest.importorskip("pyaudio")
    turns = [(1.0, "guide massage"), (4.0, "how much longer"), (7.0, "stop the massage"), (10.0, "goodbye")]
    session = conversation([(start, speak(text, voices, voice=PERSON)) for start, text in turns], tmp_path / "session.wav")
    sound = tmp_path / "microphone.raw"
    sound.write_bytes(load_wav(session).pcm)
    (tmp_path / ".asoundrc").write_text(
        "pcm.!default {\n  type asym\n"
        f'  capture.pcm {{ type file; slave.pcm "null"; file "/dev/null"; infile "{sound}"; format "raw" }}\n'
        '  playback.pcm "null"\n}\n')
    environment = {**os.environ, "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "voice", "--seed", "1"], env=environment, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and done.stderr == "", done.stderr  # no device fell back, nothing went wrong
    heard = [line.split("  (")[0].removeprefix("you: ") for line in done.stdout.splitlines() if line.startswith("you: ")]
    assert [text.split()[:2] for text in heard] == [["guide", "massage"], ["how", "much"], ["stop", "the"], ["goodbye"]]
    out = done.stdout
    assert out.index("Step one") < out.index("seconds left in this step") < out.index("stopped the back massage") < out.index("Goodbye.")


@pytest.fixture
def room(tmp_path):
    """A room in real time: a PulseAudio server of our own (no sound card needed) whose one loudspeaker, a null sink,
    is also what the microphone hears (its monitor), so the assistant's voice reaches the microphone as the person's
    does. Yields the environment a program in the room runs with."""
    if shutil.which("pulseaudio") is None:
        pytest.skip("PulseAudio is not installed (scripts/test installs it where no sound server is)")
    script = tmp_path / "room.pa"
    script.write_text("load-module module-null-sink sink_name=room rate=16000 channels=1\n"
                      "load-module module-native-protocol-unix auth-anonymous=1\n"
                      "set-default-sink room\nset-default-source room.monitor\n")
    (tmp_path / ".asoundrc").write_text("pcm.!default { type pulse }\nctl.!default { type pulse }\n")
    environment = {**os.environ, "HOME": str(tmp_path), "PULSE_RUNTIME_PATH": str(tmp_path / "pulse")}
    server = subprocess.Popen(["pulseaudio", "-n", "-F", str(script), "--daemonize=no", "--exit-idle-time=-1",
                               "--use-pid-file=no"], env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not (tmp_path / "pulse" / "native").exists():
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"PulseAudio did not start: {server.communicate()[1].decode(errors='replace')[-500:]}")
        time.sleep(0.05)
    yield environment
    server.terminate()
    server.wait(10)


def test_in_a_room_the_assistant_does_not_answer_itself(room, voices, tmp_path):
    """The whole of `backcare` in real time, through PyAudio, ALSA and PulseAudio, with its own voice reaching the
    microphone: its greeting names "guide massage", and the sound system keeps what the microphone captures while the
    assistant speaks. The person speaks each turn once the assistant has fallen quiet, as people do."""
    state = default_state_path()  # the test's own user data directory (conftest.py)
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"disclaimer_given": True, "bookmark": None}))  # no first-start note: a shorter session
    session = subprocess.Popen([sys.executable, "-m", "voice", "--seed", "1"], env=room, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    shown: queue.Queue[str | None] = queue.Queue()  # what the session shows, notices too, line by line; None at its end

    def show() -> None:
        for line in session.stdout:
            shown.put(line.rstrip("\n"))
        shown.put(None)

    threading.Thread(target=show, daemon=True).start()
    transcript: list[str] = []

    def after(words: str) -> None:
        deadline = time.monotonic() + 60
        with contextlib.suppress(queue.Empty):
            while (line := shown.get(timeout=max(0.0, deadline - time.monotonic()))) is not None:
                transcript.append(line)
                if words in line:
                    return
        pytest.fail(f"no {words!r} within a minute: {transcript}")

    def say(text: str) -> None:
        turn = speak(text, voices, voice=PERSON)
        write_wav(tmp_path / "turn.wav", turn.samples())
        subprocess.run(["aplay", "-q", str(tmp_path / "turn.wav")], env=room, check=True)

    try:
        after("backcare: ")  # the greeting, heard by the microphone too
        for text, reply in [("guide massage", "Step one"), ("how much longer", "left in this step"),
                            ("stop the massage", "stopped the back massage"), ("goodbye", "Goodbye")]:
            say(text)
            after(reply)
        assert session.wait(30) == 0
    finally:
        session.kill()
    heard = [line.rsplit("(", 1)[1].rstrip(")") for line in transcript if line.startswith("you: ")]
    assert heard == ["guide_massage", "time_left", "stop", "goodbye"], transcript  # and nothing it said itself
    assert not any("printed only" in line for line in transcript)  # the assistant was heard in the room, not printed


def test_a_recording_with_a_wake_phrase(voices, tmp_path, capsys):
    """With --wake, an idle assistant ignores a request until the wake phrase, in a recording as at the microphone;
    right after it has spoken (the greeting, an answer that offers more), a reply needs no wake phrase."""
    turns = [(0.5, "why does my back hurt after sex"), (4.5, "yes"),  # each within REPLY_SECONDS of the last reply
             (8.0, "hey coach"), (11.0, "what can i do to relieve the pain"),  # the wake phrase, though none is needed
             (30.0, "guide massage"),  # long after: ignored
             (34.0, "hey coach"), (37.0, "how do i know if i should see a doctor"),
             (50.0, "hey coach"), (62.0, "guide massage")]  # woken, and then nothing for longer than REPLY_SECONDS
    path = conversation([(start, speak(text, voices, voice="en-us")) for start, text in turns], tmp_path / "wake.wav")
    assert main(["--input-audio", str(path), "--fast", "--wake", "hey coach", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "say hey coach first" in out  # the greeting says how to wake it
    assert "Step one" not in out  # asked without the wake phrase, or too long after it: not acted on
    assert "Sorry" not in out  # the wake phrase said in a reply is not a sentence misheard
    shown = [intent for intent in ("(ask_causes)", "(yes)", "(ask_relief)", "(ask_see_doctor)") if intent in out]
    assert shown == ["(ask_causes)", "(yes)", "(ask_relief)", "(ask_see_doctor)"]
    assert out.index("(ask_causes)") < out.index("(yes)") < out.index("(ask_relief)") < out.index("(ask_see_doctor)")


class FakeMicrophone:
    def __init__(self, clips):
        self.clips = list(clips)

    def listen(self, timeout):
        """Like the microphone: the next utterance in chunks; None (a clip given as None) when nobody spoke in time."""
        clip = self.clips.pop(0) if self.clips else None
        return None if clip is None else clip.chunks(CHUNK_SECONDS)

    def close(self):
        pass


def test_a_machine_without_an_input_device_gets_one_line_not_the_sound_libraries_noise(monkeypatch, capfd):
    """PyAudio finds no device: SpeechRecognition leaves the microphone without a stream, and ALSA and JACK write
    their complaints straight to the terminal (over a hundred lines on this machine)."""
    import os

    import speech_recognition

    from voice.audio import Microphone

    class NoDevice:
        def __init__(self, **options):
            os.write(2, b"ALSA lib pcm.c:2664:(snd_pcm_open_noupdate) Unknown PCM cards.pcm.rear\n")
            self.stream = None

        def __enter__(self):
            os.write(2, b"jack server is not running or cannot be started\n")
            return self

    monkeypatch.setattr(speech_recognition, "Microphone", NoDevice)
    with pytest.raises(AudioError, match="no microphone found"):
        Microphone(Endpointing())
    assert capfd.readouterr().err == ""


def test_the_threshold_rises_with_the_room_noise_but_not_with_a_word_said_during_calibration():
    from voice.audio import NOISE_MARGIN, AudioClip, Microphone
    from voice.clock import VirtualClock
    from voice.listen import Recording

    rng = np.random.default_rng(0)
    fan = rng.normal(0, 300, SAMPLE_RATE)  # one second of room noise at RMS 300
    mic = Microphone(Endpointing(calibration=0.5), source=Recording(AudioClip(fan.astype("<i2").tobytes()), VirtualClock()))
    assert 0.9 * NOISE_MARGIN * 300 <= mic.recognizer.energy_threshold <= 1.1 * NOISE_MARGIN * 300
    fan[:2 * 1024] += rng.normal(0, 5000, 2 * 1024)  # a loud word over the first two 64 ms chunks
    mic = Microphone(Endpointing(calibration=0.5), source=Recording(AudioClip(fan.astype("<i2").tobytes()), VirtualClock()))
    assert mic.recognizer.energy_threshold <= 1.1 * NOISE_MARGIN * 300
    quiet = Microphone(Endpointing(calibration=0.5), source=Recording(AudioClip(bytes(SAMPLE_RATE * 2)), VirtualClock()))
    assert quiet.recognizer.energy_threshold == Endpointing().energy_threshold  # the floor in a silent room


@pytest.mark.parametrize("fan_from", [0.0, 0.6], ids=["fan on from the start", "fan switched on after the calibration"])
def test_over_a_loud_fan_each_turn_is_cut_whole_and_handed_over_as_captured(voices, fan_from):
    """SpeechRecognition's energy threshold cannot tell words from a fan only 10 dB under them: it must sit above the
    fan, and then the softer words fall under it; a fan switched on after the calibration was above it, and no turn
    ended. The endpointing hears the audio with the fan taken out; the decoders get it as it was captured, to measure
    the room and take the noise out themselves."""
    from voice.audio import AudioClip, Microphone, pink_noise
    from voice.clock import VirtualClock
    from voice.denoise import load_denoiser
    from voice.listen import Recording

    turns = [without_padding(speak(text, voices, voice=voice).samples()) for text, voice in
             [("is it normal to have back pain after sex", "en-us"), ("my feet are numb", "flite:rms"),
              ("what position should i rest in", "en+f3")]]
    gap = np.zeros(int(1.5 * SAMPLE_RATE))
    speech = np.concatenate([gap] + [np.concatenate([turn, gap]) for turn in turns])
    fan = 1000 * pink_noise(len(speech), np.random.default_rng(1))  # about 10 dB under the speech
    fan[: int(fan_from * SAMPLE_RATE)] = 0
    recording = Recording(AudioClip(np.clip(speech + fan, -32768, 32767).astype("<i2").tobytes()), VirtualClock())
    mic = Microphone(Endpointing(), source=recording, denoiser=load_denoiser())
    pieces = []
    while len(pieces) < len(turns) + 1 and (chunks := mic.listen(3.0)) is not None:
        pieces.append(np.frombuffer(b"".join(chunks), dtype="<i2").astype(np.float64))
    whole = [len(turn) / SAMPLE_RATE + 0.4 <= len(piece) / SAMPLE_RATE <= len(turn) / SAMPLE_RATE + 0.75
             for piece, turn in zip(pieces, turns)]  # with the quiet kept around it (KEPT_QUIET_SECONDS)
    assert whole == [True] * 3, [len(piece) / SAMPLE_RATE for piece in pieces]
    assert len(pieces) == 3 or np.sqrt(np.mean(pieces[3] ** 2)) < 1500  # at most the fan alone, as the recording ends
    lead_in = pieces[0][: int(0.2 * SAMPLE_RATE)]
    assert 800 < np.sqrt(np.mean(lead_in ** 2)) < 1200  # the fan, as captured


def test_the_endpointing_hears_the_same_stretch_of_sound_the_decoders_are_handed():
    """RNNoise hands back its audio late and in uneven pieces; what the decoders get of a turn must be the same
    stretch the endpointing heard, or the quiet before the turn would hold the speech's first sound."""
    from voice.audio import RNNOISE_DELAY_SAMPLES as RNNOISE_DELAY, DenoisedReads

    class Late:  # a denoiser that takes nothing out, a little late, in 30 ms pieces
        def __init__(self):
            self.held = np.zeros(RNNOISE_DELAY, dtype="<i2")

        def feed(self, samples):
            self.held = np.concatenate([self.held, samples])
            ready = len(self.held) // 480 * 480
            out, self.held = self.held[:ready], self.held[ready:]
            return out

    class Stream:
        def __init__(self, samples):
            self.samples, self.at = samples, 0

        def read(self, frames):
            self.at += frames
            return self.samples[self.at - frames: self.at].tobytes()

    captured = np.random.default_rng(0).integers(-3000, 3000, 40 * 1024).astype("<i2")
    reads = DenoisedReads(Stream(captured), Late())
    heard = [reads.read(1024) for _ in range(6)]  # while it fills its frames, silence makes up what it has not handed back
    assert [len(reads.captured(len(piece))) for piece in heard] == [2048] * 6
    for _ in range(30):
        heard.append(reads.read(1024))
        assert reads.captured(len(heard[-1])) == heard[-1]
        assert reads.captured(3 * 2048) == b"".join(heard[-3:])  # a lead-in of several reads at once


def test_a_turn_is_handed_over_with_a_little_of_the_quiet_around_it_and_all_of_its_pauses():
    """The decoders' running cepstral mean learns from all they are fed, so the long quiet around a turn is cut to
    KEPT_QUIET_SECONDS; a pause between words is part of the turn and is kept whole."""
    from voice.audio import KEPT_QUIET_SECONDS, MICROPHONE_CHUNK, trim_quiet

    quiet, loud = bytes(2 * MICROPHONE_CHUNK), np.full(MICROPHONE_CHUNK, 3000, dtype="<i2").tobytes()
    kept = round(KEPT_QUIET_SECONDS * SAMPLE_RATE / MICROPHONE_CHUNK)
    assert 0 < kept < 6
    turn = [quiet * 8, loud, quiet * 6, loud, quiet * 11]  # the lead-in comes as one chunk, as SpeechRecognition hands it over
    assert list(trim_quiet(turn, threshold=100)) == [quiet] * kept + [loud] + [quiet] * 6 + [loud] + [quiet] * kept
    assert b"".join(trim_quiet([quiet * 3], threshold=100)) == quiet * 3  # nothing loud: nothing to tell apart


def test_the_microphone_hands_over_the_speech_with_little_quiet():
    from voice.audio import KEPT_QUIET_SECONDS, AudioClip, Microphone
    from voice.clock import VirtualClock
    from voice.listen import Recording

    tone = (3000 * np.sin(np.arange(SAMPLE_RATE) * 2 * np.pi * 300 / SAMPLE_RATE)).astype("<i2")
    silence = np.zeros(SAMPLE_RATE, dtype="<i2")
    recording = AudioClip(np.concatenate([silence, tone, silence, silence]).tobytes())
    mic = Microphone(Endpointing(calibration=0), source=Recording(recording, VirtualClock()))
    seconds = len(b"".join(mic.listen(5.0))) / 2 / SAMPLE_RATE
    assert 1.0 <= seconds <= 1.0 + 2 * KEPT_QUIET_SECONDS + 0.1, seconds  # SpeechRecognition heard 0.5 s + 0.7 s of quiet


def test_a_microphone_that_stops_working_mid_turn_is_told_in_one_line():
    from voice.audio import AudioClip, AudioError, Microphone
    from voice.clock import VirtualClock
    from voice.listen import Recording

    class Unplugged(Recording):
        def read(self, frames):
            if self.position >= SAMPLE_RATE * 2 * 1.5:  # half a second into the tone
                raise OSError(-9999, "Unanticipated host error")
            return super().read(frames)

    tone = (3000 * np.sin(np.arange(2 * SAMPLE_RATE) * 2 * np.pi * 300 / SAMPLE_RATE)).astype("<i2")
    recording = AudioClip(np.concatenate([np.zeros(SAMPLE_RATE, dtype="<i2"), tone]).tobytes())
    mic = Microphone(Endpointing(calibration=0), source=Unplugged(recording, VirtualClock()))
    turn = mic.listen(5.0)
    with pytest.raises(AudioError, match="^the microphone stopped working "):
        b"".join(turn)
    mic.close()


def test_a_microphone_that_stops_answering_mid_turn_is_told_in_one_line_and_not_waited_on_for_ever():
    import threading

    from voice.audio import AudioClip, AudioError, Microphone
    from voice.clock import VirtualClock
    from voice.listen import Recording

    released = threading.Event()

    class Hung(Recording):
        def read(self, frames):
            if self.position >= SAMPLE_RATE * 2 * 1.5:  # half a second into the tone the device goes silent, no error
                released.wait()
            return super().read(frames)

    tone = (3000 * np.sin(np.arange(2 * SAMPLE_RATE) * 2 * np.pi * 300 / SAMPLE_RATE)).astype("<i2")
    recording = AudioClip(np.concatenate([np.zeros(SAMPLE_RATE, dtype="<i2"), tone]).tobytes())
    mic = Microphone(Endpointing(calibration=0), source=Hung(recording, VirtualClock()), patience=0.2)
    try:
        turn = mic.listen(5.0)
        with pytest.raises(AudioError, match=r"^the microphone stopped working \(no sound from it for 0.2 s\)$"):
            b"".join(turn)
        with pytest.raises(AudioError):  # nor is it asked again, which would only wait again
            mic.listen(5.0)
        mic.close()  # does not wait on the device either
    finally:
        released.set()


def test_what_the_microphone_kept_while_the_assistant_spoke_is_not_heard_as_the_next_turn():
    """Half duplex: the sound system keeps capturing while the stream is not read (the assistant speaking), and hands
    that over first at the next read; only stopping the stream drops it."""
    import time

    import speech_recognition as sr

    from voice.audio import UNHEARD_SECONDS, Microphone

    def tone(seconds, amplitude):
        return (amplitude * np.sin(np.arange(int(seconds * SAMPLE_RATE)) * 2 * np.pi * 300 / SAMPLE_RATE)).astype("<i2").tobytes()

    class Device:  # PyAudio's stream: the end of the reply it kept, then the room from now on
        def __init__(self, kept, then):
            self.kept, self.then = kept, then

        def read(self, frames, exception_on_overflow=True):
            sound = self.kept + self.then
            chunk = sound[:2 * frames]
            self.kept, self.then = self.kept[2 * frames:], self.then[max(0, 2 * frames - len(self.kept)):]
            return chunk.ljust(2 * frames, b"\0")

        def stop_stream(self):
            self.kept = b""

        def start_stream(self):
            pass

        def is_stopped(self):
            return True

        def close(self):
            pass

    class Source(sr.AudioSource):
        CHUNK, SAMPLE_RATE, SAMPLE_WIDTH = 1024, SAMPLE_RATE, 2

        def __init__(self, device):
            self.stream = sr.Microphone.MicrophoneStream(device)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.stream.close()

    reply, quiet, person = tone(1.0, 8000), tone(1.0, 0), tone(1.0, 2000)
    mic = Microphone(Endpointing(calibration=0), source=Source(Device(kept=reply, then=quiet + person + quiet * 2)))
    time.sleep(UNHEARD_SECONDS + 0.1)  # the reply being spoken, nobody reading the microphone
    turn = np.frombuffer(b"".join(mic.listen(5.0)), dtype="<i2")
    assert 0.9 * SAMPLE_RATE < len(turn) < 1.8 * SAMPLE_RATE  # the person's second, and a little quiet
    assert np.abs(turn).max() <= 2000  # none of the reply
    mic.close()


def test_microphone_turns_are_decoded_as_they_stream_in(understander, voices, tmp_path, fresh_recognizer):
    from voice.audio import Microphone
    from voice.clock import VirtualClock
    from voice.listen import MicrophoneEars, Recording

    recording = conversation([(0.5, speak("guide massage", voices)), (3.0, speak("how much longer", voices, voice="en+f3"))],
                             tmp_path / "mic.wav")
    mic = Microphone(Endpointing(calibration=0), source=Recording(load_wav(recording), VirtualClock()))
    ears = MicrophoneEars(understander, microphone=mic, recognizer=fresh_recognizer)
    assert ears.listen(5.0, idle=True).text == "guide massage"
    assert ears.listen(5.0, idle=False).text == "how much longer"


def test_wake_phrase_gates_the_idle_assistant(understander, voices, grammar_cache):
    from voice.dialogue import WOKEN
    from voice.listen import MicrophoneEars

    said = [("what can i do to relieve the pain", "en-us"), ("hey coach", "en-us"), ("guide massage", "en-us"),
            ("how much longer", "en-us"), ("stop", "en-us"), ("hey coach", "en+f3"), ("hey coach", "en-us")]
    mic = FakeMicrophone([speak(text, voices, voice=voice) for text, voice in said])
    ears = MicrophoneEars(understander, wake="hey coach", microphone=mic,
                          recognizer=Recognizer(understander, grammar_cache, wake="hey coach"))
    assert ears.listen(1.0, idle=True) is None  # no wake phrase yet: ignored
    assert ears.listen(1.0, idle=True) is WOKEN  # the wake phrase itself
    assert ears.listen(1.0, idle=False).text == "guide massage"  # the dialogue now waits for a request
    assert ears.listen(1.0, idle=False).text == "how much longer"  # inside a guide no wake phrase is needed
    assert ears.listen(1.0, idle=True) is None  # the guide is over: a command needs the wake phrase again
    assert ears.listen(1.0, idle=True) is WOKEN  # another voice
    assert ears.listen(1.0, idle=False) is WOKEN  # said again when none was needed: no "sorry" for it


def test_any_order_templates_become_every_order():
    from hassil import Intents

    intents = Intents.from_dict({"language": "en", "intents": {"next": {"data": [{"sentences": ["(next;step) please"]}]}}})
    jsgf, words = compile_jsgf(intents)
    assert "( next step | step next ) please" in jsgf
    assert words == {"next", "step", "please"}


def test_any_sentence_may_end_with_a_courtesy(content):
    jsgf, words = compile_jsgf(content.intents, ("for now", "thanks"))
    assert "[ <ending> ]" in jsgf and "<ending> = ( for now | thanks );" in jsgf
    assert {"for", "now", "thanks"} <= words
