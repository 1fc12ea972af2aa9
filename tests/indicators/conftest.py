"""Fixtures for the indicator tests."""

from __future__ import annotations

import numpy as np
import pytest

from tests.indicators.helpers import input_map, load_goog


@pytest.fixture(scope="session")
def goog() -> dict[str, np.ndarray]:
    """GOOG bars with every TA-Lib input name available."""
    return input_map(load_goog())
