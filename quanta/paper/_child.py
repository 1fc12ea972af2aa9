"""A paper deployment's sandboxed runner process: ``python -m quanta.paper._child``.

Spawned by :class:`quanta.paper.runner.SandboxRunner` with a clean environment (no ``QUANTA_*``
variable). It reads its configuration as the first JSON line on standard input, warms up (imports, the
engine's compiled kernels, the module views strategies may import), runs the sandbox's static checks,
then becomes the *keeper*: it leaves the app's namespaces (``quanta.sandbox._isolation``) and forks the
*runner*, which changes its root to an empty scratch folder, drops privileges, sets its resource limits,
imports the strategy with the restricted builtins and answers requests until standard input closes.

Protocol, one JSON object per line. In: ``{"w": [[start, {symbol: [o, h, l, c, v]}], …], "d": true}``
appends windows and, with ``"d"``, decides on the last. Out: ``{"t": "ready", "plan": …}`` once,
then ``{"t": "orders", "o": [<encoded order>, …]}`` or ``{"t": "ok"}`` per request, or
``{"t": "error", "kind": …, "message": …, "line": …}`` (the runner then stops). What the strategy prints
goes to standard error, never into the protocol.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

from quanta import _jit, warmup
from quanta.paper.decide import Window, decide
from quanta.paper.events import encode_order
from quanta.paper.models import PaperSpec
from quanta.sandbox import _allowed, _isolation
from quanta.sandbox._checks import SourceSyntaxError, check_source
from quanta.sandbox._child import SandboxError, classify, load_module, pick_class
from quanta.sandbox._restrict import forget_violations, violations
from quanta.sandbox.models import ErrorKind, SandboxLimits
from quanta.strategy import Strategy

_WARM_SOURCE = """
from quanta import Strategy, crossover
from quanta.indicators import SMA


class Warm(Strategy):
    def init(self):
        self.fast = self.I(SMA, self.data.close, 3)
        self.slow = self.I(SMA, self.data.close, 8)

    def next(self):
        if crossover(self.fast, self.slow):
            self.position.close()
            self.buy()
        elif crossover(self.slow, self.fast):
            self.position.close()
            self.sell(size=0.5, limit=self.data.close[-1] * 1.01)
"""


def send(fd: int, message: dict[str, Any]) -> None:
    """Write one JSON line."""
    view = memoryview((json.dumps(message, allow_nan=False, separators=(",", ":")) + "\n").encode())
    while view:
        view = view[os.write(fd, view) :]


def _error(fd: int, failure: SandboxError) -> None:
    message = {
        "t": "error",
        "kind": failure.kind.value,
        "message": failure.message[:2000],
        "line": failure.line,
    }
    send(fd, message)


def warm() -> None:
    """Import and compile everything a runner uses, so that it reads no file once confined."""
    bars = warmup.sample_bars()
    warmup.warm_indicators(bars)
    warmup.warm_engine(bars)
    _allowed.preload()
    spec = PaperSpec(source=_WARM_SOURCE, symbols=("WARM",))
    strategy = pick_class(load_module(_WARM_SOURCE), None)
    windows = [
        Window(i * 1000, {"WARM": (o, h, lo, c, v)})
        for i, (o, h, lo, c, v) in enumerate(
            zip(bars["open"], bars["high"], bars["low"], bars["close"], bars["volume"], strict=True)
        )
    ]
    for n in (len(windows) // 2, len(windows)):
        decide(strategy, {}, windows[:n], spec=spec, account="warm")
    for kernel in _jit.KERNELS:
        kernel.dispatcher()


def _static_checks(source: str) -> None:
    try:
        violation = check_source(source)
    except SourceSyntaxError as exc:
        raise SandboxError(ErrorKind.SYNTAX, str(exc), exc.line) from exc
    if violation is not None:
        raise SandboxError(ErrorKind.FORBIDDEN, violation.message, violation.line)


def main() -> NoReturn:
    """The keeper: read the configuration, warm up, check, isolate, fork the runner and wait for it."""
    protocol = os.dup(1)
    os.dup2(2, 1)  # printing never reaches the protocol
    try:
        config = json.loads(sys.stdin.readline())
        limits = SandboxLimits(**config.get("limits", {}))
        warm()
        if config.get("checks", True):
            _static_checks(config["source"])
        plan = _isolation.probe() if config.get("plan") is None else _plan(config["plan"])
        _isolation.die_with_parent()
        scratch = Path(tempfile.mkdtemp(prefix="quanta-paper-"))
        uid = _isolation.enter_namespaces(plan, scratch)
    except SandboxError as exc:
        _error(protocol, exc)
        os._exit(1)
    except BaseException as exc:
        _error(protocol, SandboxError(ErrorKind.INTERNAL, f"sandbox setup failed: {exc}"))
        os._exit(1)
    pid = os.fork()
    if pid == 0:
        _runner(config, plan, uid, limits, protocol)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGKILL))
    _, status = os.waitpid(pid, 0)
    shutil.rmtree(scratch, ignore_errors=True)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _plan(name: str) -> _isolation.Plan:
    return next(p for p in _isolation.PLANS if p.name == name)


def _runner(
    config: dict[str, Any], plan: _isolation.Plan, uid: int, limits: SandboxLimits, fd: int
) -> NoReturn:
    """The forked runner: confine, import the strategy, answer requests."""
    try:
        _isolation.die_with_parent()
        _isolation.confine(plan, uid, limits, _isolation.address_space())
        _isolation.die_with_parent()  # changing uid cleared it: the runner must not outlive its keeper
        forget_violations()
        strategy = pick_class(
            load_module(config["source"], checks=config.get("checks", True)), config["class"]
        )
        params = strategy.resolve_params(config.get("params", {}))
        spec = PaperSpec.model_validate(config["spec"])
        send(fd, {"t": "ready", "plan": plan.name, "walls": plan.layers()})
        _serve(strategy, params, spec, config["account"], fd)
    except BaseException as exc:
        _error(fd, classify(exc, limits))
        os._exit(1)
    os._exit(0)


def _serve(strategy: type[Strategy], params: dict[str, Any], spec: PaperSpec, account: str, fd: int) -> None:
    windows: list[Window] = []
    for line in sys.stdin:
        request = json.loads(line)
        windows.extend(
            Window(int(start), {s: tuple(v) for s, v in bars.items()}) for start, bars in request["w"]
        )
        if not request.get("d"):
            send(fd, {"t": "ok"})
            continue
        orders = decide(strategy, params, windows, spec=spec, account=account)
        if violations():
            raise SandboxError(ErrorKind.FORBIDDEN, violations()[0])
        send(fd, {"t": "orders", "o": [encode_order(o).decode() for o in orders]})


if __name__ == "__main__":
    main()
