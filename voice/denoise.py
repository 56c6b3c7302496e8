"""Noise removal before decoding, in a noisy room only.

PocketSphinx's acoustic model loses most of what is said over a fan or a shower: at 10 dB of steady noise it
understood a third of flite's sentences (voices built from recorded speech). RNNoise (xiph.org's small recurrent
network, trained on real speech and real noise) removes that noise as the audio arrives, 10 ms at a time. It is
not used in a quiet room, where it only costs: espeak-ng's formant voices lose words to it, as it takes part of
their synthetic sound for noise. Which room it is, is measured at the start of each turn, in the quiet the
microphone hands over before the speech (voice/audio.py Endpointing.lead_in); only steady noise counts, so other
voices (a television, people talking) and speech at the very start of an audio file are left as they are.
"""

from __future__ import annotations

import numpy as np

from .audio import SAMPLE_RATE, frame_loudness, signal_to_noise_db

# The room is noisy when the quietest 16 ms frame of a turn's first GATE_SECONDS is louder than ROOM_NOISE_RMS (on the
# 16-bit scale) and the frames are steady, their loudest within STEADY_NOISE_DB of their quietest (voice/audio.py
# signal_to_noise_db: the 90th percentile over the 10th). In the quiet before a turn that is the room's steady noise:
# pink noise 30 dB under espeak-ng's speech measures 51 to 98, 20 dB under it 160 to 370, 10 dB under it 520 to
# 1180, with a spread of 9.4 dB at most (white noise 1.5). A turn that starts with its speech, with no quiet before
# it (an audio file cut tight), is measured in its speech instead: 74 of 199 clean development sentences in
# espeak-ng's voices have no frame under 150 in their first 0.25 s, but all of them spread 9.5 dB or more.
ROOM_NOISE_RMS = 150.0
STEADY_NOISE_DB = 9.0
GATE_SECONDS = 0.25


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
    """One turn's audio on its way to the decoders: the first GATE_SECONDS are held back to measure the room
    (ROOM_NOISE_RMS, STEADY_NOISE_DB), then everything passes on, through the denoiser when the room is noisy,
    untouched when not (or when there is no denoiser)."""

    def __init__(self, denoiser: Denoiser | None):
        self.denoiser = denoiser
        self.held: list[np.ndarray] = []
        self.noisy: bool | None = None  # not yet measured

    def feed(self, samples: np.ndarray) -> list[np.ndarray]:
        """The pieces to decode now (none while the start is held back)."""
        if self.noisy is None:
            self.held.append(samples)
            if sum(map(len, self.held)) < GATE_SECONDS * SAMPLE_RATE:
                return []
            return self._measure()
        return _nonempty([self._passed(samples)])

    def finish(self) -> list[np.ndarray]:
        """What is left to decode at the end of the turn."""
        pieces = self._measure() if self.noisy is None else []
        if self.noisy:
            pieces.append(self.denoiser.flush())
        return _nonempty(pieces)

    def _measure(self) -> list[np.ndarray]:
        loudness = frame_loudness(np.concatenate(self.held)) if self.held else np.zeros(0)
        self.noisy = (self.denoiser is not None and bool(len(loudness)) and float(loudness.min()) > ROOM_NOISE_RMS
                      and signal_to_noise_db(loudness) <= STEADY_NOISE_DB)
        if self.noisy:
            self.denoiser.start()
        held, self.held = self.held, []
        return _nonempty([self._passed(samples) for samples in held])

    def _passed(self, samples: np.ndarray) -> np.ndarray:
        return self.denoiser.feed(samples) if self.noisy else samples


def _nonempty(pieces: list[np.ndarray]) -> list[np.ndarray]:
    """Pieces the decoders can take: the denoiser sometimes has nothing to hand back yet."""
    return [piece for piece in pieces if len(piece)]
