"""Load what a run needs: a strategy class from a user's file, and market data from the store.

``load_strategy`` imports a ``.py`` file and picks its ``Strategy`` subclass (or the one named);
``StrategyRef`` says where a class lives so a worker process can load it again. ``market_store``
opens the market store read-only (the web app may hold the DuckDB file: opening retries for a few
seconds, then says who holds the lock) and ``load_market`` reads aligned bars for one or more symbols.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import duckdb
import pandas as pd
from ibis.backends import BaseBackend  # type: ignore[import-untyped]

from quanta.data import bars, connect, date_range
from quanta.data.errors import MarketDataError, close_matches
from quanta.data.queries import Timeframe
from quanta.settings import Settings
from quanta.strategy import Strategy

_QUANTA_DIR = Path(__file__).resolve().parent
_PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
_T = TypeVar("_T")

DateLike = date | datetime | str


class StrategyLoadError(ValueError):
    """A strategy file cannot be loaded, or does not name one ``Strategy`` subclass."""


class DatabaseLockedError(OSError):
    """A DuckDB file stayed locked by another process for longer than we wait."""


class EmptyRangeError(MarketDataError, ValueError):
    """The requested date range holds no bars (or the symbols share no timestamps)."""


# -- strategies ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyRef:
    """Where a strategy class lives: a module name and qualified name, plus its file when it has one.

    Picklable, so a worker process started with ``spawn`` can load the class from the file again.
    """

    module: str
    qualname: str
    path: str | None = None

    @classmethod
    def of(cls, strategy: type[Strategy]) -> StrategyRef:
        """The reference of a loaded class."""
        try:
            path: str | None = inspect.getfile(strategy)
        except (OSError, TypeError):
            path = None
        return cls(module=strategy.__module__, qualname=strategy.__qualname__, path=path)

    def load(self) -> type[Strategy]:
        """The class: from the loaded module, else by importing it, else from its file."""
        module = sys.modules.get(self.module)
        if module is None:
            if self.path is not None and self.module.startswith(_USER_PREFIX):
                module = _import_file(Path(self.path), self.module)
            else:
                module = importlib.import_module(self.module)
        value: Any = module
        for part in self.qualname.split("."):
            value = getattr(value, part)
        if not (isinstance(value, type) and issubclass(value, Strategy)):
            raise StrategyLoadError(f"{self.module}.{self.qualname} is not a Strategy subclass")
        return value


_USER_PREFIX = "quanta_user_"


def load_strategy(path: str | Path, class_name: str | None = None) -> type[Strategy]:
    """The ``Strategy`` subclass defined in the file at ``path`` (the one named ``class_name``).

    Without a name the file must define exactly one strategy (a class other strategies in the file
    derive from does not count). Errors name the file and, for code that fails on import, the line.
    """
    file = Path(path).resolve()
    if not file.is_file():
        raise StrategyLoadError(f"strategy file not found: {path}")
    if file.suffix != ".py":
        raise StrategyLoadError(f"strategy file must be a .py file: {path}")
    module = _import_file(file, module_name(file))
    return _pick_class(module, file, class_name)


def module_name(file: Path) -> str:
    """The module name a strategy file is imported under.

    Files inside the ``quanta`` package (the bundled examples) keep their dotted name; any other file
    gets a name from its stem and a hash of its content, so reloading an unchanged file reuses the
    module and receipts name the same module on every machine.
    """
    if file.is_relative_to(_QUANTA_DIR):
        parts = file.relative_to(_QUANTA_DIR.parent).with_suffix("").parts
        return ".".join(parts)
    stem = re.sub(r"\W", "_", file.stem)
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:10]
    return f"{_USER_PREFIX}{stem}_{digest}"


def _import_file(file: Path, name: str) -> ModuleType:
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    if not name.startswith(_USER_PREFIX):
        return importlib.import_module(name)
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise StrategyLoadError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        del sys.modules[name]
        where = f'File "{exc.filename}", line {exc.lineno}'
        raise StrategyLoadError(f"{file.name} has a syntax error: {exc.msg}\n  {where}") from exc
    except Exception as exc:
        del sys.modules[name]
        raise StrategyLoadError(_import_failure(file, exc)) from exc
    return module


def _import_failure(file: Path, exc: Exception) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == file]
    where = (
        f'\n  File "{file}", line {frames[-1].lineno}\n    {(frames[-1].line or "").strip()}'
        if frames
        else ""
    )
    return f"importing {file.name} failed: {type(exc).__name__}: {exc}{where}"


def _pick_class(module: ModuleType, file: Path, class_name: str | None) -> type[Strategy]:
    defined = {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, Strategy)
        and value is not Strategy
        and value.__module__ == module.__name__
    }
    if class_name is not None:
        if class_name in defined:
            return defined[class_name]
        hint = close_matches(class_name, defined)
        suggestion = f" Did you mean: {', '.join(hint)}?" if hint else ""
        raise StrategyLoadError(
            f"{file.name} defines no strategy {class_name!r}.{suggestion} Strategies: {_names(defined)}."
        )
    leaves = [
        c for c in defined.values() if not any(o is not c and issubclass(o, c) for o in defined.values())
    ]
    if len(leaves) == 1:
        return leaves[0]
    if not leaves:
        raise StrategyLoadError(f"{file.name} defines no Strategy subclass")
    names = ", ".join(sorted(c.__name__ for c in leaves))
    raise StrategyLoadError(f"{file.name} defines several strategies ({names}); choose one with --class NAME")


def _names(defined: Mapping[str, type]) -> str:
    return ", ".join(sorted(defined)) or "none"


# -- databases -------------------------------------------------------------------------------------


def retry_locked(open_: Callable[[], _T], *, what: str, wait: float = 5.0) -> _T:
    """``open_()``, retried with backoff while DuckDB reports the file locked, for up to ``wait`` s."""
    deadline = time.monotonic() + wait
    delay = 0.02
    while True:
        try:
            return open_()
        except duckdb.IOException as exc:
            if not is_lock_error(exc):
                raise
            if time.monotonic() + delay > deadline:
                raise DatabaseLockedError(f"{what} is locked by another process: {_holder(exc)}") from exc
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def is_lock_error(exc: BaseException) -> bool:
    """True when ``exc`` is DuckDB refusing a file another process holds."""
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def _holder(exc: BaseException) -> str:
    found = re.search(r"\(PID (\d+)\)", str(exc))
    return f"PID {found.group(1)}" if found else str(exc)


@contextlib.contextmanager
def market_store(settings: Settings, *, wait: float = 5.0) -> Iterator[BaseBackend]:
    """The market store opened for reading, closed on exit.

    A DuckDB file is opened read-only, waiting up to ``wait`` seconds while a writer (an upload,
    ``quanta data load``) holds it.
    """
    if not settings.market_database_url and not settings.market_duckdb_path.exists():
        raise MarketDataError(
            f"no market data at {settings.market_duckdb_path}: run `quanta data load` first"
        )
    what = f"the market store {settings.market_duckdb_path}"
    con = retry_locked(lambda: connect(settings, read_only=True), what=what, wait=wait)
    try:
        yield con
    finally:
        con.disconnect()


# -- market data -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class MarketData:
    """Bars of one or more symbols on one shared index (``ts``), ready for ``Backtest``.

    ``frames`` maps each symbol to a frame with ``open, high, low, close, volume`` columns;
    ``dropped`` counts the bars of each symbol left out to align the symbols on common timestamps.
    """

    frames: dict[str, pd.DataFrame]
    dropped: dict[str, int]

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbols, in the order asked for."""
        return tuple(self.frames)

    @property
    def data(self) -> dict[str, pd.DataFrame]:
        """What ``Backtest`` takes: the ``{symbol: frame}`` mapping (so results name the symbols)."""
        return dict(self.frames)

    @property
    def index(self) -> pd.DatetimeIndex:
        """The shared timestamps."""
        return pd.DatetimeIndex(next(iter(self.frames.values())).index)

    def closes(self) -> pd.DataFrame:
        """Closing prices, one column per symbol."""
        return pd.DataFrame({s: f["close"] for s, f in self.frames.items()})


