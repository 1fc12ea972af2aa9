"""The orders topic's records: the trailing-stop fields are optional additions to schema version 1, the
ids of stop-losses, take-profits and closes of one lot name their lot's entry, and the host takes one
the strategy set or closed only under the id it is due."""

from __future__ import annotations

import pytest

from quanta.paper import OrderEvent, OrderKind, decode_order, encode_order
from quanta.paper.decide import Window
from quanta.paper.events import bracket_parent, close_parent, is_take_profit, lot_of
from quanta.paper.runner import _bracket_id, _order_id
from quanta.streaming.errors import MalformedEventError

OLD = (
    b'{"v":1,"a":"pp_1","o":"pp_1:1000:0","s":"GOOG","q":2.0,"k":"market",'
    b'"lp":null,"sp":null,"sl":null,"tp":null,"t":2000}'
)


def test_a_trailing_entry_round_trips_and_a_record_without_the_fields_has_no_trail() -> None:
    entry = OrderEvent(account="pp_1", order_id="pp_1:1000:0", symbol="GOOG", size=2, ts=2000, trail_pct=0.05)
    encoded = encode_order(entry)
    assert b'"trp":0.05' in encoded
    assert b'"tr"' not in encoded
    assert decode_order(encoded) == entry
    by_distance = OrderEvent(
        account="pp_1", order_id="pp_1:1000:1", symbol="GOOG", size=-1, ts=2000, trail=2.5
    )
    assert decode_order(encode_order(by_distance)) == by_distance
    old = decode_order(OLD)
    assert (old.trail, old.trail_pct) == (None, None)
    assert encode_order(old) == OLD  # records without a trail are written as before


@pytest.mark.parametrize("field", ['"trp":1.5', '"trp":0', '"tr":-1', '"tr":"far"'])
def test_a_trail_out_of_range_is_malformed(field: str) -> None:
    with pytest.raises(MalformedEventError):
        decode_order(OLD[:-1] + b"," + field.encode() + b"}")


@pytest.mark.parametrize(
    ("order_id", "entry", "take_profit"),
    [
        ("pp_1:1000:0:sl", "pp_1:1000:0", False),
        ("pp_1:1000:0:tp", "pp_1:1000:0", True),
        ("pp_1:1000:0:sl:5000", "pp_1:1000:0", False),
        ("pp_1:1000:0:tp:5000", "pp_1:1000:0", True),
        ("pp_1:1000:0:trail:5000", "pp_1:1000:0", False),
        ("a:sl:1000:0:tp:5000", "a:sl:1000:0", True),  # an account may look like anything
        ("pp_1:1000:0", None, False),
        ("a:sl:1000:0", None, False),
    ],
)
def test_a_bracket_id_names_its_entry(order_id: str, entry: str | None, take_profit: bool) -> None:
    assert bracket_parent(order_id) == entry
    assert is_take_profit(order_id) is take_profit


@pytest.mark.parametrize(
    ("order_id", "kind", "due"),
    [
        ("pp_1:1000:0:sl:5000", OrderKind.STOP, True),
        ("pp_1:1000:0:tp:5000", OrderKind.LIMIT, True),
        ("pp_1:1000:0:tp:5000", OrderKind.STOP, False),  # a take-profit is a limit
        ("pp_1:1000:0:sl:4000", OrderKind.STOP, False),  # not this bar's
        ("pp_1:5000:0:sl:5000", OrderKind.STOP, False),  # an entry decided on this bar has no lot yet
        ("pp_2:1000:0:sl:5000", OrderKind.STOP, False),  # another account's
        ("pp_1:1000:0:trail:5000", OrderKind.STOP, False),  # the broker's, never the strategy's
    ],
)
def test_the_host_takes_a_stop_loss_or_take_profit_set_by_the_strategy_only_under_the_id_it_is_due(
    order_id: str, kind: OrderKind, due: bool
) -> None:
    window = Window(5000, {"GOOG": (1.0, 1.0, 1.0, 1.0, 1.0)})
    price = {"stop": 99.0} if kind is OrderKind.STOP else {"limit": 101.0}
    order = OrderEvent(
        account="pp_1",
        order_id=order_id,
        symbol="GOOG",
        size=-2,
        kind=kind,
        ts=6000,
        reduce_only=True,
        **price,
    )
    assert (_bracket_id(order, "pp_1", window) == order_id) is due


@pytest.mark.parametrize(
    ("order_id", "entry"),
    [
        ("pp_1:1000:0:close:5000:0", "pp_1:1000:0"),
        ("pp_1:1000:2:close:5000:3", "pp_1:1000:2"),
        ("a:close:1:1000:0:close:5000:1", "a:close:1:1000:0"),  # an account may look like anything
        ("pp_1:1000:0", None),
        ("a:close:1000:0", None),  # an entry of the account "a:close"
        ("pp_1:1000:0:close:5000", None),
        ("pp_1:1000:0:sl:5000", None),
    ],
)
def test_a_close_id_names_the_lot_it_closes(order_id: str, entry: str | None) -> None:
    assert close_parent(order_id) == entry
    assert bracket_parent(order_id) is None or entry is None
    assert lot_of(order_id) == (entry or bracket_parent(order_id))


@pytest.mark.parametrize(
    ("order_id", "n", "fields", "due"),
    [
        ("pp_1:5000:0", 0, {}, True),
        ("pp_1:5000:1", 0, {}, False),  # not its place
        ("pp_1:1000:0:close:5000:0", 0, {"reduce_only": True}, True),
        ("pp_1:1000:0:close:5000:2", 2, {"reduce_only": True}, True),
        ("pp_1:1000:0:close:5000:0", 1, {"reduce_only": True}, False),  # not its place
        ("pp_1:1000:0:close:4000:0", 0, {"reduce_only": True}, False),  # not this bar's
        ("pp_1:5000:0:close:5000:1", 1, {"reduce_only": True}, False),  # an entry of this bar has no lot
        ("pp_2:1000:0:close:5000:0", 0, {"reduce_only": True}, False),  # another account's lot
        ("pp_1:1000:0:close:5000:0", 0, {}, False),  # a close only reduces
        ("pp_1:1000:0:close:5000:0", 0, {"reduce_only": True, "relative": True}, False),
        ("pp_1:1000:0:close:5000:0", 0, {"reduce_only": True, "kind": OrderKind.STOP, "stop": 9.0}, False),
        ("pp_1:1000:0:close:5000:0", 0, {"reduce_only": True, "limit": 9.0}, False),  # at the market
    ],
)
def test_the_host_takes_a_close_of_one_lot_only_under_the_id_it_is_due(
    order_id: str, n: int, fields: dict[str, object], due: bool
) -> None:
    window = Window(5000, {"GOOG": (1.0, 1.0, 1.0, 1.0, 1.0)})
    order = OrderEvent(account="pp_1", order_id=order_id, symbol="GOOG", size=-2, ts=6000, **fields)  # type: ignore[arg-type]
    assert (_order_id(order, "pp_1", window, n) == order_id) is due
    assert decode_order(encode_order(order)) == order  # the id is all a close adds: schema 1 as it was
