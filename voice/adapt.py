"""Adapting the acoustic model to one person's voice. PocketSphinx's model was learned from other people's
recordings; twenty sentences read aloud once (`backcare enroll`) give a linear transform of its sound
means and variances (MLLR, estimated by SphinxTrain's own tools, `bw` and `mllr_solve`), which every decoder then
applies. One transform for the whole model: twenty sentences are too few to estimate more.

SphinxTrain needs the model's mixture weights in full, which PocketSphinx's pip package ships only compressed
(`sendump`), and its model definition as text; both are made here, in a scratch directory, for each enrollment.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable

import numpy as np
import platformdirs

from .audio import SAMPLE_RATE, AudioClip, save_wav
from .content import Content
from .errors import OneLineError
from .grammar import words_of

SPHINXTRAIN = Path("/usr/lib/sphinxtrain")  # where Debian's sphinxtrain package keeps bw and mllr_solve
TOOLS = {"sphinx_fe": "sphinxbase-utils", "pocketsphinx_mdef_convert": "pocketsphinx",
         str(SPHINXTRAIN / "bw"): "sphinxtrain", str(SPHINXTRAIN / "mllr_solve"): "sphinxtrain"}
# Quiet added before and after each recording: bw must find the silence our transcripts start and end with, and
# synthetic or tightly cut recordings have none (with none, 9 of 19 recordings could not be followed).
PAD_SECONDS = 0.25
# The model's front end and streams (its feat.params), as bw must be told them.
FEATURE_OPTIONS = ["-feat", "1s_c_d_dd", "-svspec", "0-12/13-25/26-38", "-cmn", "current", "-agc", "none"]


class AdaptError(OneLineError):
    """Enrollment could not make a transform, or a saved one cannot be used; the message says why in one line."""


def profile_path() -> Path:
    """Where the person's transform is kept: in the user data directory, beside the assistant's state."""
    return Path(platformdirs.user_data_dir("backcare-voice", appauthor=False)) / "voice.mllr"


def saved_profile(warn) -> Path | None:
    """The person's transform, if they enrolled; a damaged one is told to `warn` in one line and not used."""
    path = profile_path()
    if not path.exists():
        return None
    try:
        return check_transform(path)
    except AdaptError as err:
        warn(f"backcare: {err}; listening without it.")
        return None


def enrollment_pronunciations(content: Content) -> list[str]:
    """Dictionary lines for every word of the enrollment sentences (PocketSphinx's, then the content's own); a word
    with none is a content mistake, found before anyone reads a sentence."""
    from .recognize import pronunciations

    lines, missing = pronunciations(content, {word for sentence in content.lines.enroll_sentences for word in words_of(sentence)})
    if missing:
        raise AdaptError("dialogue.yaml: these words of enroll_sentences need a pronunciation under pronunciations: in "
                         "intents.yaml: " + ", ".join(missing))
    return lines


def check_tools() -> None:
    """Before anyone reads a sentence: SphinxTrain's tools are there, or which packages to install, in one line."""
    missing = sorted({package for tool, package in TOOLS.items() if shutil.which(tool) is None})
    if missing:
        raise AdaptError(f"enrollment needs SphinxTrain's tools: apt-get install {' '.join(missing)}")


