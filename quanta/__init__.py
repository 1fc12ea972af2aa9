"""Quanta: write, backtest, run and share algorithmic trading strategies.

The core library is UI-free: the Reflex app, the pipelines, notebooks and the CLI all build on it.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
