"""Collaborative editing: 20 editors typing into one room; how long until a keystroke reaches everyone.

The room server runs in its own process (uvicorn, as in the tests; the app serves with granian), on a
fresh SQLite app database, persisting every update as in production. Twenty pycrdt clients in this
process connect over real websockets and type at a fast human pace (one character every ~120 ms each,
~150 keystrokes per second in the room) at random places. For each keystroke, the latency is the time
from the insert to the moment the *last* of the other 19 clients has applied it. Target: p99 < 100 ms.

All clients share one Python event loop here, so the figures include the time this process takes to
apply 19 copies of every keystroke: a browser applies only its own copy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import uvicorn
from pycrdt import Decoder

from quanta import db
from quanta.collab import CollabHub, UpdateStore
from quanta.collab.asgi import collab_app
from quanta.collab.client import CollabClient
from quanta.settings import Settings
from quanta.testing.services import free_port

EDITORS = 20
KEYSTROKES = 60
"""Per editor."""
INTERVAL = 0.12
"""Seconds between two keystrokes of one editor, on average."""
TARGET_P99_MS = 100.0
ROOM = "bench-room"


def serve(port: int, folder: Path) -> None:
    """The server process: the room server alone, everyone an editor."""
    settings = Settings(var_dir=folder)
    db.migrate(settings)
    hub = CollabHub(store=UpdateStore(db.engine(settings)), authorizer=lambda **_: "editor")
    app = collab_app(hub, settings=settings, identify=lambda _: 1)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", ws="wsproto")


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the room server exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
        except urllib.error.HTTPError:
            return  # it answers (404 for plain HTTP): ready
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the room server did not start")


class Probe:
    """Keystroke send times, and when each receiver applied each keystroke.

    Each keystroke inserts one character, so an editor's n-th keystroke has Yjs clock n - 1: a receiver
    has it once its state vector shows that editor's clock at n or more. Reading the state vector after
    each change is much cheaper than decoding text events (this process plays 20 editors at once).
    """

    def __init__(self) -> None:
        self.sent: dict[tuple[int, int], float] = {}
        self.arrived: dict[tuple[int, int], list[float]] = {}

    def watch(self, client: CollabClient) -> None:
        """Record when ``client`` receives each other editor's keystrokes."""
        seen: dict[int, int] = {}
        own = client.doc.client_id
        loop = asyncio.get_running_loop()

        def check(at: float) -> None:
            for editor, clock in state_vector(client.doc.get_state()).items():
                if editor != own and clock > seen.get(editor, 0):
                    for n in range(seen.get(editor, 0) + 1, clock + 1):
                        self.arrived.setdefault((editor, n), []).append(at)
                    seen[editor] = clock

        client.doc.observe(lambda _: loop.call_soon(check, time.perf_counter()))


def state_vector(encoded: bytes) -> dict[int, int]:
    """``{client id: clock}`` of an encoded Yjs state vector."""
    decoder = Decoder(encoded)
    return {decoder.read_var_uint(): decoder.read_var_uint() for _ in range(decoder.read_var_uint())}


async def type_into(client: CollabClient, probe: Probe, rng: random.Random) -> None:
    for n in range(1, KEYSTROKES + 1):
        await asyncio.sleep(rng.uniform(0.5, 1.5) * INTERVAL)
        position = rng.randint(0, len(client.text))
        probe.sent[(client.doc.client_id, n)] = time.perf_counter()
        client.text.insert(position, "x")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(url: str, server_pid: int) -> None:
    probe = Probe()
    clients = []
    for number in range(EDITORS):
        client = CollabClient(name=f"editor {number}")
        probe.watch(client)
        await client.connect(url)
        await asyncio.wait_for(client.synced.wait(), timeout=10)
        clients.append(client)
    rng = random.Random(7)
    started, cpu, server_cpu = time.perf_counter(), time.process_time(), cpu_seconds(server_pid)
    await asyncio.gather(*(type_into(c, probe, random.Random(rng.random())) for c in clients))
    total = EDITORS * KEYSTROKES
    deadline = time.monotonic() + 30
    while sum(len(times) == EDITORS - 1 for times in probe.arrived.values()) < total:
        if time.monotonic() > deadline:
            raise SystemExit("not every keystroke reached every editor within 30 s")
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    clients_load = (time.process_time() - cpu) / elapsed
    server_load = (cpu_seconds(server_pid) - server_cpu) / elapsed
    texts = {str(c.text) for c in clients}
    for client in clients:
        await client.disconnect()
    print(
        f"CPU: the 20 clients {clients_load:.0%} of a core, the room server {server_load:.0%}; "
        f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    report(probe, total, elapsed, converged=len(texts) == 1)


def report(probe: Probe, total: int, elapsed: float, *, converged: bool) -> None:
    latencies = sorted((max(times) - probe.sent[key]) * 1000 for key, times in probe.arrived.items())
    p50, p95, p99 = (latencies[int(q * (len(latencies) - 1))] for q in (0.5, 0.95, 0.99))
    print(f"{EDITORS} editors, {total} keystrokes in {elapsed:.1f} s ({total / elapsed:.0f}/s into one room)")
    print(
        f"keystroke → all {EDITORS - 1} other editors: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
        f"p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms"
    )
    print(f"documents converged: {converged}")
    verdict = "met" if p99 < TARGET_P99_MS and converged else "MISSED"
    print(f"target p99 < {TARGET_P99_MS:.0f} ms: {verdict}")
    if verdict != "met":
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "FOLDER"))
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), Path(args.serve[1]))
        return
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, __file__, "--serve", str(port), folder]
        server = subprocess.Popen(command)
        try:
            wait_for_port(port, server)
            asyncio.run(run(f"ws://127.0.0.1:{port}/collab/{ROOM}", server.pid))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
