"""Noise removal before decoding, in a noisy room only.

PocketSphinx's acoustic model loses most of what is said over a fan or a shower: at 10 dB of steady noise it
understood a third of flite's sentences (voices built from recorded speech). RNNoise (xiph.org's small recurrent
network, trained on real speech and real noise) removes that noise as the audio arrives, 10 ms at a time. It is
not used in a quiet room, where it only costs: espeak-ng's formant voices lose words to it, as it takes part of
their synthetic sound for noise. Which room it is, is measured at the start of each turn, in the quiet the
microphone hands over before the speech (voice/audio.py Endpointing.lead_in). An audio file cut tight starts
with its speech instead, and is measured in it: the room is quiet as soon as a frame is, noisy when none is for
LONGEST_HOLD_SECONDS.
"""

from __future__ import annotations

import numpy as np

from .audio import LOUDNESS_FRAME, SAMPLE_RATE, frame_loudness, signal_to_noise_db

# The room is quiet as soon as a 16 ms frame of the turn is no louder than ROOM_NOISE_RMS (on the 16-bit scale). It is
# noisy when the turn's first GATE_SECONDS have no such frame and are steady, their loudest frames within
# STEADY_NOISE_DB of their quietest (voice/audio.py signal_to_noise_db: the 90th percentile over the 10th). In the quiet
# before a turn that is the room's steady noise: pink noise 30 dB under espeak-ng's speech measures 51 to 98, 20 dB
# under it 160 to 370, 10 dB under it 520 to 1180, with a spread of 9.4 dB at most (white noise 1.5).
#
# A turn that starts with its speech (an audio file cut tight) is measured in its speech, which is not steady (all 74 of
# 199 clean development sentences in espeak-ng's voices with no quiet frame in their first 0.25 s spread 9.5 dB or
# more), so it is held until a quiet frame comes, up to LONGEST_HOLD_SECONDS, and counts as noisy if none does. Clean,
# the pauses between words bring one: all 199 sentences in flite's voices at once, 183 of 199 in espeak-ng's within
# 1 s (the 16 others go through RNNoise; at 0.75 s 25 did, "i have a fever and my back hurts" in en-us among them,
# which was then lost). At 10 dB of pink, white or speech-like noise none of the 398 has one by then (the same
# sentences); six voices talking 10 dB under the speech (a television), in the quiet before a turn and from a random
# point in their talk, bring one for 24 and 25 of the 199 in either family. The longer hold leaves the decoders a
# backlog to catch up on (1 s of audio decodes in about 0.4 s), which the live loop's end silence (voice/audio.py
# Endpointing.end_silence, 0.7 s) covers in part: guide commands read in real time under 10 dB of babble came back
# 0.88 s p50, 1.42 s at worst, after their speech ended, against 0.89 / 0.94 s in a quiet room (scripts/bench_live.py,
# which does not tell the backlog from the endpointing's part: babble keeps a turn open longer too); a short file cut
# tight waits for it at its end. End of audio -> intent over
# the benchmark's five conditions, clips cut tight (20 sentences, one-off): p50 / p95 34 / 59 ms deciding at
# GATE_SECONDS, 49 / 66 ms holding up to 0.75 s, 45 / 68 ms up to 1 s (the longest 95 and 327 ms: a short sentence in
# babble).
ROOM_NOISE_RMS = 150.0
STEADY_NOISE_DB = 9.0
GATE_SECONDS = 0.25
LONGEST_HOLD_SECONDS = 1.0


class Denoiser:
    """RNNoise over 16-bit pieces at SAMPLE_RATE, for the whole session: it keeps learning the room's noise from turn
    to turn. Call start() before each turn and flush() after its last piece."""

    def __init__(self):
        from pyrnnoise import RNNoise

        self.rnnoise = RNNoise(SAMPLE_RATE)

    def start(self) -> None:
        self.rnnoise.reset()  # its resamplers, which flush() ends; the network keeps what it learned

    def feed(self, samples: np.ndarray, last: bool = False) -> np.ndarray:
        """The denoised audio so far: RNNoise works at 48 kHz in 10 ms frames, so a little is held until the next piece."""
        chunk = samples.astype(np.float32) / 32768
        frames = [frame[:, 0] for _, frame in self.rnnoise.process_chunk(chunk, last)]
        out = np.concatenate(frames) if frames else np.zeros(0, dtype=np.float32)
        return np.clip(np.round(out * 32768), -32768, 32767).astype("<i2")

    def flush(self) -> np.ndarray:
        return self.feed(np.zeros(0, dtype="<i2"), last=True)


def load_denoiser() -> Denoiser | None:
    """None where RNNoise cannot load (its package or library missing or broken): the room's noise then stays in,
    and everything else works as before."""
    try:
        return Denoiser()
    except (ImportError, OSError):
        return None


class NoiseGate:
    """One turn's audio on its way to the decoders: its start is held back until the room is measured (ROOM_NOISE_RMS,
    STEADY_NOISE_DB, LONGEST_HOLD_SECONDS), then everything passes on, through the denoiser when the room is noisy,
    untouched when not (or when there is no denoiser)."""

    def __init__(self, denoiser: Denoiser | None):
        self.denoiser = denoiser
        self.held: list[np.ndarray] = []
        self.noisy: bool | None = None if denoiser else False  # None: not yet measured

    def feed(self, samples: np.ndarray) -> list[np.ndarray]:
        """The pieces to decode now (none while the start is held back)."""
        if self.noisy is None:
            self.held.append(samples)
            return self._release(room_is_noisy(np.concatenate(self.held), ended=False))
        return _nonempty([self._passed(samples)])

    def finish(self) -> list[np.ndarray]:
        """What is left to decode at the end of the turn."""
        pieces = self._release(room_is_noisy(np.concatenate(self.held), ended=True)) if self.held else []
        if self.noisy:
            pieces.append(self.denoiser.flush())
        return _nonempty(pieces)

    def _release(self, noisy: bool | None) -> list[np.ndarray]:
        """All that was held, once the room is known."""
        if noisy is None:
            return []
        self.noisy = noisy
        if noisy:
            self.denoiser.start()
        held, self.held = self.held, []
        return _nonempty([self._passed(samples) for samples in held])

    def _passed(self, samples: np.ndarray) -> np.ndarray:
        return self.denoiser.feed(samples) if self.noisy else samples


def room_is_noisy(start: np.ndarray, ended: bool) -> bool | None:
    """Whether the room is noisy, from the start of a turn held so far; None while that does not tell yet."""
    loudness = frame_loudness(start)
    if len(loudness) == 0:
        return False if ended else None  # too short to measure: nothing to take out
    if float(loudness.min()) <= ROOM_NOISE_RMS:
        return False
    if ended or len(start) >= LONGEST_HOLD_SECONDS * SAMPLE_RATE:
        return True  # loud all through: noise, or speech over it
    gate = int(GATE_SECONDS * SAMPLE_RATE)
    if len(start) >= gate and signal_to_noise_db(loudness[: gate // LOUDNESS_FRAME]) <= STEADY_NOISE_DB:
        return True  # a steady noise before the speech
    return None


def _nonempty(pieces: list[np.ndarray]) -> list[np.ndarray]:
    """Pieces the decoders can take: the denoiser sometimes has nothing to hand back yet."""
    return [piece for piece in pieces if len(piece)]
