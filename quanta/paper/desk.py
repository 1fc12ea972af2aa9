"""The paper desk: live bars in, each account's strategy and simulated broker, orders and fills out.

```python
async with PaperDesk(transport, topics, settings) as desk:
    await desk.add("pp_3f…", PaperSpec(source=code, symbols=("GOOG",), capital=10_000))
    ...  # fills appear on topics.fills (keyed by account), and in the app database
    await desk.remove("pp_3f…")
```

The desk subscribes to ``topics.bars(interval)`` for the intervals its accounts use and acts on the
closing revision of each bar (``rev == 0``; later revisions are ignored: a decision made on a closed
bar is final). When every symbol of an account has its bar for a window, the account takes one *step*:

1. the broker fills the working orders on that window (next bar's open, limits, stops; engine costs);
2. the sandboxed runner decides on the window and returns its orders (deterministic ids) and the
   working orders it cancelled (taken off the broker's queue);
3. the step — bars, fills, order updates (brackets too), new orders — is stored in one transaction;
4. the orders go to ``topics.orders`` and the fills to ``topics.fills`` (the transport flushes);
5. listeners (the app's live topics) get an :class:`AccountUpdate`.

Windows at or before an account's last stored window are skipped, so bars delivered again (a Kafka
rebalance, a restart) change nothing; a restarted desk reloads each account from the database and
gives the runner its stored bars, so it decides exactly as before. A runner that crashes is started
again on the stored bars (once per step); a strategy error, a forbidden operation, a runner that is
too slow, or a step that cannot be stored or published stops the account (``on_failure``); adding it
again resumes it from what was stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from quanta import db
from quanta.paper import service
from quanta.paper.broker import PaperBroker
from quanta.paper.decide import Window
from quanta.paper.events import FillEvent, OrderEvent, encode_fill, encode_order
from quanta.paper.models import PaperSpec
from quanta.paper.runner import RunnerError, SandboxRunner
from quanta.paper.store import PaperStore, Restored, Step
from quanta.sandbox.models import SandboxLimits
from quanta.settings import Settings
from quanta.streaming.errors import MalformedEventError
from quanta.streaming.events import Bar
from quanta.streaming.schema import decode_bar
from quanta.streaming.transport import Subscription, Topics, Transport

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountUpdate:
    """One step of an account, for live views: the window, its closes, new fills and orders."""

    account: str
    start: int
    closes: dict[str, float]
    fills: list[FillEvent]
    orders: list[OrderEvent]
    cash: float
    equity: float
    positions: dict[str, float]


Listener = Callable[[AccountUpdate], Awaitable[None]]
FailureHandler = Callable[[str, RunnerError], Awaitable[None]]


@dataclass(kw_only=True)
class _Account:
    name: str
    spec: PaperSpec
    broker: PaperBroker
    runner: SandboxRunner
    windows: list[Window]
    pending: dict[int, dict[str, Bar]] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def last_start(self) -> int:
        return self.windows[-1].start if self.windows else -1


class PaperDesk:
    """Runs paper accounts on a transport's bars (see the module docstring)."""

    def __init__(
        self,
        transport: Transport,
        topics: Topics | None = None,
        settings: Settings | None = None,
        *,
        group: str = "quanta-paper",
        limits: SandboxLimits | None = None,
        plan: str | None = None,
        decide_seconds: float = 10.0,
    ) -> None:
        self.transport = transport
        self.topics = topics or Topics()
        self.store = PaperStore(settings)
        self.group = group
        self.limits = limits
        self.plan = plan
        self.decide_seconds = decide_seconds
        self.listeners: list[Listener] = []
        self.on_failure: FailureHandler | None = None
        self.steps = 0
        self._accounts: dict[str, _Account] = {}
        self._failed: set[str] = set()
        self._consumers: dict[str, tuple[Subscription, asyncio.Task[None]]] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    @property
    def accounts(self) -> list[str]:
        """The accounts running on this desk."""
        return list(self._accounts)

    async def add(self, account: str, spec: PaperSpec) -> None:
        """Start ``account`` (from its stored state, if any); raises ``RunnerError`` if its runner fails."""
        if account in self._accounts:
            return
        restored = await asyncio.to_thread(self.store.load, account, spec.symbols)
        runner = self._runner(account, spec)
        await runner.start(restored.windows)
        self._accounts[account] = _Account(
            name=account,
            spec=spec,
            broker=PaperBroker(
                account,
                capital=spec.capital,
                costs=spec.costs,
                fractional=spec.fractional,
                fills=restored.fills,
                working=restored.working,
                seen=restored.seen,
                trails=restored.trails,
            ),
            runner=runner,
            windows=restored.windows,
        )
        await self._republish(account, restored)
        await self._consume(spec.interval)

    async def remove(self, account: str) -> None:
        """Stop ``account`` (its stored state stays; ``add`` resumes it)."""
        state = self._accounts.get(account)
        if state is not None:
            async with state.lock:
                await asyncio.shield(state.runner.close())  # a cancelled caller must not orphan it
                self._accounts.pop(account, None)

    async def sync(self, specs: Mapping[str, PaperSpec]) -> dict[str, RunnerError]:
        """Run exactly the accounts of ``specs``: start the missing ones, stop the others.

        Returns the accounts that could not start, with why (their runner refused the code, say). An
        account that failed on this desk is not started again by ``sync`` until a call leaves it out
        (its deployment was marked failed) and a later one asks for it again (it was restarted).
        """
        for account in [a for a in self._accounts if a not in specs]:
            await self.remove(account)
        self._failed &= set(specs)  # a failure is forgotten once its account is no longer asked for
        failed: dict[str, RunnerError] = {}
        for account, spec in specs.items():
            if account in self._failed:  # failed here: not again until it is asked for anew
                continue
            try:
                await self.add(account, spec)
            except RunnerError as exc:
                failed[account] = exc
        return failed

    async def aclose(self) -> None:
        """Stop every account and consumer."""
        for account in list(self._accounts):
            await self.remove(account)
        consumers, self._consumers = self._consumers, {}
        for subscription, task in consumers.values():
            subscription.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(Exception):
                await subscription.__aexit__(None, None, None)

    def account_state(self, account: str) -> PaperBroker | None:
        """The live broker of ``account`` (its account and working orders), if it runs here."""
        state = self._accounts.get(account)
        return state.broker if state else None

    # ---- bars ------------------------------------------------------------------------------------------

    def _runner(self, account: str, spec: PaperSpec) -> SandboxRunner:
        return SandboxRunner(
            account, spec, limits=self.limits, plan=self.plan, decide_seconds=self.decide_seconds
        )

    async def _consume(self, interval: str) -> None:
        if interval in self._consumers:
            return
        subscription = self.transport.subscribe(self.topics.bars(interval), group=f"{self.group}.{interval}")
        await subscription.__aenter__()  # joined now: bars published from here on reach the desk
        task = asyncio.create_task(self._read(subscription), name=f"paper-bars-{interval}")
        self._consumers[interval] = (subscription, task)

    async def _read(self, subscription: Subscription) -> None:
        async for message in subscription:
            try:
                bar = decode_bar(message.value)
            except MalformedEventError as exc:
                log.warning("skipping a malformed bar: %s", exc)
                continue
            if bar.rev == 0:
                await self.on_bar(bar)
            await subscription.commit()

    async def on_bar(self, bar: Bar) -> None:
        """Take one closed bar (the consumers call this; tests may too)."""
        for state in list(self._accounts.values()):
            if bar.symbol in state.spec.symbols and bar.interval == state.spec.interval:
                await self._collect(state, bar)

    async def _collect(self, state: _Account, bar: Bar) -> None:
        async with state.lock:
            if bar.start <= state.last_start or state.name not in self._accounts:
                return
            state.pending.setdefault(bar.start, {})[bar.symbol] = bar
            complete = [s for s, bars in state.pending.items() if len(bars) == len(state.spec.symbols)]
            for start in sorted(complete):
                bars = state.pending.pop(start)
                for older in [s for s in state.pending if s < start]:  # a symbol had no bar then
                    del state.pending[older]
                try:
                    await self._step(state, bars)
                except RunnerError as exc:
                    await self._fail(state, exc)
                    return
                except Exception as exc:  # storing or publishing failed: the stored account is the truth
                    log.exception("paper account %s: a step failed", state.name)
                    await self._fail(state, RunnerError("internal", f"{type(exc).__name__}: {exc}"))
                    return

    async def _step(self, state: _Account, bars: dict[str, Bar]) -> None:
        first = next(iter(bars.values()))
        window = Window(first.start, {s: (b.open, b.high, b.low, b.close, b.volume) for s, b in bars.items()})
        result = state.broker.step(bars)
        decided = await self._decide(state, window)
        orders = [o for o in decided if not o.cancel and state.broker.accept(o)]
        cancels = [o for o in decided if o.cancel and state.broker.cancel(o.order_id)]
        step = Step(
            window=window,
            fills=result.fills,
            rejected=result.rejected,
            triggered=result.triggered,
            orders=orders,
            opened=result.opened,
            canceled=result.canceled,
            cancels=[o.order_id for o in cancels],
            trailed=result.trailed,
            placed=result.placed,
        )
        await asyncio.to_thread(self.store.save, state.name, step)
        state.windows.append(window)
        await self._publish(state.name, orders + cancels, result.fills)
        self.steps += 1
        closes = {s: b.close for s, b in bars.items()}
        update = AccountUpdate(
            account=state.name,
            start=window.start,
            closes=closes,
            fills=result.fills,
            orders=orders,
            cash=state.broker.account.cash,
            equity=state.broker.account.equity(closes),
            positions=dict(state.broker.account.positions),
        )
        for listener in self.listeners:
            try:
                await listener(update)
            except Exception:
                log.exception("a paper listener failed")

    async def _decide(self, state: _Account, window: Window) -> list[OrderEvent]:
        try:
            return await state.runner.decide(window)
        except RunnerError as exc:
            if exc.kind != "crashed":
                raise
            log.warning("the runner of %s crashed (%s); starting it again", state.name, exc.message)
        state.runner = self._runner(state.name, state.spec)
        await state.runner.start(state.windows)
        return await state.runner.decide(window)

    async def _fail(self, state: _Account, error: RunnerError) -> None:
        log.warning("paper account %s stopped: %s", state.name, error)
        self._accounts.pop(state.name, None)
        self._failed.add(state.name)
        await state.runner.close()
        if self.on_failure is not None:
            await self.on_failure(state.name, error)

    async def _publish(self, account: str, orders: list[OrderEvent], fills: list[FillEvent]) -> None:
        if not orders and not fills:
            return
        for order in orders:
            await self.transport.publish(
                self.topics.orders, account, encode_order(order), timestamp_ms=order.ts
            )
        for fill in fills:
            await self.transport.publish(self.topics.fills, account, encode_fill(fill), timestamp_ms=fill.ts)
        await self.transport.flush()
        await asyncio.to_thread(
            self.store.mark_published, account, [o.order_id for o in orders], [f.seq for f in fills]
        )

    async def _republish(self, account: str, restored: Restored) -> None:
        await self._publish(account, restored.unpublished_orders, restored.unpublished_fills)


async def follow_deployments(
    desk: PaperDesk, settings: Settings | None = None, *, every: float = 2.0
) -> None:
    """Keep ``desk`` running exactly the deployments whose status is running, until cancelled.

    A deployment whose runner fails (at start or later) is marked failed with the reason.
    """

    async def failed(account: str, error: RunnerError) -> None:
        def write() -> None:
            with db.session(settings) as session:
                service.mark_failed(session=session, public_id=account, error=str(error))

        await asyncio.to_thread(write)

    def wanted() -> dict[str, PaperSpec]:
        with db.session(settings) as session:
            return service.running_specs(session=session)

    desk.on_failure = failed
    while True:
        try:
            for account, error in (await desk.sync(await asyncio.to_thread(wanted))).items():
                await failed(account, error)
        except Exception:
            log.exception("following the paper deployments failed; trying again")
        await asyncio.sleep(every)
