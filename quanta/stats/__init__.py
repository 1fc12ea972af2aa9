"""Performance statistics of a backtest, defined as backtesting.py 0.6.6 defines them (docs/stats.md)."""

from quanta.stats._compute import STAT_NAMES, Drawdown, Frame, Stats, compute_stats, drawdown, geometric_mean

__all__ = ["STAT_NAMES", "Drawdown", "Frame", "Stats", "compute_stats", "drawdown", "geometric_mean"]
