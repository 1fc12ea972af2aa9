"""Upload history: every user file of bars that was imported or refused, and why."""

from __future__ import annotations

from sqlmodel import Session, col, select

from quanta.models import DataImport

_MESSAGE_LIMIT = 2000


def record_import(
    *, session: Session, symbol: str, filename: str, rows: int, accepted: bool, message: str = ""
) -> DataImport:
    """Add one upload to the history."""
    entry = DataImport(
        symbol=symbol, filename=filename[:255], rows=rows, accepted=accepted, message=message[:_MESSAGE_LIMIT]
    )
    session.add(entry)
    session.flush()
    return entry


def recent_imports(*, session: Session, limit: int = 10) -> list[DataImport]:
    """The newest uploads first."""
    query = select(DataImport).order_by(col(DataImport.created_at).desc(), col(DataImport.id).desc())
    return list(session.exec(query.limit(limit)))
