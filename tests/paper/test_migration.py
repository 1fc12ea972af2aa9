"""The hand-written paper migrations (0008, the tables; 0011, the trailing-stop columns of
``paper_order``) create exactly what the paper models describe, on SQLite and PostgreSQL; 0011's
downgrade removes its columns and keeps the orders, and its upgrade brings them back."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from quanta import db
from quanta.paper.models import PaperOrder
from quanta.paper.store import PaperStore
from quanta.settings import Settings
from tests.paper.conftest import BACKENDS
from tests.schema import schema_drift

PAPER_TABLES = {"paper_deployment", "paper_bar", "paper_order", "paper_fill"}
TRAILING = {"trail", "trail_pct"}


@pytest.mark.parametrize("settings", BACKENDS, indirect=True)
def test_the_migrated_schema_matches_the_models(settings: Settings) -> None:
    assert schema_drift(db.engine(settings), PAPER_TABLES) == []


def order_columns(settings: Settings) -> set[str]:
    return {c["name"] for c in sa.inspect(db.engine(settings)).get_columns("paper_order")}


@pytest.mark.parametrize("settings", BACKENDS, indirect=True)
def test_0011_adds_the_trailing_columns_and_its_downgrade_removes_them(settings: Settings) -> None:
    config = db.alembic_config(settings.app_database_url)
    command.downgrade(config, "0010")
    before = order_columns(settings)
    with db.engine(settings).begin() as connection:  # an order stored before 0011
        connection.execute(
            sa.text(
                "INSERT INTO paper_order (account, order_id, symbol, size, relative, reduce_only, kind, "
                "\"limit\", stop, ts, status, reason, published) VALUES ('pp_old', 'pp_old:1000:0', "
                "'GOOG', 2, false, false, 'stop', NULL, 101.5, 2000, 'open', '', true)"
            )
        )
    command.upgrade(config, "head")
    assert not before & TRAILING
    assert order_columns(settings) >= TRAILING
    assert schema_drift(db.engine(settings), PAPER_TABLES) == []
    [old] = PaperStore(settings).load("pp_old", ("GOOG",)).working
    assert (old.order_id, old.stop, old.trail, old.trail_pct) == ("pp_old:1000:0", 101.5, None, None)
    with db.session(settings) as session:
        session.add(
            PaperOrder(
                account="pp_new",
                order_id="pp_new:1000:0",
                symbol="GOOG",
                size=1,
                kind="market",
                trail_pct=0.05,
                ts=2000,
            )
        )
    assert PaperStore(settings).load("pp_new", ("GOOG",)).working[0].trail_pct == 0.05
    command.downgrade(config, "0010")
    assert not order_columns(settings) & TRAILING
    with db.engine(settings).connect() as connection:  # the orders stay, without their trail
        kept = connection.execute(sa.text("SELECT order_id FROM paper_order ORDER BY order_id")).scalars()
        assert list(kept) == ["pp_new:1000:0", "pp_old:1000:0"]
    command.upgrade(config, "head")
    assert schema_drift(db.engine(settings), PAPER_TABLES) == []
