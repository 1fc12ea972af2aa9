"""A clock that tests move by hand, for expiry and throttling windows.

Services take ``now: datetime | None = None``; pass ``clock.now()`` and move time with ``clock.advance``::

    clock = FakeClock()
    token = create_personal_access_token(session=s, user=u, token_in=..., now=clock.now())
    clock.advance(days=91)
    with pytest.raises(TokenExpired):
        verify_personal_access_token(session=s, token=token.secret, now=clock.now())
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

DEFAULT_START = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


class FakeClock:
    """Aware UTC time that only moves when told to."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        if start.utcoffset() is None:
            msg = "FakeClock needs an aware datetime (tzinfo=UTC)"
            raise ValueError(msg)
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """The current fake time."""
        return self._now

    def __call__(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**parts)`` (``days=1``, ``minutes=15``…)."""
        step = delta if delta is not None else timedelta(**parts)
        if step < timedelta(0):
            msg = "a clock does not go backwards"
            raise ValueError(msg)
        self._now += step
        return self._now
