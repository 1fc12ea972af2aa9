"""The orders topic's records: the trailing-stop fields are optional additions to schema version 1, the
ids of stop-losses and take-profits name their lot's entry, and the host takes one the strategy set only
under the id it is due."""

from __future__ import annotations

import pytest

from quanta.paper import OrderEvent, OrderKind, decode_order, encode_order
from quanta.paper.decide import Window
from quanta.paper.events import bracket_parent, is_take_profit
from quanta.paper.runner import _bracket_id
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
