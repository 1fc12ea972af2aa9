"""Broadcast: N websocket clients follow one topic updated twice a second with a 50-row leaderboard.

The hub runs in its own process, publishing ``RATE`` updates per second of a leaderboard (~6.5 KB of
JSON) whose ``sent`` field is the wall-clock time of ``hub.publish``; it is served by uvicorn
(wsproto websockets, as in the tests) and by granian (what ``reflex run --env prod`` uses), one worker
each. The clients (``quanta.broadcast.client``, asyncio and wsproto) run in ``CLIENT_PROCESSES`` other
processes; each records, for every delta, the time from publish to the moment it has parsed the frame.
A fresh server per step:

- the curve: 100, 250, 500 and 1000 clients (and 2000, beyond the target) for ``WINDOW`` seconds each:
  latency p50/p99/max, the share of messages delivered (every message from a client's first to its
  last in the window; any gap or resync is reported), the server's CPU over the window (share of one
  core, and per frame sent), its resident memory, and the load processes' CPU (all of them together);
- the join storm: 500 clients connect and subscribe at once: the time until every one has its
  snapshot, and until every one has had its first delta.

Target: 1,000 clients, p99 < 500 ms. Server and clients share this machine's two cores (with whatever
else runs), so the load clients' CPU is in the figures: a browser parses only its own copy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette

from quanta.broadcast import Hub, LastN
from quanta.broadcast.asgi import Limits, install_broadcast, public
from quanta.broadcast.client import BroadcastClient, ConnectionClosed
from quanta.settings import Settings
from quanta.testing.services import free_port

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "bench.contest.board"
RATE = 2.0
"""Updates per second."""
ROWS = 50
CURVE = (100, 250, 500, 1000, 2000)
SERVERS = ("uvicorn", "granian")
STORM = 500
WINDOW = 20.0
"""Seconds measured per step (from one second after every client has its snapshot)."""
CLIENT_PROCESSES = 2
TARGET_CLIENTS = 1000
TARGET_P99_MS = 500.0
_FRAME = re.compile(rb'"seq":(\d+),"kind":"(\w+)"(?:,"epoch":"\w+")?,"data":\[?\{"sent":([0-9.]+)')


# -- the server process ------------------------------------------------------------------------------


def leaderboard(rng: random.Random, equities: list[float]) -> list[dict[str, Any]]:
    """50 rows as a contest leaderboard has them; every update moves every equity a little."""
    for i in range(len(equities)):
        equities[i] *= 1 + rng.gauss(0, 0.002)
    order = sorted(range(len(equities)), key=lambda i: -equities[i])
    return [
        {
            "rank": rank + 1,
            "user": f"trader-{i:04d}",
            "strategy": f"momentum-v{i % 7}",
            "equity": round(equities[i], 2),
            "ret": round(equities[i] / 100_000 - 1, 5),
            "sharpe": round(rng.uniform(-1, 3), 3),
            "trades": 100 + i,
        }
        for rank, i in enumerate(order)
    ]


def make_app() -> Starlette:
    """The hub at /live/ws and, while the app runs, a publisher at ``RATE`` per second."""
    hub = Hub()
    hub.declare(TOPIC, view=LastN(1))

    async def publish() -> None:
        rng = random.Random(7)
        equities = [100_000.0] * ROWS
        next_at = time.monotonic()
        while True:
            next_at += 1 / RATE
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            rows = leaderboard(rng, equities)
            await hub.publish(TOPIC, {"sent": time.time(), "rows": rows})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with hub.running():
            task = asyncio.create_task(publish())
            yield
            task.cancel()

    app = Starlette(lifespan=lifespan)
    install_broadcast(app, hub, authorize=public("bench."), limits=Limits(), settings=Settings())
    return app


def serve(port: int, kind: str) -> None:
    """The server process."""
    if kind == "uvicorn":
        uvicorn.run(make_app(), host="127.0.0.1", port=port, log_level="warning", ws="wsproto", backlog=4096)
        return
    from granian.constants import Interfaces  # noqa: PLC0415 - only for this server
    from granian.log import LogLevels  # noqa: PLC0415
    from granian.server import Server  # noqa: PLC0415

    granian = Server(
        "bench.bench_broadcast:make_app",
        factory=True,
        address="127.0.0.1",
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        backlog=4096,
        log_level=LogLevels.warning,
        working_dir=ROOT,
    )
    granian.serve()


def start_server(kind: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), kind], env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
        except urllib.error.HTTPError:
            return server, port  # it answers (404 for plain HTTP): ready
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (granian serves from a worker child process)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo.extend(int(child) for child in (task / "children").read_text().split())
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` and its descendants so far (Linux)."""
    total = 0.0
    for one in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` and its descendants, MB."""
    total = 0
    for one in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


# -- the load processes ------------------------------------------------------------------------------


class Load:
    """``count`` clients of one process, and what they measured."""

    def __init__(self, url: str, count: int, window: float, server_pid: int) -> None:
        self.url, self.count, self.window, self.server_pid = url, count, window, server_pid
        self.latencies: list[float] = []
        self.received = 0
        self.spans: dict[int, int] = {}
        """Per client, how many messages were published from its first to its last in the window."""
        self.problems = 0
        self.snapshots: list[float] = []
        self.first_deltas: list[float] = []
        self.measuring = False
        self.started = 0.0

    async def client(self, number: int, ready: asyncio.Event) -> None:
        client = await BroadcastClient.connect(self.url)
        await client.subscribe(TOPIC)
        last_seq: int | None = None
        first_in_window: int | None = None
        got_delta = False
        last_ping = time.monotonic()
        try:
            while True:
                frame = (await client.receive_text()).encode()
                match = _FRAME.search(frame, 0, 160)
                if match is None:
                    self.problems += b'"kind":"resync"' in frame  # dropped for being too slow
                    continue
                now, seq, kind = time.time(), int(match[1]), match[2]
                if kind == b"snapshot":
                    self.snapshots.append(time.monotonic() - self.started)
                    ready.set()
                elif kind == b"delta":
                    if not got_delta:
                        got_delta = True
                        self.first_deltas.append(time.monotonic() - self.started)
                    if last_seq is not None and seq != last_seq + 1:
                        self.problems += 1
                    if self.measuring:
                        self.latencies.append(now - float(match[3]))
                        self.received += 1
                        first_in_window = seq if first_in_window is None else first_in_window
                        self.spans[number] = seq - first_in_window + 1
                last_seq = seq
                if time.monotonic() - last_ping > 20:
                    last_ping = time.monotonic()
                    await client.ping()
        except ConnectionClosed:
            pass
        finally:
            client.abort()

    async def run(self) -> dict[str, Any]:
        self.started = time.monotonic()
        readies = [asyncio.Event() for _ in range(self.count)]
        tasks = [asyncio.create_task(self.client(n, ready)) for n, ready in enumerate(readies)]
        deadline = time.monotonic() + 120
        while not all(ready.is_set() for ready in readies):
            failed = [task for task in tasks if task.done()]
            if failed:
                failed[0].result()
                raise SystemExit("a client ended before its snapshot")
            if time.monotonic() > deadline:
                raise SystemExit("the clients did not all get their snapshot within 120 s")
            await asyncio.sleep(0.05)
        subscribed = time.monotonic() - self.started
        await asyncio.sleep(1.0)
        self.measuring = True
        measured_from, cpu_from = time.monotonic(), cpu_seconds(self.server_pid)
        own_from = time.process_time()
        await asyncio.sleep(self.window)
        self.measuring = False
        measured = time.monotonic() - measured_from
        server_cpu = (cpu_seconds(self.server_pid) - cpu_from) / measured
        own_cpu = (time.process_time() - own_from) / measured
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return {
            "latencies": self.latencies,
            "received": self.received,
            "expected": sum(self.spans.values()),
            "problems": self.problems,
            "subscribed": subscribed,
            "snapshots": self.snapshots,
            "first_deltas": self.first_deltas,
            "server_cpu": server_cpu,
            "client_cpu": own_cpu,
        }


def load(url: str, count: int, window: float, go_at: float, server_pid: int) -> None:
    """A load process: wait for the common start time, run, print the measurements as JSON."""
    time.sleep(max(0.0, go_at - time.time()))
    result = asyncio.run(Load(url, count, window, server_pid).run())
    sys.stdout.write(json.dumps(result))


def run_clients(url: str, total: int, window: float, server_pid: int) -> list[dict[str, Any]]:
    go_at = time.time() + 1.0
    shares = [total // CLIENT_PROCESSES + (i < total % CLIENT_PROCESSES) for i in range(CLIENT_PROCESSES)]
    command = [sys.executable, __file__, "--load", url]
    processes = [
        subprocess.Popen(
            [*command, str(share), str(window), str(go_at), str(server_pid)], stdout=subprocess.PIPE
        )
        for share in shares
        if share
    ]
    results = []
    for process in processes:
        out, _ = process.communicate(timeout=window + 300)
        if process.returncode:
            raise SystemExit(f"a load process failed ({process.returncode})")
        results.append(json.loads(out))
    return results


# -- the parent --------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def step(kind: str, clients: int) -> dict[str, float]:
    server, port = start_server(kind)
    try:
        results = run_clients(f"ws://127.0.0.1:{port}/live/ws", clients, WINDOW, server.pid)
        rss = rss_mb(server.pid)
    finally:
        stop_server(server)
    latencies = [x * 1000 for r in results for x in r["latencies"]]
    received = sum(r["received"] for r in results)
    expected = sum(r["expected"] for r in results)
    server_cpu = sum(r["server_cpu"] for r in results) / len(results)  # each measured the same window
    return {
        "clients": clients,
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies, default=float("nan")),
        "delivered": received / expected if expected else float("nan"),
        "problems": sum(r["problems"] for r in results),
        "server_cpu": server_cpu,
        "us_per_frame": 1e6 * server_cpu / (clients * RATE),
        "client_cpu": sum(r["client_cpu"] for r in results),
        "rss": rss,
    }


def storm(kind: str) -> dict[str, float]:
    server, port = start_server(kind)
    try:
        rss_before = rss_mb(server.pid)
        results = run_clients(f"ws://127.0.0.1:{port}/live/ws", STORM, 3.0, server.pid)
        rss = rss_mb(server.pid)
    finally:
        stop_server(server)
    snapshots = [x for r in results for x in r["snapshots"]]
    firsts = [x for r in results for x in r["first_deltas"]]
    return {
        "snapshots_p50": percentile(snapshots, 0.5),
        "snapshots_all": max(snapshots),
        "first_delta_all": max(firsts),
        "rss_before": rss_before,
        "rss": rss,
    }


def report(kind: str, clients: list[int]) -> dict[str, float] | None:
    print(f"\nserver: {kind}, one worker")
    header = (
        "clients",
        "p50 ms",
        "p99 ms",
        "max ms",
        "delivered",
        "server CPU",
        "µs/frame",
        "RSS MB",
        "load CPU",
    )
    widths = (8, 8, 8, 8, 10, 11, 9, 7, 9)
    print(" ".join(f"{name:>{width}}" for name, width in zip(header, widths, strict=True)))
    target = None
    for count in clients:
        row = step(kind, count)
        if count == TARGET_CLIENTS:
            target = row
        print(
            f"{row['clients']:>8} {row['p50']:>8.1f} {row['p99']:>8.1f} {row['max']:>8.1f} "
            f"{row['delivered']:>10.2%} {row['server_cpu']:>11.0%} "
            f"{row['us_per_frame']:>9.0f} {row['rss']:>7.0f} {row['client_cpu']:>9.0%}"
            + (f"  ({row['problems']:.0f} gaps or resyncs!)" if row["problems"] else ""),
            flush=True,
        )
    burst = storm(kind)
    print(
        f"join storm, {STORM} clients at once: every snapshot in {burst['snapshots_all']:.2f} s "
        f"(p50 {burst['snapshots_p50']:.2f} s), every first delta in {burst['first_delta_all']:.2f} s; "
        f"server RSS {burst['rss_before']:.0f} → {burst['rss']:.0f} MB",
        flush=True,
    )
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "SERVER"))
    parser.add_argument("--load", nargs=5, metavar=("URL", "COUNT", "WINDOW", "GO_AT", "SERVER_PID"))
    parser.add_argument("--clients", type=int, nargs="*", default=list(CURVE))
    parser.add_argument("--servers", nargs="*", default=list(SERVERS), choices=SERVERS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return
    if args.load:
        url, count, window, go_at, pid = args.load
        load(url, int(count), float(window), float(go_at), int(pid))
        return
    payload = len(json.dumps({"sent": time.time(), "rows": leaderboard(random.Random(1), [1e5] * ROWS)}))
    print(
        f"one topic, {RATE:.0f} updates/s of a {ROWS}-row leaderboard ({payload / 1024:.1f} KB of JSON); "
        f"clients in {CLIENT_PROCESSES} processes; {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    verdicts = []
    for kind in args.servers:
        row = report(kind, args.clients)
        if row is not None:
            ok = row["p99"] < TARGET_P99_MS and row["delivered"] > 0.999 and not row["problems"]
            verdicts.append(ok)
            verdict = "met" if ok else "MISSED"
            print(f"target ({kind}): {TARGET_CLIENTS} clients p99 < {TARGET_P99_MS:.0f} ms: {verdict}")
    if not all(verdicts):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
