"""The run store: backtests and optimisations saved apart from the market data, to list, load and report.

```python
with run_store(settings) as con:
    run_id = save_run(con=con, result=result, meta=RunMeta(strategy_file="sma.py"))
with run_store(settings, read_only=True) as con:
    run = load_run(con=con, run_id=run_id)  # run.stats, run.equity, run.trades, run.receipt
```
"""

from quanta.runs.codec import display, json_value, number, result_json, stats_json, trade_records
from quanta.runs.errors import RunNotFoundError, RunStoreError
from quanta.runs.models import HEADLINE, RunKind, RunMeta, RunSummary, StoredRun
from quanta.runs.service import (
    delete_run,
    list_runs,
    load_run,
    new_run_id,
    resolve_run_id,
    run_store,
    runs_path,
    save_run,
)

__all__ = [
    "HEADLINE",
    "RunKind",
    "RunMeta",
    "RunNotFoundError",
    "RunStoreError",
    "RunSummary",
    "StoredRun",
    "delete_run",
    "display",
    "json_value",
    "list_runs",
    "load_run",
    "new_run_id",
    "number",
    "resolve_run_id",
    "result_json",
    "run_store",
    "runs_path",
    "save_run",
    "stats_json",
    "trade_records",
]
