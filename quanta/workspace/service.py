"""The workspace use cases, in one place. Each takes keyword-only arguments and an explicit session,
checks through ``quanta.workspace.access`` that the actor may do what it asks, and raises a typed error
from ``quanta.workspace.errors``. The caller owns the unit of work and commits.

Writers are given as ``actor: User``; readers as ``user_id: int | None`` (None: not signed in, or an
organisation's API client). Time-dependent services take ``now`` (aware UTC; default: the current time).
"""

from __future__ import annotations

from quanta.workspace._collaborators import (
    add_collaborator,
    change_collaborator_role,
    list_collaborators,
    remove_collaborator,
)
from quanta.workspace._gallery import record_verified_backtest, search_gallery
from quanta.workspace._social import (
    fork_strategy,
    has_starred,
    lineage,
    list_forks,
    star_strategy,
    starred_strategy,
    unstar_strategy,
)
from quanta.workspace._strategies import (
    create_strategy,
    delete_strategy,
    list_own_strategies,
    list_shared_strategies,
    strategy_view,
    strategy_views,
    update_strategy,
)
from quanta.workspace._versions import (
    create_version,
    diff_versions,
    get_version,
    list_versions,
    restore_version,
    version_summaries,
    version_view,
)
from quanta.workspace.access import strategy_by_public_id

__all__ = [
    "add_collaborator",
    "change_collaborator_role",
    "create_strategy",
    "create_version",
    "delete_strategy",
    "diff_versions",
    "fork_strategy",
    "get_version",
    "has_starred",
    "lineage",
    "list_collaborators",
    "list_forks",
    "list_own_strategies",
    "list_shared_strategies",
    "list_versions",
    "record_verified_backtest",
    "remove_collaborator",
    "restore_version",
    "search_gallery",
    "star_strategy",
    "starred_strategy",
    "strategy_by_public_id",
    "strategy_view",
    "strategy_views",
    "unstar_strategy",
    "update_strategy",
    "version_summaries",
    "version_view",
]
