"""Adapting the acoustic model to one person's voice. PocketSphinx's model was learned from other people's
recordings; twenty sentences read aloud once (`backcare enroll`) give a linear transform of its sound
means (MLLR, estimated by SphinxTrain's own tools, `bw` and `mllr_solve`; the variances are left as they are), which
every decoder then applies. One transform for the whole model: twenty sentences are too few to estimate more.
It is learned from the readings and from copies of them with noise mixed in (NOISY_COPIES_DB): learned in quiet
alone, it fitted the voice in a quiet room and cost accuracy in a noisy one.

SphinxTrain needs the model's mixture weights in full, which PocketSphinx's pip package ships only compressed
(`sendump`), and its model definition as text; both are made here, in a scratch directory, for each enrollment.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
from enum import Enum
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from .audio import SAMPLE_RATE, AudioClip, pink_noise, save_wav, with_noise_under
from .content import Content
from .errors import OneLineError
from .files import replacing, user_cache_directory, user_data_directory
from .grammar import words_of

SPHINXTRAIN = Path("/usr/lib/sphinxtrain")  # where Debian's sphinxtrain package keeps bw and mllr_solve
TOOLS = {"stdbuf": "coreutils", "sphinx_fe": "sphinxbase-utils", "pocketsphinx_mdef_convert": "pocketsphinx",
         str(SPHINXTRAIN / "bw"): "sphinxtrain", str(SPHINXTRAIN / "mllr_solve"): "sphinxtrain"}
# Quiet added before and after each recording: bw must find the silence our transcripts start and end with, and
# synthetic or tightly cut recordings have none (with none, 9 of 19 recordings could not be followed).
PAD_SECONDS = 0.25
# The model's front end and streams (its feat.params), as bw must be told them.
FEATURE_OPTIONS = ["-feat", "1s_c_d_dd", "-svspec", "0-12/13-25/26-38", "-cmn", "current", "-agc", "none"]


# The transform is learned from the readings as read, and again from copies of them with a fan's noise mixed in (pink,
# at these signal-to-noise ratios in dB). From quiet readings alone it cost accuracy in a noisy room (scripts/bench_enroll.py,
# 2026-11-28: espeak-ng's voices 147 -> 124 of 357 held-out clips right at 10 dB pink, flite's 151 -> 125 of 476). With
# the copies (one-off /tmp script, every fourth held-out row, 60 in-scope and 15 off-topic, as shipped -> quiet readings
# -> with copies): en-us+m3 clean 40 -> 45 -> 44, 10 dB pink 33 -> 25 -> 35, 10 dB white (a noise the copies do not
# have) 15 -> 11 -> 20; flite rms clean 52 -> 54 -> 54, pink 19 -> 14 -> 22, white 6 -> 6 -> 8. scripts/bench_enroll.py
# with the copies (docs/benchmark.md): 10 dB pink 147 -> 172 and 151 -> 180; flite's clean off-topic taken 12 -> 15 of 120.
NOISY_COPIES_DB = (10, 15)
COPY = "-"  # in a recording's name, between the reading's and the noise's: s003-10 is s003 at 10 dB


# Fewer sentences than this followed, and nothing is learned: a transform from a handful fits them, not the voice.
MIN_SENTENCES = 10


# A recording is taken for the sentence shown when its fit to that sentence alone, against PocketSphinx's phone loop,
# is at least this (per 10 ms frame, in PocketSphinx's log units, as voice/recognize.py scores a sentence). The
# enrollment sentences in the 7 synthetic voices, as the microphone hands them over (one-off /tmp script,
# 2026-11-28): each read right, -14.3 or better (en+f3's worst; flite's voices 4.8 or better); each voice's
# recordings under another sentence, -30.4 or worse, 136 of 140 with no path at all; the first half of a sentence
# read, no path in 140 of 140. Over a fan (pink noise; en+f3, en-us, slt, rms): at 20 dB, 80 of 80 read right pass
# and 0 of 80 under another sentence; at 10 dB, 78 of 80 (slt's two lost) and 4 of 80.
MIN_READING_FIT = -22.0


class AdaptError(OneLineError):
    """Enrollment could not make a transform, or a saved one cannot be used; the message says why in one line."""


class TooFewFollowed(AdaptError):
    """bw could not follow enough of the recordings: read again, they would fail again."""


def profile_path() -> Path:
    """Where the person's transform is kept: in the user data directory, beside the assistant's state."""
    return user_data_directory() / "voice.mllr"


def saved_profile(warn) -> Path | None:
    """The person's transform, if they enrolled (a copy for this session); a damaged one is told to `warn` in one
    line and not used."""
    path = profile_path()
    try:
        data = path.read_bytes()
        check_transform(path, data)
    except FileNotFoundError:
        return None
    except (OSError, AdaptError) as err:
        message = err if isinstance(err, AdaptError) else f"the voice profile {path} cannot be read ({err.strerror or err})"
        warn(f"backcare: {message}; listening without it.")
        return None
    # The session's own copy: decoders built later in it (see decoders.OpinionProcess._fall_back) must apply the same
    # transform as those built now, whatever `backcare enroll` does to the profile meanwhile.
    copy = user_cache_directory() / f"voice-{hashlib.sha256(data).hexdigest()[:16]}.mllr"
    try:
        if not copy.exists():
            with replacing(copy) as partial:
                partial.write_bytes(data)
        return copy
    except OSError:
        return path


def enrollment_dictionary(content: Content) -> list[str]:
    """Dictionary lines for every word of the enrollment sentences (PocketSphinx's, then the content's own). Too few
    sentences, or a word with no pronunciation, is a content mistake, found before anyone reads a sentence."""
    from .recognize import pronunciations

    sentences = content.lines.enroll_sentences
    if len(sentences) < MIN_SENTENCES:
        raise AdaptError(f"dialogue.yaml: enroll_sentences has {len(sentences)} sentences; at least {MIN_SENTENCES} are needed")
    lines, missing = pronunciations(content, {word for sentence in sentences for word in words_of(sentence)})
    if missing:
        raise AdaptError("dialogue.yaml: these words of enroll_sentences need a pronunciation under pronunciations: in "
                         "intents.yaml: " + ", ".join(missing))
    return lines


class Heard(Enum):
    """What a reading was, for what the person is told: a fan or a hum is not "another sentence"."""

    SENTENCE = "the sentence shown, read whole"
    NOISE = "noise, with no voice in it"
    OTHER = "something else said"


class ReadingCheck:
    """Whether a recording is the sentence shown, read whole: bw would otherwise learn from a cough, half a sentence
    or another one as if it were that sentence (or abort on it). Decoders built once, for the whole enrollment."""

    def __init__(self, content: Content, dictionary: list[str]):
        from pocketsphinx import Decoder, get_model_path

        from .decoders import GRAMMAR_OPTIONS, PHONE_LOOP_OPTIONS

        self.sentences = {sentence: f"s{index}" for index, sentence in enumerate(content.lines.enroll_sentences)}
        phones = Path(get_model_path()) / "en-us" / "en-us-phone.lm.bin"
        try:
            self.phone_loop = Decoder(allphone=str(phones), logfn=os.devnull, **PHONE_LOOP_OPTIONS)
            with tempfile.TemporaryDirectory(prefix="backcare-enroll-") as scratch:
                (Path(scratch) / "dictionary").write_text("".join(f"{line}\n" for line in dictionary), encoding="utf-8")
                (Path(scratch) / "first.gram").write_text(_jsgf(content.lines.enroll_sentences[0]), encoding="utf-8")
                self.sentence = Decoder(dict=str(Path(scratch) / "dictionary"), jsgf=str(Path(scratch) / "first.gram"),
                                        logfn=os.devnull, **GRAMMAR_OPTIONS)
            for sentence, search in self.sentences.items():
                self.sentence.add_jsgf_string(search, _jsgf(sentence))
        except (OSError, RuntimeError) as err:
            raise AdaptError(f"cannot start listening for the sentences: {getattr(err, 'strerror', None) or err}") from None

    def fit(self, clip: AudioClip, sentence: str) -> float:
        """The recording's fit to the sentence; -inf when no path through the sentence fits it at all."""
        self.sentence.activate_search(self.sentences[sentence])
        scores = []
        for decoder in (self.sentence, self.phone_loop):
            decoder.start_utt()
            decoder.process_raw(clip.pcm, False, True)
            decoder.end_utt()
            found = decoder.hyp()
            scores.append(None if found is None else decoder.get_logmath().log(found.score))
        if None in scores:
            return float("-inf")
        return (scores[0] - scores[1]) / max(1, self.sentence.n_frames())

    def __call__(self, clip: AudioClip, sentence: str) -> Heard:
        if self.fit(clip, sentence) >= MIN_READING_FIT:
            return Heard.SENTENCE
        # The phone loop has just heard the same recording: noise is told by its sounds, as the assistant tells it.
        from .decoders import phone_sounds
        from .recognize import sounds_like_noise

        return Heard.NOISE if sounds_like_noise(phone_sounds(self.phone_loop), self.phone_loop.n_frames()) else Heard.OTHER


