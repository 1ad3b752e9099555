"""Webhook delivery (issue 6): events per second from the outbox to a local receiver with two
`pacta worker` processes, and the delay from the commit that wrote an event to its arrival.

The subscription is created through the API (admin key: it receives every event) with a loopback
URL, which the service accepts with PACTA_WEBHOOKS_ALLOW_LOOPBACK=true. Events are written by
app.webhooks.events.emit, the function every service write calls, in transactions committed here;
the bench notes the wall-clock time each commit returned, the receiver (bench/receiver.py, its own
uvicorn process) the time each delivery arrived, with its webhook-id (the event id).

Two phases: a backlog (many events committed in one transaction, drained by both workers) for
throughput, and a steady stream (one event per transaction at a fixed rate) for the delay an
event sees when the workers are keeping up; an idle worker polls the outbox every 0.5 s.
"""

import asyncio
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx2
from sqlalchemy import text

from app.db import make_sessionmaker, unit_of_work
from app.webhooks import events
from bench.context import Context, load_average
from bench.output import heading, table
from bench.server import Server

WORKERS = 2
BACKLOG = 2_000
STREAM_RATE = 40  # events per second
STREAM_SECONDS = 8.0
EVENT_TYPE = "agreement.updated"
DRAIN_TIMEOUT = 90.0


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    committed: dict[str, float]  # event id -> wall-clock time its commit returned
    first_commit: float
    last_commit: float


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


async def _arrivals(client: httpx2.AsyncClient) -> list[tuple[str, float]]:
    response = await client.get("/arrivals")
    return [(str(i), float(t)) for i, t in response.json()]


async def _drain(client: httpx2.AsyncClient, ids: set[str], wait: float) -> list[tuple[str, float]]:
    """Poll the receiver until every id arrived (or the timeout): the arrivals of these ids."""
    deadline = time.monotonic() + wait
    while True:
        mine = [(i, t) for i, t in await _arrivals(client) if i in ids]
        if {i for i, _ in mine} >= ids or time.monotonic() > deadline:
            return mine
        await asyncio.sleep(0.2)


async def _backlog(ctx: Context, agreement_ids: list[uuid.UUID]) -> Phase:
    maker = make_sessionmaker(ctx.engine)
    async with unit_of_work(maker) as session:
        ids = []
        for n in range(BACKLOG):
            aid = agreement_ids[n % len(agreement_ids)]
            data = {"id": str(aid), "agreement_id": str(aid), "bench_seq": n}
            ids.append(str((await events.emit(session, EVENT_TYPE, data, agreement_id=aid)).id))
    at = time.time()
    committed = dict.fromkeys(ids, at)
    return Phase(f"backlog: {BACKLOG:,} events committed in one transaction", committed, at, at)


async def _stream(ctx: Context, agreement_ids: list[uuid.UUID]) -> Phase:
    maker = make_sessionmaker(ctx.engine)
    committed: dict[str, float] = {}
    count = int(STREAM_RATE * STREAM_SECONDS)
    started = time.monotonic()
    for n in range(count):
        await asyncio.sleep(max(0.0, started + n / STREAM_RATE - time.monotonic()))
        aid = agreement_ids[n % len(agreement_ids)]
        async with unit_of_work(maker) as session:
            event = await events.emit(
                session, EVENT_TYPE, {"id": str(aid), "agreement_id": str(aid), "bench_seq": n}, agreement_id=aid
            )
        committed[str(event.id)] = time.time()
    times = list(committed.values())
    return Phase(
        f"stream: {count} events, one per transaction, {STREAM_RATE}/s for {STREAM_SECONDS:g}s",
        committed,
        min(times),
        max(times),
    )


def _start_workers(ctx: Context) -> list[tuple[subprocess.Popen[bytes], Path]]:
    started = []
    for n in range(1, WORKERS + 1):
        path = ctx.run_dir / f"worker-{n}.log"
        with path.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker"], env=ctx.env, stdout=out, stderr=subprocess.STDOUT
            )
        started.append((process, path))
    return started


