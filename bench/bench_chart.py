"""How fast the explorer shows a 5,000-bar chart, and how many bytes the chart data costs on the wire.

Serves the app in production mode, opens the S&P 500 index (5,031 daily bars) and MSFT.PMD (7,983) in
headless Chromium, and times navigation → candles drawn (the chart's ``data-bars`` attribute is set after
``setData``). Also reports the websocket bytes received per page load.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import Page, sync_playwright

from quanta.testing.app_server import CHROMIUM, CHROMIUM_ARGS, serve_app

SYMBOLS = ("^GSPC", "MSFT.PMD")
REPEATS = 5


def time_chart(page: Page, url: str, symbol: str) -> tuple[float, int, int]:
    received: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: received.append(len(frame))))
    started = time.perf_counter()
    page.goto(f"{url}/markets?symbol={quote(symbol)}")
    chart = page.get_by_test_id("candle-chart")
    page.wait_for_function(
        "([el, sym]) => el.dataset.bars && Number(el.dataset.bars) > 1000 && "
        "document.querySelector('[data-testid=symbol-heading]').textContent === sym",
        arg=[chart.element_handle(), symbol],
    )
    elapsed = time.perf_counter() - started
    bars = int(chart.get_attribute("data-bars") or 0)
    return elapsed, bars, sum(received)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, serve_app(Path(folder)) as app, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
        for symbol in SYMBOLS:
            runs = []
            for _ in range(REPEATS):
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                runs.append(time_chart(page, app.url, symbol))
                page.close()
            seconds = statistics.median(run[0] for run in runs)
            bars, wire = runs[-1][1], runs[-1][2]
            print(
                f"{symbol:9} {bars:>6,} bars: page load → candles drawn median {seconds * 1000:6.0f} ms "
                f"(of {REPEATS}); websocket {wire / 1024:7.0f} KiB ({wire / bars:5.0f} B/bar)"
            )
        browser.close()


if __name__ == "__main__":
    main()