def learn(recordings: Iterable[tuple[AudioClip, str]], dictionary: list[str], out: Path) -> int:
    """Estimate the transform from (recording, the sentence read) pairs and write it to `out`; returns how many
    recordings it could follow (the others are left out). `dictionary`: the lines of enrollment_pronunciations."""
    check_tools()
    from pocketsphinx import get_model_path

    model = Path(get_model_path()) / "en-us" / "en-us"
    with tempfile.TemporaryDirectory(prefix="backcare-enroll-") as scratch:
        work = Path(scratch)
        names = _write_recordings(recordings, work)
        if not names:
            raise AdaptError("nothing was recorded to learn your voice from")
        trainable = _trainable_model(model, work / "model")
        (work / "dictionary").write_text("".join(f"{line}\n" for line in dictionary), encoding="utf-8")
        _run(["sphinx_fe", "-argfile", str(model / "feat.params"), "-samprate", str(SAMPLE_RATE), "-c", "fileids",
              "-di", ".", "-do", ".", "-ei", "wav", "-eo", "mfc", "-mswav", "yes", "-dither", "yes", "-seed", "1"], work)
        (work / "counts").mkdir()
        # Beams far wider than bw's defaults: with them, most of a voice the model fits badly could not be followed.
        log = _run([str(SPHINXTRAIN / "bw"), "-hmmdir", str(trainable), "-moddeffn", str(trainable / "mdef.txt"),
                    "-ts2cbfn", ".ptm.", *FEATURE_OPTIONS, "-dictfn", "dictionary", "-fdictfn", str(model / "noisedict"),
                    "-ctlfn", "fileids", "-lsnfn", "transcription", "-accumdir", "counts", "-cepdir", ".",
                    "-abeam", "1e-200", "-bbeam", "1e-200"], work)
        followed = len(names) - log.count(" ignored")
        if followed == 0:
            raise AdaptError("none of the recordings could be followed; read each sentence as it is shown, then try again")
        _run([str(SPHINXTRAIN / "mllr_solve"), "-meanfn", str(model / "means"), "-varfn", str(model / "variances"),
              "-outmllrfn", "transform", "-accumdir", "counts"], work)
        check_transform(work / "transform")
        _replace_into(work / "transform", out)
    return followed


def check_transform(path: Path) -> Path:
    """The path, if it holds a transform PocketSphinx can apply: one class, the model's three streams of 13, and
    numbers only. PocketSphinx itself reads a damaged one without complaint and decodes garbage."""
    try:
        numbers = [float(word) for word in path.read_text(encoding="ascii").split()]
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise AdaptError(f"the voice profile {path} cannot be read ({getattr(err, 'strerror', None) or err})") from None
    shape = numbers[:2] + numbers[2::196] if len(numbers) == 2 + 3 * 196 else None  # each stream: 13, then 13 x 13 + 2 x 13
    if shape != [1, 3, 13, 13, 13] or not all(math.isfinite(n) for n in numbers):
        raise AdaptError(f"the voice profile {path} is damaged; run `backcare enroll` again")
    return path


def _replace_into(source: Path, out: Path) -> None:
    """Write next to `out`, then rename: a transform half written (a full disk) never replaces a good one."""
    partial = out.with_name(out.name + ".partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, partial)
        os.replace(partial, out)
    except OSError as err:
        with contextlib.suppress(OSError):  # none was begun when the directory could not be made
            partial.unlink()
        raise AdaptError(f"cannot save the voice profile to {out} ({err.strerror or err})") from None


def _write_recordings(recordings: Iterable[tuple[AudioClip, str]], work: Path) -> list[str]:
    names, transcripts = [], []
    pad = bytes(2 * int(PAD_SECONDS * SAMPLE_RATE))
    for index, (clip, sentence) in enumerate(recordings):
        name = f"s{index:03d}"
        save_wav(AudioClip(pad + clip.pcm + pad), work / f"{name}.wav")
        names.append(name)
        transcripts.append(f"<s> {' '.join(words_of(sentence))} </s> ({name})")
    (work / "fileids").write_text("".join(f"{name}\n" for name in names))
    (work / "transcription").write_text("".join(f"{line}\n" for line in transcripts))
    return names


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


def _run(command: list[str], directory: Path) -> str:
    """Run one of SphinxTrain's tools; its log (they all write to stderr) is returned, or ends the enrollment."""
    done = subprocess.run(command, cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace")
    if done.returncode != 0:
        last = [line for line in done.stderr.splitlines() if "ERROR" in line][-1:] or ["no message"]
        raise AdaptError(f"{Path(command[0]).name} failed: {last[0].strip()}")
    return done.stderr
