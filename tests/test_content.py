"""The content pack: the bundled one is valid and faithful to the article; every kind of mistake is reported as file:line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from voice.cli import main
from voice.content import DEFAULT_DIR, FILES, INTENT_NAMES, OUT_OF_SCOPE, ContentError, load_content


@pytest.fixture(scope="module")
def content():
    return load_content()


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    """A writable copy of the bundled content to break."""
    for name in FILES:
        shutil.copy(DEFAULT_DIR / name, tmp_path / name)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text not found in {path.name}: {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems(directory: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_content(directory)
    return [str(p) for p in caught.value.problems]


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_every_intent_has_templates(content):
    assert set(content.intents.intents) == set(INTENT_NAMES) | {OUT_OF_SCOPE}


def test_article_facts_are_exact(content):
    massage = content.guide_named("massage")
    assert [s.seconds for s in massage.steps] == [60, 60, 60, 120]
    compress = content.guide_named("compress")
    assert (compress.minutes.default, compress.minutes.low, compress.minutes.high) == (15, 15, 20)
    assert compress.steps[0].seconds == 15 * 60
    rest = " ".join(s.text for s in content.guide_named("rest").steps)
    assert "pillow between your legs" in rest and "thin pillow under your knees" in rest


def test_frequent_answers_have_two_wordings_of_listenable_length(content):
    for answer in content.answers:
        if answer.intent != "red_flag" or answer.when:
            assert len(answer.texts) >= 2, answer.intent
        for text in answer.texts:
            assert 8 <= len(text.split()) <= 45, (answer.intent, text)


def test_every_warning_symptom_has_its_own_advice(content):
    from voice.content import SLOT_VALUES

    for symptom in SLOT_VALUES["symptom"]:
        answer = content.answer_for("red_flag", {"symptom": symptom})
        assert answer.when == (("symptom", symptom),)
        assert all("doctor" in t or "medical" in t for t in answer.texts), symptom


def test_fingerprint_changes_with_content(pack):
    before = load_content(pack).fingerprint
    edit(pack / "dialogue.yaml", "Carrying on.", "On we go.")
    assert load_content(pack).fingerprint != before


BROKEN = [
    # (file, old, new, expected message fragment, line needle or None for line 1)
    ("intents.yaml", "  next:\n", "  nexxt:\n", "unknown intent 'nexxt'", "nexxt:"),
    ("intents.yaml", '"time left"', '"time (left"', "bad template syntax", "time (left"),
    ("intents.yaml", '"slow down"', '"slow {nothing} down"', "unknown list {nothing}", "slow {nothing} down"),
    ("intents.yaml", "  - for now\n", "  - For Now!\n", "endings: expected lower-case words", "For Now!"),
    ("intents.yaml", "          cause: muscle_stiffness\n", "          cause: muscle_stifness\n", "fixed slot cause: muscle_stifness",
     "muscle_stifness"),
    ("intents.yaml", 'unpause: "AH N P AO Z"', 'unpause: "uhn pause"', "pronunciation of 'unpause'", "uhn pause"),
    ("answers.yaml", "  - intent: ask_exercise\n", "  - intent: ask_exercize\n", "unknown intent 'ask_exercize'", "ask_exercize"),
    ("answers.yaml", "  - intent: ask_clinic\n", "  - intent: ask_exercise\n", "duplicate answer for 'ask_exercise'", None),
    ("guides.yaml", "        seconds: 120\n", "        seconds: -5\n", "out of range", "seconds: -5"),
    ("guides.yaml", "        seconds: 120\n", "        seconds: 36000\n", "out of range", "seconds: 36000"),
    ("guides.yaml", "        seconds: 120\n", "        seconds: two\n", "expected a number", "seconds: two"),
    ("guides.yaml", "    intent: guide_massage\n", "    intent: guide_masage\n", "unknown intent 'guide_masage'", "guide_masage"),
    ("guides.yaml", "  rest:\n", "  massage:\n", "duplicate name 'massage'", None),
    ("dialogue.yaml", "  paused:\n", "  pausd:\n", "unexpected key 'pausd'", "pausd:"),
    ("dialogue.yaml", '"{seconds} seconds left in this step."', '"{secs} seconds left."', "unknown placeholder {secs}", "{secs}"),
    ("dialogue.yaml", "lines:\n", "lines: [\n", "malformed YAML", None),
]


@pytest.mark.parametrize("name,old,new,message,needle", BROKEN, ids=[b[3] for b in BROKEN])
def test_each_mistake_is_reported_with_file_and_line(pack, name, old, new, message, needle):
    edit(pack / name, old, new)
    found = problems(pack)
    matching = [p for p in found if message in p]
    assert matching, found
    assert matching[0].startswith(f"{pack / name}:")
    if needle is not None:
        assert re.match(rf".*:{line_of(pack / name, needle)}: ", matching[0]), matching[0]


def test_missing_answer_is_reported(pack):
    text = (pack / "answers.yaml").read_text(encoding="utf-8")
    start = text.index("  - intent: ask_clinic")
    end = text.index("  - intent: red_flag")
    (pack / "answers.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    assert any("missing answer for intent 'ask_clinic'" in p for p in problems(pack))


def test_empty_and_non_utf8_files(pack):
    (pack / "answers.yaml").write_text("", encoding="utf-8")
    (pack / "guides.yaml").write_bytes("guides:\n  caf\xe9: 1\n".encode("latin-1"))
    found = problems(pack)
    assert any(p.startswith(f"{pack / 'answers.yaml'}:1: file is empty") for p in found), found
    assert any(p.startswith(f"{pack / 'guides.yaml'}:2: not UTF-8") for p in found), found


def test_wrong_types(pack):
    edit(pack / "guides.yaml", "    steps:\n      - say: \"First,", "    steps: lots\n    x:\n      - say: \"First,")
    found = problems(pack)
    assert any("expected `steps:` with at least one step" in p for p in found), found


def test_validate_lists_every_mistake_and_exits_1(pack, capsys):
    edit(pack / "intents.yaml", "  next:\n", "  nexxt:\n")
    edit(pack / "guides.yaml", "        seconds: 120\n", "        seconds: -5\n")
    assert main(["validate", str(pack)]) == 1
    err = capsys.readouterr().err
    assert "nexxt" in err and "out of range" in err
    assert "Traceback" not in err


def test_validate_accepts_the_bundled_content(capsys):
    assert main(["validate"]) == 0
    assert "valid" in capsys.readouterr().out


def test_start_up_refuses_broken_content_in_one_line_per_problem(pack, capsys):
    edit(pack / "guides.yaml", "        seconds: 120\n", "        seconds: -5\n")
    assert main(["--content", str(pack), "understand", "hello"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "guides.yaml" in err[0] and "Traceback" not in err[0]


def test_a_line_made_before_it_existed_is_taken_from_the_bundled_content(pack, capsys):
    """Content written for an older version keeps working: only the new line is borrowed, and that is said."""
    edit(pack / "dialogue.yaml", '  wake_hint:\n    - "Whenever I have been quiet a while, say {wake} first, then your question."\n'
         '    - "If I have been quiet for a bit, start with {wake}, then ask."\n', "")
    edit(pack / "dialogue.yaml", "Thank you. I have learned your voice", "Thanks. I know your voice now")
    own = load_content(pack)
    assert own.lines.wake_hint == load_content().lines.wake_hint
    assert own.lines.enroll_done[0].startswith("Thanks. I know your voice now")
    assert len(own.notices) == 1 and "dialogue.yaml" in own.notices[0] and "'wake_hint'" in own.notices[0]
    assert main(["--content", str(pack), "understand", "next"]) == 0
    assert "'wake_hint'" in capsys.readouterr().err


def test_a_misspelt_line_is_still_a_mistake_though_the_bundled_one_is_borrowed(pack, content):
    assert content.notices == ()
    edit(pack / "dialogue.yaml", "  enroll_done:\n", "  enroll_dune:\n")
    assert [p for p in problems(pack) if "unexpected key 'enroll_dune'" in p]


def test_validate_names_template_words_the_recognizer_cannot_hear(pack, capsys):
    edit(pack / "intents.yaml", '          - "next [step|one|please]"\n',
         '          - "next [step|one|please]"\n          - "zorblefrax step"\n')
    assert main(["validate", str(pack)]) == 1
    err = capsys.readouterr().err
    assert "intents.yaml" in err and "zorblefrax" in err and "step" not in err


@pytest.mark.parametrize("where", ["missing", "intents.yaml"])
def test_a_content_path_that_is_no_directory_is_one_problem_not_one_per_file(pack, where, capsys):
    found = problems(pack / where)
    assert len(found) == 1 and "directory" in found[0] and str(pack / where) in found[0]
    assert main(["validate", str(pack / where)]) == 1
    assert len(capsys.readouterr().err.splitlines()) == 1
