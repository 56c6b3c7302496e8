"""The tuning audio decoded and judged at several rejection thresholds: what the constants of voice/recognize.py are
chosen by, on sentences the benchmark's report never uses (tests/data/tuning_set.tsv and off_topic_tuning.txt).

Both voice families (espeak-ng's and flite's, taking turns within each) are heard clean and at 10 dB pink, and every other
sentence also at 20 dB pink and in 10 dB babble (the threshold rises with the noise, NOISY_ROOM_RAISE), with the quiet
the endpointing keeps around a turn, one family per core. Right and wrong count the intent, as the benchmark does.
Change a constant, run this, compare.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import Section, show  # noqa: E402
from bench_audio import babble_noise  # noqa: E402
from tests.audio_fixtures import FLITE_VOICES, VOICES, speak  # noqa: E402
from tests.test_understand import load_dev_set  # noqa: E402
from trials import decode, in_a_second_process, noisy, outcomes, with_quiet_around  # noqa: E402
from voice.content import load_content  # noqa: E402
from voice.recognize import MIN_SCORE, NOISY_ROOM_RAISE, Recognizer  # noqa: E402
from voice.understand import Understander  # noqa: E402

DATA = ROOT / "tests" / "data"
FAMILIES = {"espeak-ng": VOICES, "flite": FLITE_VOICES}
# (name, signal-to-noise ratio in dB or None, noise, every n-th sentence): the last two take half the time.
CONDITIONS = (("clean", None, None, 1), ("20 dB pink", 20, "pink", 2), ("10 dB pink", 10, "pink", 1),
              ("10 dB babble", 10, "babble", 2))
THRESHOLDS = tuple(sorted({-12.0, -11.0, -10.0, -9.0, -8.0, -7.0, -6.0, MIN_SCORE}))


def tuning_rows(every: int) -> list[tuple[str | None, str]]:
    """(intent or None for off-topic, text): the tuning set, then the off-topic tuning sentences; every n-th row."""
    rows = [(intent, text) for intent, _, text in load_dev_set(DATA / "tuning_set.tsv")]
    rows += [(None, line.strip()) for line in (DATA / "off_topic_tuning.txt").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    return rows[::every]


def decode_family(understander: Understander, voices, rows, directory: Path, babble) -> dict:
    """(condition -> [(the evidence by intent name, intent said)]) for one voice family, one recognizer throughout."""
    recognizer = Recognizer(understander, min_score=float("-inf"))
    spoken = with_quiet_around(
        [(intent, speak(text, directory, voice=voices[i % len(voices)])) for i, (intent, text) in enumerate(rows)])
    scored = {}
    for condition, snr, kind, every in CONDITIONS:
        for intent, clip in noisy(spoken, snr, kind, babble)[::every]:
            scored.setdefault(condition, []).append((decode(recognizer, clip)[0], intent))
    recognizer.close()
    return scored


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--every", type=int, default=1, help="only every n-th sentence (2: about half the time)")
    args = parser.parse_args()
    understander = Understander(load_content())
    rows = tuning_rows(max(1, args.every))
    directory = Path(tempfile.mkdtemp(prefix="backcare-tune-"))
    babble = babble_noise([row for row in load_dev_set() if row[0] is None], directory)  # other sentences than the ones judged
    (first, first_voices), (second, second_voices) = FAMILIES.items()
    waiting = in_a_second_process(lambda: decode_family(understander, second_voices, rows, directory, babble))
    scored = {first: decode_family(understander, first_voices, rows, directory, babble), second: waiting()}

    names = [condition for condition, *_ in CONDITIONS]
    section = Section("Tuning audio", ["min score"] + [f"{family} {name}" for family in FAMILIES for name in names] + ["all"])
    for threshold in THRESHOLDS:
        cells = [_cell(scored[family][name], threshold) for family in FAMILIES for name in names]
        section.rows.append([f"{threshold:g}" + (" (used)" if threshold == MIN_SCORE else "")]
                            + [" / ".join(map(str, cell)) for cell in cells + [tuple(map(sum, zip(*cells)))]])
    in_scope = sum(intent is not None for intent, _ in rows)
    section.notes.append(f"Each cell: in-scope clips right / given a wrong intent (of {in_scope}, or half that at 20 dB pink and in "
                         f"babble) / off-topic clips given an intent (of {len(rows) - in_scope}, or half). The min score is the "
                         f"threshold in a quiet room; it rises by up to {NOISY_ROOM_RAISE:g} with the noise in each utterance "
                         f"(voice/recognize.py NOISY_ROOM_RAISE). Voices taking turns: {', '.join(VOICES + FLITE_VOICES)}.")
    show(section)
    return 0


def _cell(values, threshold: float) -> tuple[int, int, int]:
    """In-scope clips right, in-scope clips given a wrong intent, off-topic clips given an intent."""
    judged = list(zip(outcomes(values, threshold), (value[-1] for value in values)))
    right = sum(is_right for (is_right, _), said in judged if said is not None)
    wrong = sum(is_wrong for (_, is_wrong), said in judged if said is not None)
    taken = sum(is_wrong for (_, is_wrong), said in judged if said is None)
    return right, wrong, taken


if __name__ == "__main__":
    sys.exit(main())
