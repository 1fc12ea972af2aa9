"""Put the API on a FastAPI app: ``install_api(app)`` adds the routers, problem+json errors and what
the routes share (backtest workers, the sign-in providers' cache, the market store)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from quanta.api.backtests import BacktestRunner
from quanta.api.deps import ApiConfig, MarketAccess
from quanta.api.problems import install_problem_handlers
from quanta.api.routes import backtests, chat, competitions, login, market, oauth, paper, problems, workspace
from quanta.oauth.service import ProviderDirectory

V1 = "/api/v1"


@dataclass(kw_only=True)
class ApiRuntime:
    """What the API's routes share within one app (``app.state.quanta_api``)."""

    config: ApiConfig
    runner: BacktestRunner
    directory: ProviderDirectory
    market: MarketAccess | None = None


def install_api(
    app: FastAPI, *, config: ApiConfig | None = None, directory: ProviderDirectory | None = None
) -> None:
    """Add Quanta's REST API (``/api/v1``), OAuth server (``/api/oauth``), social sign-in
    (``/api/auth/oidc``) and problem types to ``app``; every error of ``app`` becomes a problem."""
    config = config or ApiConfig()
    app.state.quanta_api = ApiRuntime(
        config=config,
        runner=BacktestRunner(workers=config.backtest_workers),
        directory=directory or ProviderDirectory(),
    )
    install_problem_handlers(app)
    app.include_router(market.router, prefix=V1)
    app.include_router(backtests.router, prefix=V1)
    app.include_router(workspace.router, prefix=V1)
    app.include_router(competitions.router, prefix=V1)
    app.include_router(chat.router, prefix=V1)
    app.include_router(paper.router, prefix=V1)
    app.include_router(oauth.router)
    app.include_router(login.router)
    app.include_router(problems.router)


def shutdown_api(app: FastAPI) -> None:
    """Wait for running backtests and close the market store (at shutdown, and after tests)."""
    runtime: ApiRuntime = app.state.quanta_api
    runtime.runner.shutdown()
    if runtime.market is not None:
        runtime.market.close()