def _jsgf(sentence: str) -> str:
    return f"#JSGF V1.0;\ngrammar sentence;\npublic <sentence> = {' '.join(words_of(sentence))};\n"


def check_tools() -> None:
    """Before anyone reads a sentence: SphinxTrain's tools are there, or which packages to install, in one line."""
    missing = sorted({package for tool, package in TOOLS.items() if shutil.which(tool) is None})
    if missing:
        raise AdaptError(f"enrollment needs SphinxTrain's tools: apt-get install {' '.join(missing)}")


def learn(recordings: Iterable[tuple[AudioClip, str]], dictionary: list[str], out: Path,
          minimum: int = MIN_SENTENCES) -> int:
    """Estimate the transform from (recording, the sentence read) pairs and write it to `out`; returns how many
    recordings it could follow (the others are left out; fewer than `minimum`, and nothing is written).
    `dictionary`: the lines of enrollment_dictionary."""
    check_tools()
    from pocketsphinx import get_model_path

    model = Path(get_model_path()) / "en-us" / "en-us"
    recordings = list(recordings)
    rng = np.random.default_rng(0)
    named = {f"s{index:03d}": pair for index, pair in enumerate(recordings)}
    named.update({f"{name}{COPY}{snr}": (with_noise_under(clip, pink_noise(len(clip.samples()), rng), snr), sentence)
                  for snr in NOISY_COPIES_DB for name, (clip, sentence) in list(named.items())})
    try:
        with tempfile.TemporaryDirectory(prefix="backcare-enroll-") as scratch:
            work = Path(scratch)
            transcripts = _write_recordings(named, work)
            trainable = _trainable_model(model, work / "model")
            (work / "dictionary").write_text("".join(f"{line}\n" for line in dictionary), encoding="utf-8")
            _run(["sphinx_fe", "-argfile", str(model / "feat.params"), "-samprate", str(SAMPLE_RATE), "-c", "fileids",
                  "-di", ".", "-do", ".", "-ei", "wav", "-eo", "mfc", "-mswav", "yes", "-dither", "yes", "-seed", "1"], work)
            # Beams far wider than bw's defaults: with them, most of a voice the model fits badly could not be followed.
            bw = [str(SPHINXTRAIN / "bw"), "-hmmdir", str(trainable), "-moddeffn", str(trainable / "mdef.txt"),
                  "-ts2cbfn", ".ptm.", *FEATURE_OPTIONS, "-dictfn", "dictionary", "-fdictfn", str(model / "noisedict"),
                  "-ctlfn", "fileids", "-lsnfn", "transcription", "-accumdir", "counts", "-cepdir", ".",
                  "-abeam", "1e-200", "-bbeam", "1e-200"]
            kept = _accumulate(bw, work, transcripts)
            followed = sum(name in kept for name in named if COPY not in name)  # the readings, not their copies
            if followed < minimum:
                raise TooFewFollowed(f"only {followed} of the {len(recordings)} sentences read could be followed, "
                                     f"{minimum} are needed; nothing was changed. Read each sentence as it is shown, "
                                     "then try again")
            _run([str(SPHINXTRAIN / "mllr_solve"), "-meanfn", str(model / "means"), "-varfn", str(model / "variances"),
                  "-outmllrfn", "transform", "-accumdir", "counts"], work)
            check_transform(work / "transform")
            _replace_into(work / "transform", out)
    except OSError as err:  # most likely the scratch directory: a full or read-only temporary directory
        raise AdaptError(f"cannot learn your voice: {err.strerror or err}"
                         + (f" ({err.filename})" if err.filename else "")) from None
    return followed


