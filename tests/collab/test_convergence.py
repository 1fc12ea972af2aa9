"""Convergence as a property: whatever the edits and however their updates travel between editors and
workers (any order, some twice), every copy of a document ends with the same text, and so does the
stored log (written only by the worker each edit reached first), compacted or not."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Text, merge_updates

from quanta.collab import SOURCE, text_of
from quanta.collab._room import Room, RoomHooks
from quanta.collab.models import RoomOptions

EDITORS, WORKERS = 4, 3

Edit = tuple[int, bool, float, str]
"""(editor, whether it deletes, where as a fraction of the length, the text inserted / its length)."""

edits = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=EDITORS - 1),
        st.booleans(),
        st.floats(min_value=0, max_value=1),
        st.text(alphabet="ab\n #", min_size=1, max_size=4),  # ASCII: pycrdt indexes by UTF-8 bytes
    ),
    min_size=1,
    max_size=40,
)


def _edit(text: Text, deletes: bool, where: float, content: str) -> None:
    length = len(text)
    position = round(where * length)
    if deletes and length:
        start = min(position, length - 1)
        del text[start : min(length, start + len(content))]
    else:
        text.insert(position, content)


def _worker() -> Room:
    return Room("r", options=RoomOptions(), hooks=RoomHooks(persist=lambda _: None))


def _text(doc: Doc[Any]) -> str:
    return str(doc.get(SOURCE, type=Text))


@settings(max_examples=300, deadline=None)
@given(edits=edits, seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_concurrent_edits_converge_whatever_the_delivery_order(edits: list[Edit], seed: int) -> None:
    chance = random.Random(seed)
    editors: list[Doc[Any]] = [Doc() for _ in range(EDITORS)]
    sent: list[list[bytes]] = [[] for _ in editors]
    for doc, outbox in zip(editors, sent, strict=True):
        doc.observe(lambda event, outbox=outbox: outbox.append(event.update))
    workers = [_worker() for _ in range(WORKERS)]
    relayed: list[bytes] = []  # what workers applied from their own editors: stored, and relayed
    for editor, deletes, where, content in edits:
        _edit(editors[editor].get(SOURCE, type=Text), deletes, where, content)
        if chance.random() < 0.5:  # online: the update reaches the editor's worker now
            change = workers[editor % WORKERS].apply(sent[editor][-1])
            relayed.extend([change] if change is not None else [])

    for worker in workers:  # the relay: every change, in any order, some twice
        arrival = relayed + chance.sample(relayed, k=len(relayed) // 3)
        chance.shuffle(arrival)
        for change in arrival:
            worker.receive_remote_update(change)
    for number, editor in enumerate(editors):  # reconnecting: sync steps 1 and 2 both ways
        worker = workers[number % WORKERS]
        change = worker.apply(editor.get_update(worker.state_vector()))
        if change is not None:
            relayed.append(change)
            for other in workers:
                other.receive_remote_update(change)
    for number, editor in enumerate(editors):
        editor.apply_update(workers[number % WORKERS].missing_from(editor.get_state()))

    texts = {_text(doc) for doc in editors} | {str(worker.text) for worker in workers}
    assert len(texts) == 1
    (text,) = texts
    assert text_of(chance.sample(relayed, k=len(relayed))) == text
    cut = chance.randint(0, len(relayed))
    compacted = [merge_updates(*relayed[:cut]), *relayed[cut:]] if cut else relayed
    assert text_of(compacted) == text
