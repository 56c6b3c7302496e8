"""The audio part of the benchmark: the development set spoken by espeak-ng voices at three speeds, with white,
pink and babble noise at 20, 10 and 5 dB, and by flite's voices (built from recordings of real speakers), through
our recognizer and through SpeechRecognition's stock `recognize_sphinx` (open vocabulary, model loaded per
call), both followed by the same understanding. Speed is a step of its own (bench_audio_speed), timed before
the accuracy runs fill both cores.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.audio_fixtures import FLITE_VOICES, speak, with_noise  # noqa: E402
from tests.test_understand import BLIND_SET, load_dev_set  # noqa: E402
from trials import decode, in_a_second_process, noisy, outcomes, with_quiet_around  # noqa: E402
from voice.audio import KEPT_QUIET_SECONDS, SAMPLE_RATE, AudioClip, Endpointing, pink_noise  # noqa: E402
from voice.recognize import (CHUNK_SECONDS, MIN_SCORE, NOISY_ROOM_RAISE, NOISY_ROOM_SNR_DB, QUIET_ROOM_SNR_DB,  # noqa: E402
                             WAKE_MIN_SCORE, Evidence, Recognizer)

WAKE = "hey coach"
MICROPHONE = "clean, with the quiet around a turn"
STOCK_CONDITIONS = ("clean", "off-topic", "10 dB pink")  # of the held-out set: the stock path is slow
CONDITIONS = [("clean", None, None)] + [(f"{snr} dB {kind}", snr, kind) for snr in (20, 10, 5)
                                        for kind in ("white", "pink", "babble")]
# Clean, every noise level and every kind of noise: where the stock path (about 1.4 s a clip) and the timing runs go.
SAMPLED_CONDITIONS = ("clean", "20 dB white", "10 dB pink", "10 dB babble", "5 dB white")
SPEED = 150  # words per minute, every row's but the speed rows'
SPEEDS = (120, 180)  # the development set also said slower and faster, clean


def bench_audio(content, understander, quick: bool, docs: Path):
    from bench import Section

    rng = random.Random(5)
    rows = load_dev_set()
    in_scope = [r for r in rows if r[0]]
    off_topic = [r for r in rows if r[0] is None]
    rng.shuffle(in_scope)
    rng.shuffle(off_topic)
    in_scope = in_scope[: 8 if quick else 120]
    off_topic = off_topic[: 6 if quick else 60]
    templates = _template_sentences(content, rng, 8 if quick else 80)
    blind = load_dev_set(BLIND_SET)
    rng.shuffle(blind)
    blind_in_rows = [r for r in blind if r[0]][: 8 if quick else 120]
    blind_off_rows = [r for r in blind if not r[0]][: 6 if quick else 60]
    voices = ["en-us+m3"] if quick else ["en-us+m3", "en-us", "en+f3"]
    directory = Path(tempfile.mkdtemp(prefix="backcare-bench-audio-"))
    babble = babble_noise(off_topic, directory)
    # flite's voices on the other core meanwhile, with a recognizer of their own. Its results are the same as decoded
    # here after the rest, figure for figure (checked on a full run). Nothing here is timed: see bench_audio_speed.
    flite = in_a_second_process(lambda: _flite_voices(understander, [in_scope, off_topic, blind_in_rows, blind_off_rows],
                                                      babble, directory, quick))
    # No rejection threshold while decoding: each result keeps its score, whether the n-gram decoder
    # agreed, the request it and the open-vocabulary decoder both heard and any warning symptom it heard, so the report can show what any threshold would give; the
    # headline figures apply the recognizer's own MIN_SCORE.
    recognizer = Recognizer(understander, min_score=float("-inf"))

    scored = {}  # (system, condition) -> [(the evidence by intent name, intent said)...]
    def say(index, text, speed=SPEED):  # the voices take turns
        return speak(text, directory, voice=voices[index % len(voices)], speed=speed)

    for speed in SPEEDS:
        for intent, clip in [(intent, say(i, text, speed)) for i, (intent, _, text) in enumerate(in_scope)]:
            scored.setdefault(("ours", _at_speed(speed)), []).append((decode(recognizer, clip)[0], intent))
    spoken = [(intent, say(i, text)) for i, (intent, _, text) in enumerate(in_scope)]
    spoken_templates = [(intent, say(i, text)) for i, (intent, text) in enumerate(templates)]
    spoken_off_topic = [(None, say(i, text)) for i, (_, _, text) in enumerate(off_topic)]
    # One condition at a time, as in one room: the decoder's running cepstral mean settles to it (measured
    # interleaved, every clean clip came right after a 5 dB one and clean accuracy fell from 38% to 31%).
    for name, snr, kind in CONDITIONS:
        for index, (intent, clip) in enumerate(noisy(spoken, snr, kind, babble)):
            scored.setdefault(("ours", name), []).append((decode(recognizer, clip)[0], intent))
            if name in SAMPLED_CONDITIONS and (not quick or index < 2):
                scored.setdefault(("stock", name), []).append(_as_heard(_stock(understander, clip)[0], intent))
        if name in ("clean", "10 dB pink"):
            for intent, clip in noisy(spoken_templates, snr, kind, babble):
                heard, _, _ = decode(recognizer, clip)
                scored.setdefault(("templates", name), []).append((heard, intent))
            off = "off-topic" if snr is None else f"off-topic, {name}"
            for index, (_, clip) in enumerate(noisy(spoken_off_topic, snr, kind, babble)):
                heard, _, _ = decode(recognizer, clip)
                scored.setdefault(("ours", off), []).append((heard, None))
                if snr is None and (not quick or index < 2):
                    scored.setdefault(("stock", "off-topic"), []).append(_as_heard(_stock(understander, clip)[0], None))
    # The held-out blind set, never tuned on: clean (in-scope, then off-topic) and at 10 dB pink (the same).
    blind_in = [(intent, say(i, text)) for i, (intent, _, text) in enumerate(blind_in_rows)]
    blind_off = [(None, say(i, text)) for i, (_, _, text) in enumerate(blind_off_rows)]
    for name, clips in (("clean", blind_in), ("off-topic", blind_off), ("10 dB pink", noisy(blind_in, 10, "pink", babble)),
                        ("off-topic, 10 dB pink", noisy(blind_off, 10, "pink", babble)),
                        (MICROPHONE, with_quiet_around(blind_in)),
                        (f"off-topic, {MICROPHONE}", with_quiet_around(blind_off))):
        for index, (intent, clip) in enumerate(clips):
            scored.setdefault(("blind", name), []).append((decode(recognizer, clip)[0], intent))
            if name in STOCK_CONDITIONS and (not quick or index < 2):
                scored.setdefault(("blind stock", name), []).append(_as_heard(_stock(understander, clip)[0], intent))
    # Steady noise alone, as from a fan or a shower switched on after calibration: nothing may be taken from it.
    for clip in _noises(quick):
        scored.setdefault(("ours", "noise"), []).append((decode(recognizer, clip)[0], None))
        scored.setdefault(("stock", "noise"), []).append(_as_heard(_stock(understander, clip)[0], None))
    recognizer.close()
    flite, flite_scored = flite()
    scored.update(flite_scored)
    results = {key: [right for right, _ in outcomes(values)] for key, values in scored.items()}

    accuracy = Section("Audio intent accuracy (development set spoken by espeak-ng)",
                       ["condition", "ours: right", "ours: wrong intent", "stock recognize_sphinx: right",
                        "stock: wrong intent"])
    rows = [(name, ("ours", name), ("stock", name)) for name, _, _ in CONDITIONS]
    rows += [(_at_speed(speed), ("ours", _at_speed(speed)), None) for speed in SPEEDS]
    rows += [(f"template sentences, {name}", ("templates", name), None) for name in ("clean", "10 dB pink")]
    rows += [(f"{name} speech given an intent (false accepts)", ("ours", name), ("stock", name))
             for name in ("off-topic", "off-topic, 10 dB pink")]
    rows += [(f"held-out blind set, {name}", ("blind", name), ("blind stock", name)) for name in ("clean", "10 dB pink", MICROPHONE)]
    rows += [(f"held-out blind set, {name} given an intent", ("blind", name), ("blind stock", name))
             for name in ("off-topic", "off-topic, 10 dB pink", f"off-topic, {MICROPHONE}")]
    rows += [("steady noise alone given an intent", ("ours", "noise"), ("stock", "noise"))]
    accuracy.rows += [_accuracy_row(scored, label, *keys) for label, *keys in rows]
    accuracy.notes.append(f"Voices: {', '.join(voices)} at {SPEED} words per minute (the speed rows: {' and '.join(map(str, SPEEDS))}); {len(in_scope)} in-scope and "
                          f"{len(off_topic)} off-topic development-set utterances (written by us; the templates were tuned on "
                          f"them), and {len(templates)} sentences sampled from the templates (what the grammar is "
                          f"built for). The held-out blind set ({len(blind_in)} in-scope and {len(blind_off)} off-topic "
                          f"rows of tests/data/blind_set.tsv, same voices) was written without sight of the templates "
                          f"and is never tuned on. The synthetic clips start the moment speech does; \"{MICROPHONE}\" adds the quiet "
                          f"SpeechRecognition's endpointing hears around a turn ({Endpointing().lead_in:g} s before, "
                          f"{Endpointing().end_silence:g} s after) and cuts it to the {KEPT_QUIET_SECONDS:g} s the microphone hands over "
                          f"(voice/audio.py trim_quiet), as the live loop and --input-audio hear it. Rejection threshold {MIN_SCORE:g} on the score (voice/recognize.py MIN_SCORE and utterance_score), up to "
                          f"{NOISY_ROOM_RAISE:g} more in a noisy room (NOISY_ROOM_RAISE: from {QUIET_ROOM_SNR_DB:g} down to "
                          f"{NOISY_ROOM_SNR_DB:g} dB of loud frames over quiet ones in the utterance), or the "
                          f"n-gram decoder agreeing, or it and the open-vocabulary decoder both hearing the same request (OPEN_MIN_CONFIDENCE), or a warning symptom it heard clearly. A wrong intent is an accepted utterance given another intent than the "
                          f"one said (for off-topic speech: any intent). Steady noise: pink and white noise at RMS 300, "
                          f"1000 and 3000, 1, 3 and 8 s long, with no speech in it. Aims: 95% clean, 90% at 10 dB, at "
                          f"most 5% false accepts. The stock path ran on the development set {', '.join(SAMPLED_CONDITIONS)} (it is slow), "
                          f"on the held-out set {', '.join(STOCK_CONDITIONS)}.")
    tradeoff = Section("Rejection threshold trade-off (ours)",
                       ["min score", "development set clean", "development set 10 dB pink",
                        "template sentences clean", "template sentences 10 dB pink", "off-topic false accepts",
                        "off-topic at 10 dB pink: false accepts"])
    thresholds = [(t, True) for t in sorted({float("-inf"), -20, -16, -14, -12, -11, -10, -9, -7, -6, MIN_SCORE})] + [(MIN_SCORE, False)]
    for threshold, ask_ngram in thresholds:
        label = "none" if threshold == float("-inf") else f"{threshold:g}"
        label += " (used)" if threshold == MIN_SCORE and ask_ngram else "" if ask_ngram else ", score alone (no second opinions)"
        row = [label]
        for key in (("ours", "clean"), ("ours", "10 dB pink"), ("templates", "clean"), ("templates", "10 dB pink"),
                    ("ours", "off-topic"), ("ours", "off-topic, 10 dB pink")):
            judged = outcomes(scored[key], threshold, ask_ngram)
            share = sum(wrong if key[1].startswith("off-topic") else right for right, wrong in judged) / len(judged)
            row.append(f"{share:.0%}")
        tradeoff.rows.append(row)
    tradeoff.notes.append("A result counts when its score (voice/recognize.py utterance_score: the grammar's fit against the phone loop "
                          "and against the n-gram decoder, how long the speech lasts, and whether the open-vocabulary decoder "
                          "heard any word of a sentence of three or more) reaches the threshold (in a noisy room, the "
                          f"threshold shown plus up to {NOISY_ROOM_RAISE:g}), "
                          "or when the n-gram decoder was understood to ask for the same thing (a request the n-gram and "
                          "open-vocabulary decoders both heard, and a warning symptom the n-gram "
                          "decoder heard clearly, count at any threshold); a higher threshold "
                          "turns away more off-topic speech and more of ours. The last row is the score alone, without "
                          "the requests the other decoders heard (a warning symptom still counts). The off-topic set is mostly near misses that "
                          "share words with our sentences (\"my back garden needs mowing\").")
    plot = _plot_accuracy(results, docs)
    wake = _wake(understander, [clip for _, clip in spoken + spoken_off_topic], voices, directory, quick)
    return [accuracy, flite, tradeoff, wake], plot


def bench_audio_speed(understander, quick: bool, docs: Path):
    """Latency and real-time factor, timed with nothing else of the benchmark running: the recognizer decodes on
    both cores, and the accuracy runs after it would compete with it."""
    from bench import Section, percentile

    rows = load_dev_set()
    rng = random.Random(7)
    in_scope = [r for r in rows if r[0]]
    off_topic = [r for r in rows if r[0] is None]
    rng.shuffle(in_scope)
    in_scope = in_scope[: 4 if quick else 40]
    voices = ["en-us+m3"] if quick else ["en-us+m3", "en-us", "en+f3"]
    directory = Path(tempfile.mkdtemp(prefix="backcare-bench-speed-"))
    babble = babble_noise(off_topic, directory)
    spoken = [(intent, speak(text, directory, voice=voices[i % len(voices)])) for i, (intent, _, text) in enumerate(in_scope)]
    recognizer = Recognizer(understander)
    ends, fast_ends, quiet_ends, stock_ends = [], [], [], []
    decode_seconds = audio_seconds = 0.0
    for name, snr, kind in CONDITIONS:  # one condition at a time, as in the accuracy runs
        if name not in SAMPLED_CONDITIONS:
            continue
        for _, clip in noisy(spoken, snr, kind, babble):
            ends.append(decode(recognizer, clip, paced=True)[1])
            _, latency, spent = decode(recognizer, clip)
            fast_ends.append(latency)
            decode_seconds += spent
            audio_seconds += clip.seconds
    for _, clip in with_quiet_around(spoken):
        quiet_ends.append(decode(recognizer, clip, paced=True)[1])
    noise_seconds = noise_decode_seconds = 0.0
    for clip in _noises(quick):
        noise_decode_seconds += decode(recognizer, clip)[2]
        noise_seconds += clip.seconds
    recognizer.close()
    for _, clip in spoken:
        stock_ends.append(_stock(understander, clip)[1])
    section = Section("Audio speed", ["measure", "ours", "stock recognize_sphinx"])
    section.rows += [
        ["end of audio -> intent, p50", f"{percentile(ends, 50) * 1000:.0f} ms", f"{percentile(stock_ends, 50) * 1000:.0f} ms"],
        ["end of audio -> intent, p95", f"{percentile(ends, 95) * 1000:.0f} ms", f"{percentile(stock_ends, 95) * 1000:.0f} ms"],
        ["end of audio -> intent, with the quiet around a turn, p50", f"{percentile(quiet_ends, 50) * 1000:.0f} ms", ""],
        ["end of audio -> intent, with the quiet around a turn, p95", f"{percentile(quiet_ends, 95) * 1000:.0f} ms", ""],
        ["end of audio -> intent, p50 / p95, audio fed as fast as it decodes",
         f"{percentile(fast_ends, 50) * 1000:.0f} / {percentile(fast_ends, 95) * 1000:.0f} ms", ""],
        ["real-time factor (decode time / audio time)", f"{decode_seconds / audio_seconds:.2f}", ""],
        ["real-time factor on steady noise alone", f"{noise_decode_seconds / noise_seconds:.2f}", ""],
    ]
    section.notes.append(f"{len(spoken)} development-set utterances (voices {', '.join(voices)} in turn), timed before the "
                         "accuracy runs, with nothing else of the benchmark running. Ours decodes while audio arrives, in the "
                         f"pieces the microphone hands over ({CHUNK_SECONDS * 1000:.0f} ms), each fed when it would arrive "
                         "(the grammar's decoder in this process, the other three in a second one), so only the last piece, "
                         "the end of the utterance and the understanding are counted after the audio ends. Fed as fast as it "
                         "decodes instead, the end also waits for the second process to catch up (it runs behind when the "
                         "audio comes faster than speech). The first two rows: the "
                         f"utterances in {len(SAMPLED_CONDITIONS)} conditions ({', '.join(SAMPLED_CONDITIONS)}), each clip ending with the speech (the last piece is speech: the "
                         "slowest to decode); the next two: the same utterances, clean, with the quiet the endpointing hears "
                         f"around a turn ({Endpointing().lead_in:g} s before, {Endpointing().end_silence:g} s after) cut to the "
                         f"{KEPT_QUIET_SECONDS:g} s the microphone hands over, as the live loop and --input-audio hear them. The stock path decodes the whole utterance after it "
                         "ends, loading its model on every call (the clean clips). Real-time factor on steady noise: the "
                         "noises of the accuracy table; both from the audio fed as fast as it decodes, wall-clock time. Aim: p95 < 100 ms.")
    return [section], _plot_latency(ends, docs)


def _flite_voices(understander, sets, babble, directory, quick):
    """The development and held-out sets again in flite's voices, which sound far more like a person than
    espeak-ng's: what the recognizer does for a human-like voice, not only for a formant synthesizer."""
    from bench import Section

    in_scope, off_topic, blind_in, blind_off = sets
    recognizer = Recognizer(understander, min_score=float("-inf"))  # its running averages start fresh
    scored = {}
    voices = FLITE_VOICES[:1] if quick else FLITE_VOICES

    def voice_of(index):
        """Voices take turns row by row; the figures per voice find each row's voice here too."""
        return voices[index % len(voices)]

    def say(rows):
        return [(intent, speak(text, directory, voice=voice_of(i))) for i, (intent, _, text) in enumerate(rows)]

    dev, blind, blind_off_topic = say(in_scope), say(blind_in), say(blind_off)
    runs = [("flite", "clean", dev, None), ("flite", "off-topic", say(off_topic), None),
            ("flite", "10 dB pink", dev, "pink"), ("flite", "10 dB babble", dev, "babble"),
            ("flite blind", "clean", blind, None), ("flite blind", "off-topic", blind_off_topic, None),
            ("flite blind", "10 dB pink", blind, "pink"), ("flite blind", "off-topic, 10 dB pink", blind_off_topic, "pink"),
            ("flite blind", MICROPHONE, with_quiet_around(blind), None),
            ("flite blind", f"off-topic, {MICROPHONE}", with_quiet_around(blind_off_topic), None)]
    for system, name, clips, kind in runs:
        for index, (intent, clip) in enumerate(noisy(clips, None if kind is None else 10, kind, babble)):
            heard, _, _ = decode(recognizer, clip)
            scored.setdefault((system, name), []).append((heard, intent))
            if name in STOCK_CONDITIONS[:2] and (not quick or index < 2):  # the stock path on clean audio only: it is slow
                scored.setdefault((f"{system} stock", name), []).append(_as_heard(_stock(understander, clip)[0], intent))
    recognizer.close()
    section = Section("Audio intent accuracy (flite voices)", ["condition", "ours: right", "ours: wrong intent",
                                                               "stock recognize_sphinx: right", "stock: wrong intent"])
    for label, system in (("development set", "flite"), ("held-out blind set", "flite blind")):
        section.rows += [_accuracy_row(scored, f"{label}, {name}", (system, name), (f"{system} stock", name))
                         for name in ("clean", "10 dB pink", "10 dB babble", MICROPHONE, "off-topic", "off-topic, 10 dB pink",
                                      f"off-topic, {MICROPHONE}")
                         if (system, name) in scored]
    section.notes.append(f"The same utterances as above, spoken by flite's voices {', '.join(v.removeprefix('flite:') for v in voices)} "
                         "in turn: slt, rms and awb are built from recordings of real speakers (CMU ARCTIC), kal16 from "
                         "diphones. They sound far more like a person than espeak-ng's formant voices, but they are "
                         "still synthetic: no recording of a real voice was available. Off-topic rows count any "
                         "intent as wrong (false accepts). The stock path ran on the clean rows only.")
    clean, pink = (_right_per_voice(scored, voices, voice_of, name) for name in ("clean", "10 dB pink"))
    section.notes.append("Right per voice (development and held-out sets together), clean / 10 dB pink: "
                         + ", ".join(f"{voice.removeprefix('flite:')} {clean[voice]} / {pink[voice]}" for voice in voices) + ".")
    return section, scored