def _accumulate(bw: list[str], work: Path, transcripts: dict[str, str]) -> set[str]:
    """bw's counts (in work/counts) from the recordings it can follow; returns their names. On some recordings of another
    sentence than the one shown, bw aborts (an assertion in its backward pass) instead of leaving them out: the one
    it was on is then left out, and it runs again on the rest."""
    names = list(transcripts)
    while names:
        (work / "fileids").write_text("".join(f"{name}\n" for name in names))
        (work / "transcription").write_text("".join(f"{transcripts[name]}\n" for name in names))
        shutil.rmtree(work / "counts", ignore_errors=True)
        (work / "counts").mkdir()
        done = _run(["stdbuf", "-o0", *bw], work, check=False)  # unbuffered: what it was on survives an abort
        if done.returncode == 0:  # it says "s011 ignored" of each recording it could not follow
            return set(names) - set(re.findall(r"(\S+) ignored$", done.stderr, flags=re.MULTILINE))
        started = re.findall(r"utt>\s+\d+\s+(\S+)", done.stdout)  # a recording too short to use ends no line
        if done.returncode != -signal.SIGABRT or not started or started[-1] not in names:
            raise _failure(bw, done)  # not about a recording: killed from outside, out of memory, a bad file
        reading = started[-1].split(COPY)[0]  # its noisy copies too: bw would abort on each of them in turn
        names = [name for name in names if name.split(COPY)[0] != reading]
    return set()


