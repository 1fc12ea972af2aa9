"""Tests of quanta.indicators: TA-Lib parity, properties, registry and Ibis forms."""
