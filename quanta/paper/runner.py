"""The app's side of a deployment's sandboxed runner: spawn it, send bars, read back orders.

The strategy never runs in the calling process. :class:`SandboxRunner` spawns ``python -m
quanta.paper._child`` with the sandbox workers' clean environment and talks JSON lines with it (see
that module). Every order it returns is decoded and validated like any untrusted record: the right
account, the id the runner must use, one of the account's symbols. A runner that is too slow
(``decide_seconds``), dies or answers nonsense raises :class:`RunnerError`; the desk then marks the
deployment failed, or starts a fresh runner on the stored bars when it crashed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Sequence
from typing import Any

from quanta.paper.decide import Window
from quanta.paper.events import (
    CLOSE,
    OrderEvent,
    OrderKind,
    bracket_parent,
    close_parent,
    decode_order,
    lot_of,
)
from quanta.paper.models import PaperSpec
from quanta.sandbox._pool import worker_environment
from quanta.sandbox.models import SandboxLimits
from quanta.streaming.errors import MalformedEventError

_LINE_LIMIT = 4 * 1024 * 1024


class RunnerError(RuntimeError):
    """The runner failed: ``kind`` as the sandbox names it (``strategy``, ``forbidden``, ``crashed``…)."""

    def __init__(self, kind: str, message: str, line: int | None = None) -> None:
        super().__init__(f"{kind}: {message}" + (f" (line {line})" if line else ""))
        self.kind, self.message, self.line = kind, message, line


class SandboxRunner:
    """One deployment's long-lived sandboxed strategy process."""

    def __init__(
        self,
        account: str,
        spec: PaperSpec,
        *,
        limits: SandboxLimits | None = None,
        plan: str | None = None,
        start_seconds: float = 60.0,
        decide_seconds: float = 10.0,
    ) -> None:
        self.account = account
        self.spec = spec
        self.limits = limits or SandboxLimits(cpu_seconds=3600, wall_seconds=0.0, memory_mb=1024)
        self.plan = plan
        self.start_seconds = start_seconds
        self.decide_seconds = decide_seconds
        self.isolation: list[str] = []
        self._process: asyncio.subprocess.Process | None = None

    async def start(self, history: Sequence[Window] = ()) -> None:
        """Spawn the process, wait until the strategy is loaded, and give it the account's past bars."""
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "quanta.paper._child",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=worker_environment(),
            limit=_LINE_LIMIT,
        )
        limits = {
            "cpu_seconds": self.limits.cpu_seconds,
            "memory_mb": self.limits.memory_mb,
            "open_files": self.limits.open_files,
            "file_size_mb": self.limits.file_size_mb,
        }
        config = {
            "source": self.spec.source,
            "class": self.spec.class_name,
            "params": self.spec.params,
            "spec": self.spec.model_dump(mode="json"),
            "account": self.account,
            "limits": limits,
            "plan": self.plan,
        }
        try:
            ready = await self._ask(config, self.start_seconds)
            self.isolation = [str(w) for w in ready.get("walls", [])]
            if history:
                await self._ask(_request(history, decide=False), self.start_seconds)
        except BaseException:  # cancelled while starting, too: never leave the process behind
            await asyncio.shield(self.close())
            raise

    async def decide(self, window: Window) -> list[OrderEvent]:
        """Append ``window`` and return the orders the strategy places at its close."""
        answer = await self._ask(_request([window], decide=True), self.decide_seconds)
        raw = answer.get("o")
        if not isinstance(raw, list):
            raise RunnerError("crashed", "the runner answered without orders")
        orders = [self._decoded(item) for item in raw]
        placed = [o for o in orders if not o.cancel]
        for n, order in enumerate(o for o in placed if bracket_parent(o.order_id) is None):
            self._check(order, _order_id(order, self.account, window, n))
        for order in placed:
            if bracket_parent(order.order_id) is not None:
                self._check(order, _bracket_id(order, self.account, window))
            self._check_allowed(order)
        for order in orders:
            if order.cancel:
                self._check(order, order.order_id if _earlier(order.order_id, self.account, window) else "")
        return orders

    async def close(self) -> None:
        """Stop the process (closing its input ends it; a stuck one is killed)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:  # closing its input ends it; reading its output to the end releases the pipes
            await asyncio.wait_for(process.communicate(), 2.0)
        except (TimeoutError, ConnectionError):
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.communicate()

    @property
    def alive(self) -> bool:
        """Whether the process is running."""
        return self._process is not None and self._process.returncode is None

    async def _ask(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        process = self._process
        if process is None or process.stdin is None or process.stdout is None:
            raise RunnerError("crashed", "the runner is not running")
        try:
            process.stdin.write((json.dumps(message, allow_nan=False) + "\n").encode())
            await process.stdin.drain()
            line = await asyncio.wait_for(process.stdout.readline(), timeout)
        except TimeoutError:
            await self.close()
            raise RunnerError("time-limit", f"the strategy took longer than {timeout:g} s") from None
        except (ConnectionError, ValueError) as exc:
            await self.close()
            raise RunnerError("crashed", f"the runner stopped: {exc}") from exc
        return await self._answer(line)

    async def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            answer = json.loads(line) if line else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            await self.close()
            raise RunnerError("crashed", "the strategy's process ended without an answer")
        if answer.get("t") == "error":
            await self.close()
            line_no = answer.get("line")
            raise RunnerError(
                str(answer.get("kind", "internal")),
                str(answer.get("message", ""))[:2000],
                line_no if isinstance(line_no, int) else None,
            )
        return answer

    @staticmethod
    def _decoded(item: object) -> OrderEvent:
        try:
            return decode_order(str(item).encode())
        except MalformedEventError as exc:
            raise RunnerError("crashed", f"the runner sent a malformed order: {exc}") from exc

    def _check(self, order: OrderEvent, expected: str) -> None:
        """A new order must carry the id it is due; a cancel, the id of an order decided earlier."""
        if (
            order.account != self.account
            or order.order_id != expected
            or order.symbol not in self.spec.symbols
        ):
            raise RunnerError("crashed", f"the runner sent an order it may not send: {order.order_id}")

    def _check_allowed(self, order: OrderEvent) -> None:
        """Refuse an order type the account's rules do not allow (brackets count as stop and limit, a
        trailing stop as a stop)."""
        allowed = self.spec.order_kinds
        if allowed is None:
            return
        used = {order.kind}
        if order.stop_loss is not None or order.trail is not None or order.trail_pct is not None:
            used.add(OrderKind.STOP)
        if order.take_profit is not None:
            used.add(OrderKind.LIMIT)
        refused = sorted(kind.value for kind in used if kind not in allowed)
        if refused:
            names = ", ".join(kind.value for kind in allowed)
            raise RunnerError(
                "strategy", f"{' and '.join(refused)} orders are not allowed here (allowed: {names})"
            )


def _order_id(order: OrderEvent, account: str, window: Window, n: int) -> str:
    """The id the ``n``-th order the strategy places on ``window`` is due: ``<account>:<window start>:<n>``,
    or for a close of one lot (reduce-only, at the market, nothing else) ``<entry>:close:<window start>:<n>``
    naming the lot of an entry decided earlier (``""`` if it may have none)."""
    entry = close_parent(order.order_id)
    if entry is None:
        return f"{account}:{window.start}:{n}"
    prices = (order.limit, order.stop, order.stop_loss, order.take_profit, order.trail, order.trail_pct)
    close = order.reduce_only and order.kind is OrderKind.MARKET and not order.relative
    if not (close and all(v is None for v in prices) and _earlier(entry, account, window)):
        return ""
    return f"{entry}{CLOSE}:{window.start}:{n}"


def _bracket_id(order: OrderEvent, account: str, window: Window) -> str:
    """The id a stop-loss or take-profit the strategy sets on ``window`` is due (``""`` if it has none):
    ``<entry>:sl:<window start>`` (a stop) or ``<entry>:tp:<window start>`` (a limit), closing the lot
    of an entry decided earlier."""
    entry = bracket_parent(order.order_id) or ""
    kind = {OrderKind.STOP: "sl", OrderKind.LIMIT: "tp"}.get(order.kind)
    plain = all(v is None for v in (order.stop_loss, order.take_profit, order.trail, order.trail_pct))
    if kind is None or not (order.reduce_only and plain and _earlier(entry, account, window)):
        return ""
    return f"{entry}:{kind}:{window.start}"


def _earlier(order_id: str, account: str, window: Window) -> bool:
    """Whether ``order_id`` is one the runner may have decided before ``window`` (or a stop-loss,
    take-profit or close of one)."""
    order_id = lot_of(order_id) or order_id
    start, _, n = order_id.removeprefix(f"{account}:").partition(":")
    return (
        order_id.startswith(f"{account}:") and start.isdigit() and n.isdigit() and int(start) < window.start
    )


def _request(windows: Sequence[Window], *, decide: bool) -> dict[str, Any]:
    return {"w": [[w.start, {s: list(v) for s, v in w.bars.items()}] for w in windows], "d": decide}