def _at_speed(speed: int) -> str:
    return f"clean, {speed} words per minute"


def _right_per_voice(scored, voices, voice_of, name) -> dict[str, str]:
    """Voice -> "right/said" over the flite development and held-out rows of one condition; voice_of(row index)."""
    counts = {voice: [0, 0] for voice in voices}
    for system in ("flite", "flite blind"):
        for index, (is_right, _) in enumerate(outcomes(scored[(system, name)])):
            tally = counts[voice_of(index)]
            tally[0] += is_right
            tally[1] += 1
    return {voice: f"{right}/{said}" for voice, (right, said) in counts.items()}


def _accuracy_row(scored, label, *keys):
    """One row of an accuracy table: right and wrong intent for each system (off-topic and noise rows: wrong only)."""
    row = [label]
    for key in keys:
        judged = outcomes(scored[key]) if key in scored else []
        if not judged:
            row += ["not run", ""]
            continue
        right, wrong = sum(r for r, _ in judged), sum(w for _, w in judged)
        row += [f"{right}/{len(judged)} = {right / len(judged):.0%}" if not key[1].startswith(("off-topic", "noise")) else "",
                f"{wrong}/{len(judged)} = {wrong / len(judged):.0%}"]
    return row


def _wake(understander, others, voices, directory, quick):
    """An idle assistant with a wake phrase: the phrase must wake it, and nothing else may."""
    from bench import Section

    recognizer = Recognizer(understander, wake=WAKE)
    wakes = [speak(WAKE, directory, voice=voice, speed=speed)
             for voice in voices for speed in ((150,) if quick else (130, 150, 170))]
    section = Section(f'Wake phrase (--wake "{WAKE}")', ["audio", "woke the assistant"])
    for name, snr in (("the wake phrase, clean", None), ("the wake phrase, 10 dB pink", 10)):
        woke = [recognizer.transcribe(clip if snr is None else with_noise(clip, snr, "pink", seed=i), wake=True).text != ""
                for i, clip in enumerate(wakes)]
        section.rows.append([name, f"{sum(woke)}/{len(woke)}"])
    woke = [recognizer.transcribe(clip, wake=True).text != "" for clip in others]
    recognizer.close()
    section.rows.append(["development-set utterances, in-scope and off-topic, clean", f"{sum(woke)}/{len(woke)}"])
    section.notes.append(f"Voices {', '.join(voices)}; the phrase at {'150' if quick else '130, 150 and 170'} words per minute. "
                         f"The wake phrase is a search of its own, scored against the phone loop; threshold {WAKE_MIN_SCORE:g} (WAKE_MIN_SCORE).")
    return section