def _stop_workers(workers: list[tuple[subprocess.Popen[bytes], Path]]) -> None:
    for process, _ in workers:
        if process.poll() is None:
            process.terminate()
    for process, _ in workers:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def run(ctx: Context) -> None:
    heading(f"Webhooks (issue 6): {WORKERS} `pacta worker` processes delivering to a local receiver")
    receiver_env = {k: v for k, v in ctx.env.items() if not k.startswith("PACTA_")}
    receiver = Server("receiver", ["bench.receiver:app"], receiver_env, ctx.run_dir, "/ready")
    workers: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        await asyncio.to_thread(receiver.wait_ready)
        async with httpx2.AsyncClient(base_url=ctx.pacta.base_url, timeout=60) as api:
            response = await api.post(
                "/v1/webhooks",
                json={"url": f"{receiver.base_url}/hook", "event_types": [EVENT_TYPE], "description": "bench"},
                headers=ctx.fx.admin,
            )
        if response.status_code != 201:
            print(f"  ERROR creating the subscription: {response.status_code} {response.text[:300]}")
            return
        subscription_id = response.json()["id"]
        ctx.log(f"webhooks: subscription {subscription_id} -> {receiver.base_url}/hook; starting {WORKERS} workers")
        workers = _start_workers(ctx)
        agreement_ids = ctx.fx.ids[:500]
        async with httpx2.AsyncClient(base_url=receiver.base_url, timeout=60) as client:
            # Warm-up: one event per worker, delivered before anything is measured.
            warm = await _stream_few(ctx, agreement_ids, WORKERS)
            got = await _drain(client, set(warm), 60)
            if len({i for i, _ in got}) < len(warm):
                print("  ERROR the workers delivered nothing within 60 s; see " + ", ".join(str(p) for _, p in workers))
                return
            await asyncio.sleep(1.0)
            results = []
            for make in (_backlog, _stream):
                ctx.log("webhooks: " + ("backlog" if make is _backlog else "steady stream"))
                phase = await make(ctx, agreement_ids)
                arrived = await _drain(client, set(phase.committed), DRAIN_TIMEOUT)
                results.append((phase, arrived))
        states = await _states(ctx, subscription_id)
    finally:
        _stop_workers(workers)
        receiver.stop()
    rows = []
    for phase, arrived in results:
        first_arrival: dict[str, float] = {}
        for i, t in arrived:
            first_arrival.setdefault(i, t)
        duplicates = sum(n - 1 for n in Counter(i for i, _ in arrived).values())
        delays = [(first_arrival[i] - phase.committed[i]) * 1000 for i in first_arrival]
        last = max(first_arrival.values(), default=phase.last_commit)
        span = last - phase.first_commit
        rows.append(
            (
                phase.name,
                f"{len(first_arrival):,}/{len(phase.committed):,}",
                duplicates,
                f"{span:.2f}",
                f"{len(first_arrival) / span:.0f}" if span > 0 else "-",
                f"{statistics.median(delays):.0f}" if delays else "-",
                f"{_percentile(delays, 99):.0f}" if delays else "-",
                f"{max(delays):.0f}" if delays else "-",
            )
        )
    table(
        (
            "phase",
            "delivered",
            "duplicates",
            "first commit -> last arrival s",
            "events/s",
            "commit->delivery p50 ms",
            "p99 ms",
            "max ms",
        ),
        rows,
    )
    print(f"  delivery states of the subscription in the database: {states}")
    print("  (backlog events/s = delivered / (last arrival - commit); the backlog's delays are mostly queueing;")
    print("   the stream's delays include up to 0.5 s of an idle worker's poll interval)")
    print(
        f"  workers: {WORKERS} x `python -m app.cli worker` (32 deliveries in flight each); "
        f"load average {load_average()}"
    )


async def _stream_few(ctx: Context, agreement_ids: list[uuid.UUID], count: int) -> list[str]:
    maker = make_sessionmaker(ctx.engine)
    ids = []
    for n in range(count):
        aid = agreement_ids[n]
        async with unit_of_work(maker) as session:
            event = await events.emit(session, EVENT_TYPE, {"id": str(aid), "agreement_id": str(aid)}, agreement_id=aid)
        ids.append(str(event.id))
    return ids


async def _states(ctx: Context, subscription_id: str) -> str:
    async with unit_of_work(make_sessionmaker(ctx.engine)) as session:
        rows = await session.execute(
            text("SELECT state, count(*) FROM webhook_deliveries WHERE subscription_id = :id GROUP BY state"),
            {"id": uuid.UUID(subscription_id)},
        )
        return ", ".join(f"{state} {n:,}" for state, n in rows.all()) or "none"
