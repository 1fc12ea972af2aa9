"""Chat: messages per second delivered to a 200-member room, end to end, against a plain websocket room.

The server process is the app's own API (``quanta_app.api.build_api``: the REST chat routes, the
broadcast hub at ``/live/ws``, the ``chat.`` topic rule reading each member's session cookie) on a
SQLite app database, under uvicorn (wsproto), one worker. ``MEMBERS`` members follow the lobby's topic
from ``CLIENT_PROCESSES`` load processes (asyncio + wsproto, ``quanta.broadcast.client``); a poster in
this process posts through ``POST /api/v1/chat/rooms/{id}/messages`` at a fixed rate, rotating among
the members (the per-person rate limits are lifted: 30 a minute would cap a 200-person room at
100 messages per second only by spreading them perfectly). A message's body carries the time its POST
was sent; latency is from then until a member has parsed the pushed frame: sanitising and storing the
message, the commit, the publish and the fan-out.

The named peer, measured in the same run at the same rates: a **plain websocket room** — a Starlette
endpoint keeping a list of connected members and ``await``-ing ``send_text`` to each in turn when a
message is POSTed, with no database, no rendering and no authorisation: what a chat room costs with
nothing but the fan-out.

Each rate runs ``WINDOW`` seconds on a fresh server: messages posted per second, frames delivered per
second, the share delivered (and any gap), delivery latency p50/p99/max, the POST's own p50, the
server's CPU (share of one core) and resident memory, the load processes' CPU. Server, members and
poster share this machine's two cores (with whatever else runs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from bench_broadcast import cpu_seconds, percentile, rss_mb, stop_server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from quanta.broadcast.client import BroadcastClient, ConnectionClosed
from quanta.testing.services import free_port

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = 200
RATES = (10, 50, 100, 200)
"""Messages posted per second."""
WINDOW = 10.0
CLIENT_PROCESSES = 2
POSTERS = 8
"""Posts in flight at once at most (the poster's connection pool)."""
_SENT = re.compile(rb'"body":"t=([0-9.]+)"')


# -- the servers -------------------------------------------------------------------------------------


def chat_app(var: Path) -> Any:
    """The app's API on the app database in ``var``, with the hub running and posting unthrottled."""
    os.environ["QUANTA_VAR_DIR"] = str(var)
    from quanta.api.deps import api_limiter  # noqa: PLC0415 - after the settings are in the environment
    from quanta.ratelimit import Decision, Quota  # noqa: PLC0415
    from quanta_app.api import build_api  # noqa: PLC0415
    from quanta_app.live import live_hub  # noqa: PLC0415

    class Unlimited:
        """Every event allowed (the chat's per-person quotas would throttle the poster)."""

        def hit(self, key: str, quota: Quota, *, now: datetime | None = None) -> Decision:
            return Decision(allowed=True, limit=quota.limit, remaining=quota.limit, reset_after=timedelta(0))

        peek = hit

        def reset(self, key: str) -> None:
            del key

    api = build_api()
    api.dependency_overrides[api_limiter] = Unlimited

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        async with live_hub().running():
            yield

    api.router.lifespan_context = lifespan
    return api


def plain_app() -> Starlette:
    """The peer: a websocket room with a list of members; a POST is sent to each member in turn."""
    members: list[WebSocket] = []

    async def room(websocket: WebSocket) -> None:
        await websocket.accept()
        members.append(websocket)
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            members.remove(websocket)

    async def post(request: Request) -> JSONResponse:
        message = await request.json()
        frame = json.dumps({"kind": "delta", "data": {"message": message}}, separators=(",", ":"))
        for member in members.copy():  # members may leave meanwhile
            with contextlib.suppress(Exception):
                await member.send_text(frame)
        return JSONResponse(message, status_code=201)

    return Starlette(routes=[WebSocketRoute("/room", room), Route("/post", post, methods=["POST"])])


def serve(port: int, kind: str, var: str) -> None:
    """The server process."""
    app = chat_app(Path(var)) if kind == "chat" else plain_app()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", ws="wsproto", backlog=4096)


def start_server(kind: str, var: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [sys.executable, __file__, "--serve", str(port), kind, str(var)]
    server = subprocess.Popen(command, cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the {kind} server exited with {server.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/chat/rooms", timeout=1)
        except urllib.error.HTTPError:
            return server, port  # it answers (401 or 404): ready
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


# -- the room ----------------------------------------------------------------------------------------


def make_room(var: Path, *, wal: bool = False) -> tuple[str, list[str]]:
    """The lobby of a fresh app database in ``var`` and ``MEMBERS`` people's session tokens.

    The people are made directly (one password hash for all, sessions opened without checking it):
    200 Argon2 sign-ups and sign-ins would take a minute of this machine's CPU. ``wal``: switch the
    SQLite file to write-ahead logging (an experiment: the app's default is SQLite's rollback journal).
    """
    from sqlalchemy import text  # noqa: PLC0415

    from quanta import db  # noqa: PLC0415
    from quanta.accounts._identity import _open_session  # noqa: PLC0415 - a bench shortcut
    from quanta.accounts._profiles import create_profile  # noqa: PLC0415
    from quanta.accounts.models import User  # noqa: PLC0415
    from quanta.accounts.passwords import hash_password  # noqa: PLC0415
    from quanta.chat.service import lobby  # noqa: PLC0415
    from quanta.settings import Settings  # noqa: PLC0415

    settings = Settings(var_dir=var)
    db.migrate(settings)
    now = datetime.now(UTC)
    shared_hash = hash_password("Bench-Room-Password-2026")
    tokens = []
    with db.session(settings) as unit:
        room = lobby(session=unit).public_id
        for n in range(MEMBERS):
            user = User(email=f"member{n}@example.com", password_hash=shared_hash, created_at=now)
            unit.add(user)
            unit.flush()
            create_profile(unit, user, username=f"member{n}", now=now)
            tokens.append(_open_session(unit, user, ip=None, user_agent="bench", now=now).token)
        if wal:
            unit.exec(text("PRAGMA journal_mode=WAL"))  # type: ignore[call-overload]
    db.dispose_engines()
    return room, tokens


# -- the members (load processes) --------------------------------------------------------------------


async def member(url: str, topic: str, cookie: str, out: dict[str, Any], ready: asyncio.Event) -> None:
    if topic:
        client = await BroadcastClient.connect(url, headers=[("Cookie", cookie)])
        await client.subscribe(topic)
    else:
        client = await BroadcastClient.connect(url)
        ready.set()
    last: int | None = None
    try:
        while True:
            text = (await client.receive_text()).encode()
            for frame in text.split(b"\n"):
                if b'"kind":"snapshot"' in frame:
                    ready.set()
                    continue
                found = _SENT.search(frame)
                if found is None:
                    out["problems"] += b'"kind":"resync"' in frame or b'"kind":"error"' in frame
                    continue
                if out["measuring"]:
                    out["latencies"].append(time.time() - float(found[1]))
                    out["received"] += 1
                seq = re.search(rb'"seq":(\d+)', frame)
                if topic and seq is not None:
                    if last is not None and int(seq[1]) != last + 1:
                        out["problems"] += 1
                    last = int(seq[1])
    except ConnectionClosed:
        pass
    finally:
        client.abort()


async def members(url: str, topic: str, cookies: list[str], window: float, server_pid: int) -> dict[str, Any]:
    out: dict[str, Any] = {"latencies": [], "received": 0, "problems": 0, "measuring": False}
    readies = [asyncio.Event() for _ in cookies]
    tasks = [
        asyncio.create_task(member(url, topic, c, out, r)) for c, r in zip(cookies, readies, strict=True)
    ]
    async with asyncio.timeout(120):
        for ready in readies:
            await ready.wait()
    print("ready", flush=True)
    sys.stdin.readline()  # the parent says go
    out["measuring"] = True
    cpu_from, own_from, started = cpu_seconds(server_pid), time.process_time(), time.monotonic()
    await asyncio.sleep(window + 1.0)  # the poster's window, and the last message's flight
    out["measuring"] = False
    elapsed = time.monotonic() - started
    out["server_cpu"] = (cpu_seconds(server_pid) - cpu_from) / elapsed
    out["client_cpu"] = (time.process_time() - own_from) / elapsed
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return out


def load(url: str, topic: str, cookie_file: str, window: float, server_pid: int) -> None:
    cookies = json.loads(Path(cookie_file).read_text())
    result = asyncio.run(members(url, topic, cookies, window, server_pid))
    sys.stdout.write(json.dumps(result) + "\n")


# -- the poster and the parent -----------------------------------------------------------------------


async def post_at(rate: float, window: float, target: str, cookies: list[str], origin: str) -> list[float]:
    """POST ``rate`` messages a second for ``window`` seconds, rotating among the members; POST times."""
    durations: list[float] = []
    limits = httpx.Limits(max_connections=POSTERS)
    async with httpx.AsyncClient(limits=limits, timeout=30, headers={"Origin": origin}) as http:

        async def one(n: int) -> None:
            started = time.time()
            body = {"body": f"t={started:.6f}"}
            response = await http.post(target, json=body, headers={"Cookie": cookies[n % len(cookies)]})
            if response.status_code != 201:
                raise SystemExit(f"posting failed: {response.status_code} {response.text}")
            durations.append(time.time() - started)

        tasks = []
        start = time.monotonic()
        for n in range(int(rate * window)):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return durations


def step(kind: str, rate: float, var: Path, room: str, tokens: list[str]) -> dict[str, float]:
    server, port = start_server(kind, var)
    base = f"http://127.0.0.1:{port}"
    cookies = [f"quanta_session={token}" for token in tokens]
    topic, ws, target = (
        (f"chat.{room}", f"ws://127.0.0.1:{port}/live/ws", f"{base}/api/v1/chat/rooms/{room}/messages")
        if kind == "chat"
        else ("", f"ws://127.0.0.1:{port}/room", f"{base}/post")
    )
    loads = []
    try:
        for share in range(CLIENT_PROCESSES):
            part = var / f"cookies-{share}.json"
            part.write_text(json.dumps(cookies[share::CLIENT_PROCESSES]))
            command = [sys.executable, __file__, "--load", ws, topic, str(part), str(WINDOW), str(server.pid)]
            loads.append(subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT))
        for process in loads:
            assert process.stdout is not None
            if process.stdout.readline().strip() != b"ready":
                raise SystemExit("a load process failed to subscribe")
        for process in loads:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            process.stdin.flush()
        posts = asyncio.run(post_at(rate, WINDOW, target, cookies, base))
        results = [json.loads(process.communicate(timeout=120)[0]) for process in loads]
        rss = rss_mb(server.pid)
    finally:
        for process in loads:
            if process.poll() is None:
                process.kill()
        stop_server(server)
    latencies = [x * 1000 for r in results for x in r["latencies"]]
    received = sum(r["received"] for r in results)
    return {
        "rate": len(posts) / WINDOW,
        "frames": received / WINDOW,
        "delivered": received / (len(posts) * MEMBERS),
        "problems": sum(r["problems"] for r in results),
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies, default=float("nan")),
        "post_p50": 1000 * percentile(posts, 0.5),
        "server_cpu": sum(r["server_cpu"] for r in results) / len(results),
        "client_cpu": sum(r["client_cpu"] for r in results),
        "rss": rss,
    }


HEADER = (
    "msgs/s",
    "frames/s",
    "delivered",
    "p50 ms",
    "p99 ms",
    "max ms",
    "POST p50",
    "server CPU",
    "RSS MB",
    "load CPU",
)
WIDTHS = (7, 9, 10, 8, 8, 8, 9, 11, 7, 9)


def show(row: dict[str, float]) -> None:
    print(
        f"{row['rate']:>7.0f} {row['frames']:>9.0f} {row['delivered']:>10.2%} {row['p50']:>8.1f} "
        f"{row['p99']:>8.1f} {row['max']:>8.1f} {row['post_p50']:>9.1f} {row['server_cpu']:>11.0%} "
        f"{row['rss']:>7.0f} {row['client_cpu']:>9.0%}"
        + (f"  ({row['problems']:.0f} gaps or errors!)" if row["problems"] else ""),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", nargs=3, metavar=("PORT", "KIND", "VAR"))
    parser.add_argument("--load", nargs=5, metavar=("URL", "TOPIC", "COOKIES", "WINDOW", "SERVER_PID"))
    parser.add_argument("--rates", type=float, nargs="*", default=list(RATES))
    parser.add_argument("--kinds", nargs="*", default=["chat", "plain"], choices=["chat", "plain"])
    parser.add_argument("--wal", action="store_true", help="the app database in SQLite's WAL mode")
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1], args.serve[2])
        return
    if args.load:
        url, topic, cookies, window, pid = args.load
        load(url, topic, cookies, float(window), int(pid))
        return
    print(
        f"{MEMBERS} members in one room, {CLIENT_PROCESSES} load processes, {WINDOW:.0f} s per rate; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as folder:
        var = Path(folder)
        room, tokens = make_room(var, wal=args.wal)
        rows: dict[str, list[dict[str, float]]] = {}
        for kind, title in (
            (
                "chat",
                f"Quanta chat: REST post → SQLite{' (WAL)' if args.wal else ''} → hub → /live/ws "
                "(members authorised by cookie)",
            ),
            (
                "plain",
                "peer: plain websocket room (Starlette, await send_text to each member; nothing stored)",
            ),
        ):
            if kind not in args.kinds:
                continue
            print(f"\n{title}")
            print(" ".join(f"{name:>{width}}" for name, width in zip(HEADER, WIDTHS, strict=True)))
            rows[kind] = []
            for rate in args.rates:
                rows[kind].append(step(kind, rate, var, room, tokens))
                show(rows[kind][-1])
        if len(rows) < 2:
            return
        print("\nQuanta chat / plain websocket room, same rate:")
        for ours, peer in zip(rows["chat"], rows["plain"], strict=True):
            print(
                f"  {ours['rate']:.0f} msgs/s: p50 ×{ours['p50'] / peer['p50']:.2f}, "
                f"p99 ×{ours['p99'] / peer['p99']:.2f}, "
                f"server CPU ×{ours['server_cpu'] / max(peer['server_cpu'], 1e-9):.2f}, "
                f"RSS ×{ours['rss'] / peer['rss']:.2f}"
            )


if __name__ == "__main__":
    main()
