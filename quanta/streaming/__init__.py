"""Live market data: ticks in, event-time bars with indicators out, on an in-process bus or Kafka.

```python
from quanta.streaming import EmbeddedMarket, TickReplay, Topics, decode_bar, load_bars, replay_ticks

ticks = replay_ticks(load_bars(con, ["GOOG", "AAPL"]), seed=7, origin_ms=now_ms, speed=1.0)
async with EmbeddedMarket(TickReplay(ticks, pace_origin_ms=now_ms)) as market:
    async with market.bus.subscribe(market.topics.bars("1s"), from_beginning=True) as bars:
        async for message in bars:
            print(decode_bar(message.value))
```

The operators (:class:`BarPipeline`, :class:`BarAggregator`, the streaming indicators) are pure; the
transport (:class:`InProcessBus` here, ``pipelines.kafka.KafkaTransport`` with Kafka) only carries
bytes in the versioned JSON of :mod:`quanta.streaming.schema`. See docs/streaming.md.
"""

from quanta.streaming.bus import BusSubscription, InProcessBus
from quanta.streaming.errors import MalformedEventError, StreamingError
from quanta.streaming.events import Bar, DeadLetter, DeadLetterReason, Tick, interval_ms
from quanta.streaming.indicators import EMA, RSI, SMA, IndicatorSpec, StreamingIndicator
from quanta.streaming.jobs import BarJob, EmbeddedMarket, TickFeed
from quanta.streaming.operators import (
    BarAggregator,
    BarConfig,
    BarIndicators,
    BarPipeline,
    LateTick,
    Output,
    WindowClosed,
)
from quanta.streaming.replay import day_ms, load_bars, replay_ticks
from quanta.streaming.schema import (
    SCHEMA_VERSION,
    decode_bar,
    decode_dead_letter,
    decode_tick,
    encode_bar,
    encode_dead_letter,
    encode_tick,
)
from quanta.streaming.sources import ExchangeAdapter, TickReplay
from quanta.streaming.synthetic import synthetic_market_bars, synthetic_ticks_live
from quanta.streaming.transport import Message, Subscription, Topics, Transport

__all__ = [
    "EMA",
    "RSI",
    "SCHEMA_VERSION",
    "SMA",
    "Bar",
    "BarAggregator",
    "BarConfig",
    "BarIndicators",
    "BarJob",
    "BarPipeline",
    "BusSubscription",
    "DeadLetter",
    "DeadLetterReason",
    "EmbeddedMarket",
    "ExchangeAdapter",
    "InProcessBus",
    "IndicatorSpec",
    "LateTick",
    "MalformedEventError",
    "Message",
    "Output",
    "StreamingError",
    "StreamingIndicator",
    "Subscription",
    "Tick",
    "TickFeed",
    "TickReplay",
    "Topics",
    "Transport",
    "WindowClosed",
    "day_ms",
    "decode_bar",
    "decode_dead_letter",
    "decode_tick",
    "encode_bar",
    "encode_dead_letter",
    "encode_tick",
    "interval_ms",
    "load_bars",
    "replay_ticks",
    "synthetic_market_bars",
    "synthetic_ticks_live",
]
