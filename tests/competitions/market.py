"""Random bars and fills for the streaming-equals-batch tests (in process, on Kafka and on Flink)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from quanta.paper.events import FillEvent
from quanta.streaming import Bar

TRADED = ("AAA", "BBB")


def random_market(
    seed: int,
    *,
    origin_ms: int,
    windows: int,
    prices: Mapping[str, float],
    accounts: Sequence[str],
    fill_chance: float,
) -> tuple[list[Bar], list[FillEvent]]:
    """A random walk of ``prices``' symbols over 1 s windows (about one in five bars revised once), and
    each account trading AAA or BBB in about ``fill_chance`` of the windows."""
    rng = random.Random(seed)
    bars: list[Bar] = []
    fills: list[FillEvent] = []
    price = dict(prices)
    for window in range(windows):
        start = origin_ms + window * 1000
        for symbol in sorted(price):
            price[symbol] *= 1 + rng.gauss(0, 0.02)
            close = round(price[symbol], 4)
            bars.append(Bar(symbol, "1s", start, close, close, close, close, 10.0, 4))
            if rng.random() < 0.2:
                revised = round(close * (1 + rng.gauss(0, 0.005)), 4)
                bars.append(Bar(symbol, "1s", start, revised, revised, revised, revised, 11.0, 5, rev=1))
        for account in accounts:
            if rng.random() < fill_chance:
                symbol = rng.choice(TRADED)
                seq = sum(1 for f in fills if f.account == account) + 1
                fills.append(
                    FillEvent(
                        account=account,
                        fill_id=f"{account}:{seq}",
                        order_id=f"{account}:{start}:0",
                        seq=seq,
                        symbol=symbol,
                        size=rng.choice([-10.0, -5.0, 5.0, 10.0]),
                        price=price[symbol],
                        commission=1.0,
                        ts=start + rng.randrange(1000),
                    )
                )
    return bars, fills