def _template_sentences(content, rng, count):
    """Random sentences from all templates (hassil's own sampler would give each intent's first template only)."""
    from voice.content import OUT_OF_SCOPE
    from voice.grammar import sample_sentences

    pool = [(i, t) for i, t in sample_sentences(content.intents, 40, seed=rng.randrange(1 << 30)) if i != OUT_OF_SCOPE]
    rng.shuffle(pool)
    return pool[:count]


def _noises(quick: bool):
    import numpy as np

    rng = np.random.default_rng(3)
    for kind in ("pink", "white"):
        for rms in (300, 1000, 3000):
            for seconds in ((1,) if quick else (1, 3, 8)):
                length = seconds * SAMPLE_RATE
                noise = pink_noise(length, rng) if kind == "pink" else rng.standard_normal(length)
                yield AudioClip(np.clip(rms * noise, -32768, 32767).astype("<i2").tobytes())


def _as_heard(intent, said):
    """A stock result in the shape of ours: taken as heard at any threshold, with no second opinion or symptom verdict."""
    return Evidence(intent, float("inf")), said


def _stock(understander, clip):
    import speech_recognition as sr

    audio = sr.AudioData(clip.pcm, 16000, 2)
    start = time.perf_counter()
    try:
        text = sr.Recognizer().recognize_sphinx(audio)
    except sr.UnknownValueError:
        text = ""
    return understander.understand(text).intent, time.perf_counter() - start


