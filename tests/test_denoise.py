"""Noise removal before decoding: a quiet room's audio reaches the decoders untouched, a noisy room's cleaned."""

from __future__ import annotations

import numpy as np
import pytest

from voice.audio import LOUDNESS_FRAME, MICROPHONE_CHUNK, SAMPLE_RATE, frame_loudness, pink_noise, with_noise_under
from voice.denoise import GATE_SECONDS, LONGEST_HOLD_SECONDS, ROOM_NOISE_RMS, Denoiser, NoiseGate, load_denoiser

from .audio_fixtures import speak, with_quiet_around


@pytest.fixture(scope="module")
def denoiser():
    return Denoiser()


def pieces(samples: np.ndarray) -> list[np.ndarray]:
    return [samples[start: start + MICROPHONE_CHUNK] for start in range(0, len(samples), MICROPHONE_CHUNK)]


def fed_until_released(gate: NoiseGate, samples: np.ndarray) -> tuple[int | None, np.ndarray]:
    """How many samples went in before the gate let any out, and all it let out."""
    released_at, out = None, []
    fed = 0
    for chunk in pieces(samples):
        fed += len(chunk)
        out += gate.feed(chunk)
        if out and released_at is None:
            released_at = fed
    out += gate.finish()
    return released_at, np.concatenate(out) if out else np.zeros(0, dtype="<i2")


def through(gate: NoiseGate, samples: np.ndarray) -> np.ndarray:
    return fed_until_released(gate, samples)[1]


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def noise(seconds: float, level: float, seed: int = 0) -> np.ndarray:
    return np.clip(level * pink_noise(int(seconds * SAMPLE_RATE), np.random.default_rng(seed)), -32768, 32767).astype("<i2")


def test_a_quiet_rooms_audio_reaches_the_decoders_untouched_in_the_same_pieces(denoiser, tmp_path):
    turn = with_quiet_around(speak("how much longer", tmp_path)).samples()
    gate = NoiseGate(denoiser)
    out = [piece for chunk in pieces(turn) for piece in gate.feed(chunk)] + gate.finish()
    assert gate.noisy is False
    assert [len(piece) for piece in out] == [len(chunk) for chunk in pieces(turn)]
    assert np.array_equal(np.concatenate(out), turn)


def test_a_quiet_start_passes_at_once(denoiser):
    gate = NoiseGate(denoiser)
    quiet = noise(0.1, 30)
    assert np.array_equal(np.concatenate(gate.feed(quiet)), quiet)
    assert gate.noisy is False


def test_a_steady_noise_is_held_until_the_room_is_measured_then_passed_on_cleaned(denoiser):
    gate = NoiseGate(denoiser)
    fan = noise(GATE_SECONDS, 1000)
    *before, last = pieces(fan)
    assert all(gate.feed(chunk) == [] for chunk in before)
    assert gate.noisy is None
    out = gate.feed(last) + gate.finish()  # then it all goes on, through RNNoise
    assert gate.noisy is True
    assert abs(sum(map(len, out)) - len(fan)) < 0.02 * SAMPLE_RATE


def test_a_turn_too_short_to_measure_is_decoded_whole_at_its_end(denoiser):
    gate = NoiseGate(denoiser)
    short = noise(0.01, 1000)  # under one loudness frame
    assert gate.feed(short) == []
    assert np.array_equal(np.concatenate(gate.finish()), short)
    assert gate.noisy is False


def test_speech_at_the_very_start_of_a_turn_is_held_until_a_pause_shows_the_room_quiet(denoiser, tmp_path):
    """An audio file cut tight: its start is loud, uneven speech, with no quiet frame for longer than GATE_SECONDS
    (RNNoise would cost it words)."""
    turn = speak("i need some relief what do you suggest", tmp_path, voice="en-us").samples()
    loudness = frame_loudness(turn)
    first_quiet = int(np.argmax(loudness <= ROOM_NOISE_RMS)) * LOUDNESS_FRAME
    assert GATE_SECONDS * SAMPLE_RATE < first_quiet < LONGEST_HOLD_SECONDS * SAMPLE_RATE
    released_at, out = fed_until_released(NoiseGate(denoiser), turn)
    assert first_quiet < released_at <= first_quiet + LOUDNESS_FRAME + MICROPHONE_CHUNK
    assert np.array_equal(out, turn)


def test_speech_over_noise_from_the_first_sample_is_cleaned(denoiser, tmp_path):
    """An audio file cut tight, recorded by a fan: no quiet frame ever comes, so after the longest hold the room
    counts as noisy."""
    speech = speak("what can i do to relieve the pain", tmp_path, voice="flite:rms")
    fan = pink_noise(len(speech.samples()), np.random.default_rng(2))
    turn = with_noise_under(speech, fan, 10).samples()
    gate = NoiseGate(denoiser)
    released_at, out = fed_until_released(gate, turn)
    assert LONGEST_HOLD_SECONDS * SAMPLE_RATE <= released_at < LONGEST_HOLD_SECONDS * SAMPLE_RATE + MICROPHONE_CHUNK
    assert gate.noisy is True
    assert abs(len(out) - len(turn)) < 0.02 * SAMPLE_RATE


def test_a_noisy_rooms_noise_is_taken_out_and_the_speech_kept(denoiser, tmp_path):
    """A fan at 10 dB under the voice: the quiet before the speech comes out far quieter, the speech about as loud,
    and nothing is lost from the end of the turn."""
    speech = with_quiet_around(speak("what can i do to relieve the pain", tmp_path, voice="flite:rms"))
    fan = pink_noise(len(speech.samples()), np.random.default_rng(1))
    turn = with_noise_under(speech, fan, 10).samples()
    gate = NoiseGate(denoiser)
    out = through(gate, turn)
    assert gate.noisy is True
    assert abs(len(out) - len(turn)) < 0.02 * SAMPLE_RATE
    lead_in = slice(0, int(0.2 * SAMPLE_RATE))
    assert rms(turn[lead_in]) > ROOM_NOISE_RMS
    assert rms(out[lead_in]) < rms(turn[lead_in]) / 3  # at least 10 dB less noise
    loud = np.abs(speech.samples()) > 1000
    assert 0.5 < rms(out[: len(turn)][loud]) / rms(speech.samples()[loud]) < 2


def test_each_turn_is_measured_afresh(denoiser):
    fan, quiet = noise(0.5, 1000), noise(0.5, 30)
    gates = [NoiseGate(denoiser) for _ in range(3)]
    for gate, turn in zip(gates, (fan, quiet, fan)):
        through(gate, turn)
    assert [gate.noisy for gate in gates] == [True, False, True]


def test_digital_silence_counts_as_a_quiet_room(denoiser):
    gate = NoiseGate(denoiser)
    through(gate, np.zeros(SAMPLE_RATE, dtype="<i2"))
    assert gate.noisy is False


def test_an_empty_turn_gives_nothing_to_decode(denoiser):
    assert NoiseGate(denoiser).finish() == []


def test_without_rnnoise_a_noisy_rooms_audio_passes_as_it_is(monkeypatch):
    """A broken install loses the noise removal, not the microphone."""
    import sys

    monkeypatch.setitem(sys.modules, "pyrnnoise", None)  # importing it now fails
    assert load_denoiser() is None
    fan = noise(0.5, 1000)
    gate = NoiseGate(None)
    assert np.array_equal(np.concatenate(gate.feed(fan)), fan)  # nothing held: there is nothing to measure for
    assert gate.noisy is False