def load_market(
    con: BaseBackend,
    symbols: Sequence[str],
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
    timeframe: Timeframe = "1D",
) -> MarketData:
    """Bars of ``symbols`` in ``[start, end]`` (inclusive), aligned on the timestamps all of them have.

    Raises ``UnknownSymbolError`` (with "did you mean") for a symbol that is not stored and
    ``EmptyRangeError`` when a symbol has no bars in the range or the symbols share none.
    """
    if not symbols:
        raise ValueError("no symbol given: pass at least one --symbol")
    if len(set(symbols)) != len(symbols):
        raise ValueError(f"symbols repeat: {list(symbols)}")
    raw = {s: _symbol_frame(con, s, start, end, timeframe) for s in symbols}
    common = _common_index(raw)
    frames = {s: f.loc[common] for s, f in raw.items()}
    dropped = {s: len(raw[s]) - len(common) for s in symbols}
    return MarketData(frames=frames, dropped=dropped)


def _symbol_frame(
    con: BaseBackend, symbol: str, start: DateLike | None, end: DateLike | None, timeframe: Timeframe
) -> pd.DataFrame:
    frame = bars(con, symbol, start=start, end=end, timeframe=timeframe).execute()
    if frame.empty:
        first, last = date_range(con, symbol)
        raise EmptyRangeError(
            f"no {symbol} bars between {_show(start) or 'the start'} and {_show(end) or 'the end'}; "
            f"{symbol} has bars from {first:%Y-%m-%d} to {last:%Y-%m-%d}"
        )
    frame = frame.set_index(pd.DatetimeIndex(frame["ts"], name="ts"))
    prices: pd.DataFrame = frame.loc[:, list(_PRICE_COLUMNS)].astype(float)
    return prices


def _common_index(frames: Mapping[str, pd.DataFrame]) -> pd.DatetimeIndex:
    index: pd.Index | None = None
    for frame in frames.values():
        index = frame.index if index is None else index.intersection(frame.index)
    if index is None or index.empty:
        spans = "; ".join(f"{s} {f.index[0]:%Y-%m-%d}..{f.index[-1]:%Y-%m-%d}" for s, f in frames.items())
        raise EmptyRangeError(f"the symbols share no timestamps in the range ({spans})")
    return pd.DatetimeIndex(index.sort_values())


def _show(value: DateLike | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else value.isoformat()