def babble_noise(off_topic, directory):
    """Speech-like noise, a television or people talking: six off-topic sentences spoken at once, in two voices."""
    import numpy as np

    clips = [speak(text, directory, voice=v).samples() for (_, _, text), v in zip(off_topic[:6], ["en-us", "en+f3"] * 3)]
    length = max(len(c) for c in clips)
    mix = sum(np.resize(c, length).astype(np.float64) for c in clips)
    return mix


def _figure(size):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=size)


def _save(fig, docs: Path, name: str) -> list[str]:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(docs / name, dpi=90)
    plt.close(fig)
    return [name]


def _plot_accuracy(results, docs: Path) -> list[str]:
    names = [name for name, _, _ in CONDITIONS]
    fig, ax = _figure((8, 4.5))
    for system, label in (("ours", "ours, development set"), ("templates", "ours, template sentences"),
                          ("flite", "ours, development set in flite's voices"),
                          ("stock", "stock recognize_sphinx, development set")):
        # A condition not run is a gap in the line, not a line drawn across it.
        ys = [100 * statistics.mean(results[(system, n)]) if (system, n) in results else float("nan") for n in names]
        ax.plot(range(len(names)), ys, marker="o", label=label)
    ax.set_xticks(range(len(names)), names, rotation=15)
    ax.set_ylabel("intent accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend()
    return _save(fig, docs, "audio_accuracy.png")


def _plot_latency(latencies, docs: Path) -> list[str]:
    fig, ax = _figure((7, 4))
    ax.hist([x * 1000 for x in latencies], bins=40, alpha=0.7, label="ours")
    ax.set_xlabel("end of audio -> intent (ms)")
    ax.set_ylabel("utterances")
    ax.legend()
    return _save(fig, docs, "audio_latency.png")
