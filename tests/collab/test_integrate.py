"""Updates applied in any order, some before what they build on, end in the same document."""

from __future__ import annotations

import itertools
from typing import Any

from pycrdt import Doc, Text

from quanta.collab import SOURCE
from quanta.collab._integrate import Integrator


def _history() -> tuple[list[bytes], str]:
    """One editor's updates (inserts at both ends and inside, a delete) and the text they make."""
    doc: Doc[Any] = Doc()
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    text = doc.get(SOURCE, type=Text)
    text.insert(0, "\n")
    text.insert(1, "a")
    text.insert(2, "aaa\n")
    text.insert(0, "b ")
    del text[1:3]
    text.insert(3, "zz")
    return updates, str(text)


def _replay(updates: list[bytes], order: tuple[int, ...]) -> tuple[str, int]:
    doc: Doc[Any] = Doc()
    integrator = Integrator(doc)
    for index in order:
        integrator.apply(updates[index])
    return str(doc.get(SOURCE, type=Text)), integrator.waiting


def test_every_arrival_order_gives_the_same_text() -> None:
    updates, expected = _history()

    outcomes = {_replay(updates, order) for order in itertools.permutations(range(len(updates)))}

    assert outcomes == {(expected, 0)}


def test_updates_arriving_twice_or_early_change_nothing_more() -> None:
    updates, expected = _history()
    orders = [(3, 2, 3, 0, 2, 1, 4, 5), (5, 4, 3, 2, 1, 0, 5), (0, 2, 3, 2, 1, 4, 5, 1)]

    assert {_replay(updates, order) for order in orders} == {(expected, 0)}


def test_an_update_waiting_for_a_missing_one_is_held() -> None:
    updates, _ = _history()

    assert _replay(updates, (0, 2, 3))[1] == 2
