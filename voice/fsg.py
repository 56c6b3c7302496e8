"""The grammar as a small finite-state graph, the form PocketSphinx searches.

PocketSphinx's own JSGF compiler turns our grammar into a graph in which every use of a list or rule is a
copy of it (each `{symptom}` copies the whole symptom list): about 49,000 states and 350,000 transitions.
Decoding time, memory and start-up grew with that size. Here states with the same future (the same
transitions, words and weights to equivalent states) are merged, then states with the same past, until
nothing changes. That is exact: the same sentences with the same weights, in about a fifth of the states.
The decodes are not all identical, because PocketSphinx's search prunes and keeps one history per state:
on 40 held-out clips, 4 sentences and most scores came out slightly different (by up to 2 per frame, both
ways), none of them understood differently.

The graph is cached in the AT&T text format PocketSphinx writes itself (`from to word cost`, cost =
-ln p, `<eps>` for no word), with full precision, and built into a PocketSphinx FsgModel at start.
Weights go in as PocketSphinx's own integer log probabilities: through its .fsg file format they would be
rounded to a multiple of the language weight, and every score compared with MIN_SCORE would shift.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from pathlib import Path

NO_WORD = "<eps>"


def compile_fsg(jsgf: Path, rule: str) -> str:
    """The JSGF grammar's `rule` as a reduced graph, in AT&T text format."""
    from pocketsphinx import Jsgf, LogMath

    logmath = LogMath()
    # The weights are written divided by this language weight: at 1 they come out exactly as a decoder holds them.
    grammar = Jsgf(str(jsgf))
    graph = grammar.build_fsg(grammar.get_rule(rule), logmath, 1.0)
    fd, path = tempfile.mkstemp(suffix=".fsm")
    os.close(fd)
    try:
        graph.writefile_fsm(path)
        start, final, transitions = _read(Path(path).read_text(encoding="utf-8"), logmath)
    finally:
        os.unlink(path)
    start, final, transitions = reduce_graph(start, final, transitions)
    lines = [f"{a} {b} {word or NO_WORD} {-logmath.log_to_ln(logp)!r}" for a, b, logp, word in transitions]
    return "\n".join(lines + [f"{final} 0"]) + "\n"


def _read(text: str, logmath) -> tuple[int, int, list[tuple[int, int, int, str | None]]]:
    """Start state, final state and transitions (from, to, integer log probability, word or None)."""
    transitions, start, final = [], None, None
    unit = logmath.log_to_ln(1)  # one step of PocketSphinx's integer log scale, in natural log
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 2:
            final = int(fields[0])
            continue
        a, b, word, cost = int(fields[0]), int(fields[1]), fields[2], float(fields[3])
        start = a if start is None else start  # PocketSphinx and our writer put the start state's transitions first
        transitions.append((a, b, round(-cost / unit), None if word == NO_WORD else word))
    return start, final, transitions


def reduce_graph(start, final, transitions):
    """Merge states with identical futures, then identical pasts, until the graph stops shrinking."""
    size = None
    while size != len(transitions):
        size = len(transitions)
        start, final, transitions = _merge(start, final, transitions, forward=True)
        start, final, transitions = _merge(start, final, transitions, forward=False)
    return start, final, transitions


def _merge(start, final, transitions, forward: bool):
    """One pass in topological order (the graph has no cycles): a state's class is fixed by whether it ends
    (forward) or begins (backward) the graph, and by its transitions to (from) states already classed."""
    edges, following, waiting = defaultdict(list), defaultdict(list), defaultdict(int)
    for a, b, logp, word in transitions:
        near, far = (a, b) if forward else (b, a)
        edges[near].append((word, logp, far))
        following[far].append(near)
        waiting[near] += 1
    end = final if forward else start
    states = {s for a, b, _, _ in transitions for s in (a, b)}
    ready = [s for s in states if waiting[s] == 0]
    classes, signatures = {}, {}
    while ready:
        state = ready.pop()
        signature = (state == end, frozenset((word, logp, classes[far]) for word, logp, far in edges[state]))
        classes[state] = signatures.setdefault(signature, len(signatures))
        for near in following[state]:
            waiting[near] -= 1
            if not waiting[near]:
                ready.append(near)
    if len(classes) != len(states):
        raise ValueError("the grammar graph has a cycle")
    merged = {(classes[a], classes[b], logp, word) for a, b, logp, word in transitions}
    return classes[start], classes[final], sorted(merged, key=lambda t: (t[0] != classes[start], t[0], t[1], t[3] or "", t[2]))


def load_fsg(path: Path, logmath, lw: float, name: str):
    """The cached graph as a PocketSphinx FsgModel."""
    from pocketsphinx import FsgModel

    start, final, transitions = _read(path.read_text(encoding="utf-8"), logmath)
    model = FsgModel(name, logmath, lw, 1 + max(max(a, b) for a, b, _, _ in transitions))
    words = {}
    for a, b, logp, word in transitions:
        if word is None:
            model.null_trans_add(a, b, logp)
        else:
            if word not in words:
                words[word] = model.word_add(word)
            model.trans_add(a, b, logp, words[word])
    model.set_start_state(start)
    model.set_final_state(final)
    return model
