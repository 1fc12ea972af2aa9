"""Paper-trading use cases: deploy a strategy version, stop, restart, list, and the account view.

Keyword-only arguments and an explicit session; the caller commits. Access comes from
``quanta.workspace.access``: the strategy's owner and editors may deploy, stop and restart; anyone who
may read the strategy (viewers, collaborators) may see its deployments and accounts. The desk that runs
the accounts follows the ``status`` column (``running_specs``), so these services never talk to it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import Session, col, select

from quanta.accounts.models import User, utcnow
from quanta.paper.broker import Account
from quanta.paper.errors import DeploymentNotFound, InvalidInput
from quanta.paper.models import (
    AccountView,
    DeploymentStatus,
    PaperBar,
    PaperCosts,
    PaperDeployment,
    PaperFill,
    PaperSpec,
    PositionView,
)
from quanta.paper.store import fill_event
from quanta.streaming.events import SYMBOL, interval_ms
from quanta.workspace.access import require_reader, require_writer, strategy_by_public_id
from quanta.workspace.models import Strategy, StrategyVersion
from quanta.workspace.service import get_version

PUBLIC_ID_PREFIX = "pp_"
_SHOWN_FILLS = 200


def deploy(
    *,
    session: Session,
    actor: User,
    strategy_id: str,
    version: int | None = None,
    symbols: Sequence[str],
    interval: str = "1s",
    capital: float = 10_000.0,
    costs: PaperCosts | None = None,
    params: Mapping[str, Any] | None = None,
) -> PaperDeployment:
    """Deploy ``version`` (default: the latest) of ``strategy_id`` to paper trading; owner or editor only."""
    strategy = strategy_by_public_id(session=session, public_id=strategy_id, user_id=actor.id)
    require_writer(session=session, strategy=strategy, user_id=actor.id)
    frozen = get_version(session=session, strategy=strategy, user_id=actor.id, number=version)
    spec = _checked_spec(
        frozen.source,
        symbols,
        interval=interval,
        capital=capital,
        costs=costs or PaperCosts(),
        params=params or {},
    )
    assert strategy.id is not None
    assert frozen.id is not None
    assert actor.id is not None
    deployment = PaperDeployment(
        public_id=PUBLIC_ID_PREFIX + secrets.token_urlsafe(9),
        strategy_id=strategy.id,
        version_id=frozen.id,
        version_number=frozen.number,
        owner_id=actor.id,
        symbols=list(spec.symbols),
        interval=spec.interval,
        capital=spec.capital,
        costs=spec.costs.model_dump(),
        params=dict(spec.params),
    )
    session.add(deployment)
    session.flush()
    return deployment


def _checked_spec(
    source: str,
    symbols: Sequence[str],
    *,
    interval: str,
    capital: float,
    costs: PaperCosts,
    params: Mapping[str, Any],
) -> PaperSpec:
    names = tuple(dict.fromkeys(s.strip().upper() for s in symbols if s.strip()))
    if not names or any(SYMBOL.fullmatch(s) is None for s in names):
        raise InvalidInput("symbols", "Give one to eight symbols, such as GOOG or GOOG,AAPL.")
    try:
        interval_ms(interval)
    except ValueError as exc:
        raise InvalidInput("interval", f"Unknown interval {interval!r}.") from exc
    if not capital > 0:
        raise InvalidInput("capital", "The capital must be a positive amount.")
    try:
        return PaperSpec(
            source=source, symbols=names, interval=interval, capital=capital, costs=costs, params=dict(params)
        )
    except ValueError as exc:
        raise InvalidInput("symbols", str(exc).splitlines()[0]) from exc


def _deployment(session: Session, public_id: str, user_id: int | None, *, write: bool) -> PaperDeployment:
    row = find_deployment(session=session, public_id=public_id)
    if row is None:
        raise DeploymentNotFound
    strategy = session.get(Strategy, row.strategy_id)
    if strategy is None:
        raise DeploymentNotFound
    try:
        require_reader(session=session, strategy=strategy, user_id=user_id)
    except LookupError as exc:
        raise DeploymentNotFound from exc
    if write:
        require_writer(session=session, strategy=strategy, user_id=user_id)
    return row


def find_deployment(*, session: Session, public_id: str) -> PaperDeployment | None:
    """The deployment ``public_id`` without an access check (for the desk and the live topics' snapshots)."""
    return session.exec(select(PaperDeployment).where(col(PaperDeployment.public_id) == public_id)).first()


def get_deployment(*, session: Session, public_id: str, user_id: int | None) -> PaperDeployment:
    """The deployment ``public_id`` if ``user_id`` may read its strategy."""
    return _deployment(session, public_id, user_id, write=False)


def stop(*, session: Session, actor: User, public_id: str) -> PaperDeployment:
    """Stop a deployment (its account is kept; ``restart`` resumes it)."""
    return _set_status(_deployment(session, public_id, actor.id, write=True), DeploymentStatus.STOPPED, "")


def restart(*, session: Session, actor: User, public_id: str) -> PaperDeployment:
    """Run a stopped or failed deployment again, from its stored account."""
    return _set_status(_deployment(session, public_id, actor.id, write=True), DeploymentStatus.RUNNING, "")


def mark_failed(*, session: Session, public_id: str, error: str) -> None:
    """The desk's report that a deployment's runner failed."""
    row = find_deployment(session=session, public_id=public_id)
    if row is not None:
        _set_status(row, DeploymentStatus.FAILED, error)
        session.add(row)


def _set_status(row: PaperDeployment, status: DeploymentStatus, error: str) -> PaperDeployment:
    row.status, row.error, row.updated_at = status, error[:2000], utcnow()
    return row


def list_deployments(*, session: Session, strategy_id: str, user_id: int | None) -> list[PaperDeployment]:
    """The deployments of a strategy the caller may read, newest first."""
    strategy = strategy_by_public_id(session=session, public_id=strategy_id, user_id=user_id)
    query = (
        select(PaperDeployment)
        .where(col(PaperDeployment.strategy_id) == strategy.id)
        .order_by(col(PaperDeployment.id).desc())
    )
    return list(session.exec(query))


def running_specs(*, session: Session) -> dict[str, PaperSpec]:
    """What a desk should run: every running deployment's spec, by account."""
    rows = session.exec(
        select(PaperDeployment, StrategyVersion)
        .join(StrategyVersion, col(StrategyVersion.id) == col(PaperDeployment.version_id))
        .where(col(PaperDeployment.status) == DeploymentStatus.RUNNING)
    )
    return {row.public_id: spec_of(row, version.source) for row, version in rows}


def spec_of(row: PaperDeployment, source: str) -> PaperSpec:
    """The spec a deployment runs."""
    return PaperSpec(
        source=source,
        symbols=tuple(row.symbols),
        interval=row.interval,
        capital=row.capital,
        costs=PaperCosts.model_validate(row.costs),
        params=row.params,
    )


def account_view(*, session: Session, public_id: str, user_id: int | None) -> AccountView:
    """The deployment's account: cash, positions, equity and P&L from its fills and the last closes."""
    row = _deployment(session, public_id, user_id, write=False)
    return compute_view(session=session, account=row.public_id, capital=row.capital)


def compute_view(*, session: Session, account: str, capital: float) -> AccountView:
    """An account's view from its stored fills and bars (no access check: the caller made it)."""
    fills = [
        fill_event(f)
        for f in session.exec(
            select(PaperFill).where(col(PaperFill.account) == account).order_by(col(PaperFill.seq))
        )
    ]
    bars = list(
        session.exec(select(PaperBar).where(col(PaperBar.account) == account).order_by(col(PaperBar.start)))
    )
    last = {b.symbol: b.close for b in bars}
    state = Account.replay(capital, fills)
    positions = [
        PositionView(
            symbol=symbol,
            size=size,
            avg_price=state.avg_price(symbol),
            last_price=last.get(symbol, state.avg_price(symbol)),
            market_value=size * last.get(symbol, state.avg_price(symbol)),
            unrealized_pnl=size * (last.get(symbol, state.avg_price(symbol)) - state.avg_price(symbol)),
        )
        for symbol, size in sorted(state.positions.items())
    ]
    marks = {p.symbol: p.last_price for p in positions}
    equity = state.equity(marks)
    unrealized = sum(p.unrealized_pnl for p in positions)
    return AccountView(
        account=account,
        capital=capital,
        cash=state.cash,
        equity=equity,
        realized_pnl=equity - capital - unrealized,
        unrealized_pnl=unrealized,
        commissions=state.commissions,
        positions=positions,
        fills=[_fill_row(f) for f in fills[-_SHOWN_FILLS:]][::-1],
        last_bar=bars[-1].start if bars else None,
        equity_curve=_equity_curve(capital, fills, bars),
    )


def _fill_row(fill: Any) -> dict[str, Any]:
    return {
        "seq": fill.seq,
        "ts": fill.ts,
        "symbol": fill.symbol,
        "size": fill.size,
        "price": fill.price,
        "commission": fill.commission,
        "order_id": fill.order_id,
    }


def _equity_curve(capital: float, fills: Sequence[Any], bars: Sequence[PaperBar]) -> list[tuple[int, float]]:
    """Equity at each window's close (fills of a window happen at its open, so they count)."""
    state, curve, i = Account(capital=capital), [], 0
    closes: dict[str, float] = {}
    starts = sorted({b.start for b in bars})
    by_start: dict[int, list[PaperBar]] = {}
    for b in bars:
        by_start.setdefault(b.start, []).append(b)
    for start in starts:
        while i < len(fills) and fills[i].ts <= start:
            state.apply(fills[i])
            i += 1
        closes.update({b.symbol: b.close for b in by_start[start]})
        curve.append((start, state.equity({s: closes.get(s, 0.0) for s in state.positions})))
    return curve
