"""State of the strategy page's paper-trading panel: the deploy form, the strategy's deployments, and which
account the live view follows.

Handlers resolve the session, call one ``quanta.paper.service`` use case (which checks the caller's access:
owners and editors deploy, stop and restart; readers watch) and keep a small list of rows. The account's
numbers never pass through this state: the ``PaperAccount`` component follows ``paper.<account>`` on the
broadcast websocket itself.
"""

from __future__ import annotations

import reflex as rx
from pydantic import BaseModel

from quanta import db
from quanta.accounts import AccountsError
from quanta.paper import service
from quanta.paper.models import PaperCosts, PaperDeployment
from quanta.settings import get_settings
from state.auth import AuthState
from state.views import last_segment


class DeploymentRow(BaseModel):
    """One deployment as the panel lists it."""

    id: str
    version: int
    symbols: str
    capital: float
    status: str
    error: str


def _row(row: PaperDeployment) -> DeploymentRow:
    return DeploymentRow(
        id=row.public_id,
        version=row.version_number,
        symbols=", ".join(row.symbols),
        capital=row.capital,
        status=row.status,
        error=row.error,
    )


class PaperState(AuthState):
    """The paper-trading panel of one strategy."""

    strategy_id: str = ""
    deployments: list[DeploymentRow] = []
    account: str = ""
    symbols: str = ""
    capital: str = "10000"
    commission: str = "0.001"
    error: str = ""
    message: str = ""

    @rx.var
    def live_symbols(self) -> str:
        """The symbols with live bars (what a deployment can trade here)."""
        return ", ".join(get_settings().live_symbol_list)

    @rx.event
    def load(self) -> None:
        """List the deployments of the page's strategy and follow the newest running one."""
        self.strategy_id = last_segment(self.router.url.path)
        self.symbols = self.symbols or get_settings().live_symbol_list[0]
        self.error = ""
        self._refresh(follow_newest=True)

    @rx.event
    def deploy(self, form: dict[str, str]) -> None:
        """Deploy the latest version on the form's symbols with its capital."""
        self.error, self.message = "", ""
        symbols = [s.strip() for s in form.get("symbols", self.symbols).split(",")]
        live = set(get_settings().live_symbol_list)
        unknown = [s for s in symbols if s.strip().upper() not in live]
        if unknown:
            self.error = f"No live bars for {', '.join(unknown)}; pick from {', '.join(sorted(live))}."
            return
        try:
            capital = float(form.get("capital", self.capital))
            costs = PaperCosts(commission=float(form.get("commission", self.commission) or 0))
        except ValueError:
            self.error = (
                "The capital and the commission must be numbers (commission as a fraction, e.g. 0.001)."
            )
            return
        try:
            with db.session() as unit:
                user = self._user(unit)
                if user is None:
                    self.error = "Sign in to deploy."
                    return
                row = service.deploy(
                    session=unit,
                    actor=user,
                    strategy_id=self.strategy_id,
                    symbols=symbols,
                    capital=capital,
                    costs=costs,
                )
                self.account = row.public_id
                self.message = f"Deployed version {row.version_number} to paper trading as {row.public_id}."
        except AccountsError as exc:
            self.error = str(exc)
            return
        self._refresh(follow_newest=False)

    @rx.event
    def stop(self, account: str) -> None:
        """Stop a deployment (its account is kept)."""
        self._act(account, stop=True)

    @rx.event
    def restart(self, account: str) -> None:
        """Run a stopped or failed deployment again."""
        self._act(account, stop=False)

    @rx.event
    def follow(self, account: str) -> None:
        """Show this deployment's account live."""
        self.account = account

    def _act(self, account: str, *, stop: bool) -> None:
        self.error, self.message = "", ""
        try:
            with db.session() as unit:
                user = self._user(unit)
                if user is None:
                    self.error = "Sign in first."
                    return
                change = service.stop if stop else service.restart
                change(session=unit, actor=user, public_id=account)
        except AccountsError as exc:
            self.error = str(exc)
            return
        self._refresh(follow_newest=False)

    def _refresh(self, *, follow_newest: bool) -> None:
        try:
            with db.session() as unit:
                user = self._user(unit)
                rows = service.list_deployments(
                    session=unit, strategy_id=self.strategy_id, user_id=user.id if user is not None else None
                )
                self.deployments = [_row(r) for r in rows]
        except AccountsError:
            self.deployments = []
            return
        running = [r.id for r in self.deployments if r.status == "running"]
        if follow_newest or not self.account:
            self.account = running[0] if running else (self.deployments[0].id if self.deployments else "")
