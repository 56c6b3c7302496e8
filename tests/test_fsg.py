"""The grammar graph is reduced without changing what it accepts or how it weighs it."""

from collections import defaultdict

from voice.fsg import _read, compile_fsg, reduce_graph

GRAMMAR = """#JSGF V1.0;
grammar test;
public <utterance> = ( my <part> hurts | is my <part> numb | <part> please | stop [ now ] );
<part> = ( leg | foot | back | left leg );
"""


def sentences(start, final, transitions):
    """Every sentence the graph accepts, with its best total log probability."""
    following = defaultdict(list)
    for a, b, logp, word in transitions:
        following[a].append((b, logp, word))
    best = {}

    def walk(state, words, logp):
        if state == final:
            key = " ".join(words)
            best[key] = max(best.get(key, logp), logp)
        for b, step, word in following[state]:
            walk(b, words + ([word] if word else []), logp + step)

    walk(start, [], 0)
    return best


def test_reducing_keeps_every_sentence_and_its_weight_in_fewer_states(tmp_path):
    from pocketsphinx import Jsgf, LogMath

    path = tmp_path / "test.jsgf"
    path.write_text(GRAMMAR)
    logmath = LogMath()
    grammar = Jsgf(str(path))
    full = tmp_path / "full.fsm"
    grammar.build_fsg(grammar.get_rule("test.utterance"), logmath, 1.0).writefile_fsm(str(full))
    start, final, transitions = _read(full.read_text(), logmath)
    reduced = reduce_graph(start, final, transitions)
    assert sentences(*reduced) == sentences(start, final, transitions)
    assert "is my left leg numb" in sentences(*reduced) and "stop now" in sentences(*reduced)
    assert len({s for a, b, _, _ in reduced[2] for s in (a, b)}) < len({s for a, b, _, _ in transitions for s in (a, b)})


def test_the_cached_text_reads_back_as_the_reduced_graph(tmp_path):
    from pocketsphinx import LogMath

    path = tmp_path / "test.jsgf"
    path.write_text(GRAMMAR)
    text = compile_fsg(path, "test.utterance")
    start, final, transitions = _read(text, LogMath())
    accepted = sentences(start, final, transitions)
    assert len(accepted) == 4 * 3 + 2 and "my foot hurts" in accepted and "stop please" not in accepted
