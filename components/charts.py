"""Charts on TradingView's open-source lightweight-charts, wrapped as Reflex components."""

from __future__ import annotations

from typing import Any

import reflex as rx

LIGHTWEIGHT_CHARTS = "lightweight-charts@5.2.1"


class CandleChart(rx.Component):
    """Candles with a volume histogram, line overlays and markers; columnar data ``{t, o, h, l, c, v}``."""

    library = "$/public/" + rx.asset("candles.jsx", shared=True)
    lib_dependencies: list[str] = [LIGHTWEIGHT_CHARTS]
    tag = "CandleChart"

    bars: rx.Var[dict[str, list[float]]]
    overlays: rx.Var[list[dict[str, Any]]]
    markers: rx.Var[list[dict[str, Any]]]
    theme: rx.Var[str]
    height: rx.Var[int]


class LineChart(rx.Component):
    """Lines or areas over time; columnar data ``{t, series: [{name, color, values, area}]}``."""

    library = "$/public/" + rx.asset("lines.jsx", shared=True)
    lib_dependencies: list[str] = [LIGHTWEIGHT_CHARTS]
    tag = "LineChart"

    data: rx.Var[dict[str, Any]]
    theme: rx.Var[str]
    height: rx.Var[int]


def line_chart(data: rx.Var[dict[str, Any]], height: int = 260) -> rx.Component:
    """A line/area chart that follows the app's light/dark mode."""
    return LineChart.create(data=data, theme=rx.color_mode_cond(light="light", dark="dark"), height=height)


def candle_chart(
    bars: rx.Var[dict[str, list[float]]],
    overlays: rx.Var[list[dict[str, Any]]] | list[dict[str, Any]] | None = None,
    markers: rx.Var[list[dict[str, Any]]] | list[dict[str, Any]] | None = None,
    height: int = 460,
) -> rx.Component:
    """A candle chart that follows the app's light/dark mode."""
    return CandleChart.create(
        bars=bars,
        overlays=overlays if overlays is not None else [],
        markers=markers if markers is not None else [],
        theme=rx.color_mode_cond(light="light", dark="dark"),
        height=height,
    )
