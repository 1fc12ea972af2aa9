"""The update log on SQLite and PostgreSQL: append, load in order, seed once, compact losslessly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, Text

from quanta import db
from quanta.collab import SOURCE, UpdateStore, seed_update, text_of
from quanta.settings import Settings
from tests.conftest import sqlalchemy_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UpdateStore]:
    """A store on a freshly migrated app database of each kind."""
    database_url = None
    if request.param == "postgres":
        database_url = sqlalchemy_url(request.getfixturevalue("postgres_database"))
    settings = Settings(var_dir=tmp_path, database_url=database_url)
    db.migrate(settings)
    yield UpdateStore(db.engine(settings))
    db.dispose_engines()


def typed(*chunks: str) -> list[bytes]:
    """The updates of someone typing ``chunks`` one after another at the end of the text."""
    doc: Doc[Any] = Doc()
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    text = doc.get(SOURCE, type=Text)
    for chunk in chunks:
        text.insert(len(text), chunk)
    return updates


def test_updates_load_in_the_order_they_were_appended(store: UpdateStore) -> None:
    updates = typed("a", "b", "c")
    store.append("r1", updates[:2])
    store.append("r2", typed("other"))
    store.append("r1", updates[2:])

    assert store.load("r1") == updates
    assert store.text("r1") == "abc"
    assert store.count("r2") == 1
    assert store.load("nothing") == []


def test_compaction_squashes_a_room_into_one_row_with_the_same_text(store: UpdateStore) -> None:
    store.append("r1", typed(*"def next(self):\n"))
    store.append("r2", typed("untouched"))

    squashed = store.compact("r1")

    assert squashed == 16
    assert store.count("r1") == 1
    assert store.text("r1") == "def next(self):\n"
    assert store.count("r2") == 1


def test_updates_appended_after_a_compaction_still_apply(store: UpdateStore) -> None:
    doc: Doc[Any] = Doc()
    log: list[bytes] = []
    doc.observe(lambda event: log.append(event.update))
    text = doc.get(SOURCE, type=Text)
    text.insert(0, "abc")
    store.append("r1", log)
    store.compact("r1")
    log.clear()
    del text[0:1]
    text.insert(2, "d")
    store.append("r1", log)

    assert store.text("r1") == "bcd"
    assert store.compact("r1") == 3
    assert store.text("r1") == "bcd"


def test_seeding_happens_once_and_the_same_seed_twice_is_one_text(store: UpdateStore) -> None:
    seed = seed_update("print('hi')\n")

    assert store.seed("r1", seed) is True
    assert store.seed("r1", seed) is False
    assert store.count("r1") == 1
    assert text_of([seed, seed]) == "print('hi')\n"
