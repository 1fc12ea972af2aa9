"""Sandbox queue latency: how soon a queued GOOG SMA-crossover backtest starts, and how soon it is done.

Starts warm sandbox workers on a throw-away app database (SQLite) and market store (the bundled GOOG
bars), then submits the bundled ``sma_cross.py`` source as a job, one at a time, and polls the job's row:
*start* is submit → status ``running`` (a worker claimed it), *done* is submit → ``succeeded`` (data
loaded, keeper and runner forked, walls up, backtest run, JSON result stored). A burst of jobs from two
people then shows the throughput of the pool. For reference, the same backtest in this process.
Target: start < 300 ms.

    python bench/bench_queue.py [--jobs 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlmodel import Session, col, select

from quanta import Backtest, db
from quanta.accounts.models import User
from quanta.data import SOURCES, connect, load_bundled
from quanta.examples.sma_cross import SmaCross
from quanta.loading import load_market, market_store
from quanta.sandbox import Job, JobRequest, JobStatus, start_workers, submit_job
from quanta.settings import Settings

SOURCE = (Path(__file__).parents[1] / "quanta" / "examples" / "sma_cross.py").read_text()
REQUEST = JobRequest(source=SOURCE, symbols=["GOOG"])
TARGET_START = 0.300


def prepare(folder: Path) -> tuple[Settings, list[int]]:
    settings = Settings(var_dir=folder)
    con = connect(settings)
    load_bundled(con, sources=tuple(s for s in SOURCES if s.package == "bokeh-sampledata"))
    con.disconnect()
    db.migrate(settings)
    with Session(db.engine(settings)) as session:
        people = [User(email=f"bench{i}@example.com", password_hash="-") for i in range(2)]
        session.add_all(people)
        session.commit()
        return settings, [p.id or 0 for p in people]


def submit(settings: Settings, owner: int) -> tuple[str, float]:
    with Session(db.engine(settings)) as session:
        job = submit_job(session=session, owner_id=owner, request=REQUEST)
        session.commit()
        return job.public_id, time.perf_counter()


def follow(settings: Settings, public_ids: dict[str, float]) -> dict[str, tuple[float, float]]:
    """Poll until every job ended: (seconds to running, seconds to done) per job."""
    started: dict[str, float] = {}
    ended: dict[str, float] = {}
    query = select(Job.public_id, Job.status, Job.error_message).where(
        col(Job.public_id).in_(list(public_ids))
    )
    while len(ended) < len(public_ids):
        with Session(db.engine(settings)) as session:
            rows = session.exec(query).all()
        now = time.perf_counter()
        for public_id, status, error in rows:
            if status is not JobStatus.QUEUED:
                started.setdefault(public_id, now)
            if JobStatus(status).finished:
                if status is not JobStatus.SUCCEEDED:
                    raise SystemExit(f"job {public_id} {status}: {error}")
                ended.setdefault(public_id, now)
        time.sleep(0.002)
    return {p: (started[p] - t, ended[p] - t) for p, t in public_ids.items()}


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    median = statistics.median(values)
    return f"median {median * 1e3:6.1f} ms, p95 {p95 * 1e3:6.1f} ms, max {ordered[-1] * 1e3:6.1f} ms"


def in_process(settings: Settings) -> float:
    with market_store(settings) as con:
        data = load_market(con, ["GOOG"])
    Backtest(data.data, SmaCross).run()
    runs = []
    for _ in range(5):
        began = time.perf_counter()
        with market_store(settings) as con:
            data = load_market(con, ["GOOG"], start=date(2004, 1, 1))
        Backtest(data.data, SmaCross).run()
        runs.append(time.perf_counter() - began)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as folder:
        settings, people = prepare(Path(folder))
        began = time.perf_counter()
        pool = start_workers(settings, opts.workers)
        reports = pool.wait_ready()
        warm = time.perf_counter() - began
        try:
            inside = max(r["warm_seconds"] for r in reports)
            print(f"{opts.workers} workers warm in {warm:.2f} s (warm-up inside each: {inside:.2f} s)")
            print(f"isolation: {', '.join(reports[0]['layers'])}")
            follow(settings, dict([submit(settings, people[0])]))  # first job: page in the forked paths
            one_by_one = [follow(settings, dict([submit(settings, people[0])])) for _ in range(opts.jobs)]
            timings = [t for result in one_by_one for t in result.values()]
            starts, dones = [t[0] for t in timings], [t[1] for t in timings]
            print(f"GOOG SMA crossover (2,300 bars), {opts.jobs} jobs one at a time:")
            print(f"  submit -> running : {ms(starts)}   (target < {TARGET_START * 1e3:.0f} ms)")
            print(f"  submit -> done    : {ms(dones)}")
            burst_began = time.perf_counter()
            burst = dict(submit(settings, people[i % 2]) for i in range(opts.jobs))
            follow(settings, burst)
            took = time.perf_counter() - burst_began
            print(
                f"  burst of {opts.jobs} from 2 people: {took:.2f} s, "
                f"{opts.jobs / took:.1f} jobs/s on {opts.workers} workers"
            )
        finally:
            pool.stop()
        print(f"the same backtest in this process (load + run): {in_process(settings) * 1e3:.1f} ms")
        verdict = "OK" if statistics.median(starts) < TARGET_START else "SLOWER THAN TARGET"
        print(f"start latency {verdict}")


if __name__ == "__main__":
    main()