def check_transform(path: Path, data: bytes | None = None) -> Path:
    """The path, if it holds (or `data`, read from it, holds) a transform PocketSphinx can apply: one class, the
    model's three streams of 13, and numbers only. PocketSphinx itself reads a damaged one without complaint and
    decodes garbage."""
    try:
        numbers = [float(word) for word in (path.read_bytes() if data is None else data).decode("ascii").split()]
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise AdaptError(f"the voice profile {path} cannot be read ({getattr(err, 'strerror', None) or err})") from None
    shape = numbers[:2] + numbers[2::196] if len(numbers) == 2 + 3 * 196 else None  # each stream: 13, then 13 x 13 + 2 x 13
    if shape != [1, 3, 13, 13, 13] or not all(math.isfinite(n) for n in numbers):
        raise AdaptError(f"the voice profile {path} is damaged; run `backcare enroll` again")
    return path


def _replace_into(source: Path, out: Path) -> None:
    try:
        with replacing(out) as partial:
            shutil.copyfile(source, partial)
    except OSError as err:
        raise AdaptError(f"cannot save the voice profile to {out} ({err.strerror or err})") from None


def _write_recordings(recordings: Mapping[str, tuple[AudioClip, str]], work: Path) -> dict[str, str]:
    """Each recording as a WAV in `work`, listed in work/fileids; returns each one's transcript line, by name."""
    transcripts = {}
    pad = bytes(2 * int(PAD_SECONDS * SAMPLE_RATE))
    for name, (clip, sentence) in recordings.items():
        save_wav(AudioClip(pad + clip.pcm + pad), work / f"{name}.wav")
        transcripts[name] = f"<s> {' '.join(words_of(sentence))} </s> ({name})"
    if not transcripts:
        raise AdaptError("nothing was recorded to learn your voice from")
    (work / "fileids").write_text("".join(f"{name}\n" for name in transcripts))
    return transcripts


def _trainable_model(model: Path, directory: Path) -> Path:
    """A copy of the model as SphinxTrain reads it: the mixture weights uncompressed, the model definition as text."""
    directory.mkdir()
    for name in ("means", "variances", "transition_matrices"):
        (directory / name).symlink_to(model / name)
    _write_mixture_weights(model / "sendump", directory / "mixture_weights")
    _run(["pocketsphinx_mdef_convert", "-text", str(model / "mdef"), str(directory / "mdef.txt")], directory)
    return directory


def _write_mixture_weights(sendump: Path, out: Path) -> None:
    """PocketSphinx's compressed weights (8-bit negative logs, base 1.0001, shifted) as SphinxTrain's float file."""
    data = sendump.read_bytes()
    position = 0

    def string() -> str | None:
        nonlocal position
        length, = struct.unpack_from("<I", data, position)
        position += 4 + length
        return data[position - length: position - 1].decode("ascii") if length else None

    string()  # the title
    header = {}
    while (line := string()) is not None:
        key, _, value = line.partition(" ")
        header[key] = value
    shift = int(header.get("mixw_shift", 10))
    features = int(header["feature_count"])
    densities, senones = struct.unpack_from("<II", data, position)
    position += 8
    quantized = np.frombuffer(data, dtype=np.uint8, count=features * densities * senones, offset=position)
    weights = np.power(1.0001, -(quantized.reshape(features, densities, senones).astype(np.float64) * (1 << shift)))
    weights = weights.transpose(2, 0, 1)  # senone, stream, density
    weights /= weights.sum(axis=2, keepdims=True)
    head = b"s3\nversion 1.0\n"
    head += b" " * (-(len(head) + len(b"endhdr\n")) % 4) + b"endhdr\n"  # the numbers start on a 4-byte boundary
    with out.open("wb") as file:
        file.write(head + struct.pack("=i", 0x11223344) + struct.pack("=IIII", *weights.shape, weights.size))
        file.write(weights.astype("<f4").tobytes())


def _run(command: list[str], directory: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run one of SphinxTrain's tools; if it fails and `check`, the enrollment ends (see _failure)."""
    done = subprocess.run(command, cwd=directory, capture_output=True, text=True, errors="replace")
    if done.returncode != 0 and check:
        raise _failure(command, done)
    return done


def _failure(command: list[str], done: subprocess.CompletedProcess) -> AdaptError:
    """The tool's last error (they log to stderr), or the signal that stopped it."""
    tool = next(Path(word).name for word in command if word != "stdbuf" and not word.startswith("-"))
    if done.returncode < 0:
        return AdaptError(f"{tool} stopped (signal {-done.returncode})")
    last = [line for line in done.stderr.splitlines() if "ERROR" in line][-1:] or ["no message"]
    return AdaptError(f"{tool} failed: {last[0].strip()}")
