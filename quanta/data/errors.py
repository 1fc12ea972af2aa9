"""Errors raised by the market-data layer."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


class MarketDataError(Exception):
    """Base class for market-data errors that carry a message fit for end users."""


class UnknownSymbolError(MarketDataError, LookupError):
    """No instrument with this symbol is stored; the message suggests close matches."""

    def __init__(self, symbol: str, known: Iterable[str]) -> None:
        known = list(known)
        self.symbol = symbol
        self.suggestions = close_matches(symbol, known)
        super().__init__(self._message(any_known=bool(known)))

    def _message(self, *, any_known: bool) -> str:
        if self.suggestions:
            options = ", ".join(repr(s) for s in self.suggestions)
            return f"unknown symbol {self.symbol!r}; did you mean {options}?"
        if not any_known:
            return f"unknown symbol {self.symbol!r}: no market data is stored yet (run `quanta data load`)"
        return f"unknown symbol {self.symbol!r} (see `quanta data list` for the stored symbols)"


class DataValidationError(MarketDataError, ValueError):
    """Input data broke a rule; ``problems`` lists the first few violations, each naming its row."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        self.problems = tuple(problems)
        super().__init__(message)


def close_matches(word: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` candidates that look like ``word``, ignoring case, closest first.

    difflib finds the candidates; ranking by edit distance (a swap counts once), then by length
    difference, puts ``AAPL`` before ``PPL`` for ``APPL``.
    """
    by_folded = {c.casefold(): c for c in candidates}
    folded = word.casefold()
    hits = difflib.get_close_matches(folded, list(by_folded), n=max(n, 10), cutoff=0.6)
    hits.sort(key=lambda h: (_edit_distance(folded, h), abs(len(h) - len(folded)), h))
    return [by_folded[h] for h in hits[:n]]


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps."""
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, rows[-2][j - 2] + 1)
            row.append(cost)
        rows.append(row)
    return rows[-1][-1]
