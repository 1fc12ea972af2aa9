"""The strategy workspace: strategies as first-class objects with immutable versions, collaborators,
forks with lineage, stars and a gallery of public strategies. For example::

    with db.session() as unit:
        strategy = create_strategy(
            session=unit, owner=me, strategy_in=StrategyCreate(title="SMA cross", source=code)
        )
    with db.session() as unit:
        strategy = strategy_by_public_id(session=unit, public_id="st_…", user_id=me.id)
        create_version(session=unit, actor=me, strategy=strategy, version_in=VersionCreate(source=new_code))

Use cases live in ``quanta.workspace.service``, who may do what in ``quanta.workspace.access``, tables and
value objects in ``quanta.workspace.models``, errors in ``quanta.workspace.errors``, runs of a strategy in the
sandbox in ``quanta.workspace.runs``; ``strategy_classes(source)`` reads a source's strategy classes and
their parameters without running it. See docs/workspace.md.
"""

from quanta.workspace import (
    _cascade,  # noqa: F401  (deletes workspace rows with their people, on SQLite too)
    access,
    errors,
    models,
    service,
)
from quanta.workspace._params import StrategyClassInfo, default_symbols, strategy_classes
from quanta.workspace.access import Access, role_for, role_for_public_id
from quanta.workspace.errors import (
    Forbidden,
    InvalidSource,
    StrategyNotFound,
    VersionNotFound,
    WorkspaceError,
)
from quanta.workspace.models import CollaboratorRole, GallerySort, Visibility

__all__ = [
    "Access",
    "CollaboratorRole",
    "Forbidden",
    "GallerySort",
    "InvalidSource",
    "StrategyClassInfo",
    "StrategyNotFound",
    "VersionNotFound",
    "Visibility",
    "WorkspaceError",
    "access",
    "default_symbols",
    "errors",
    "models",
    "role_for",
    "role_for_public_id",
    "service",
    "strategy_classes",
]
