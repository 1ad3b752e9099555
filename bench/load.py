"""Concurrent clients: N tasks sharing one keep-alive httpx2 client, bounded by count and time."""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2

from bench.server import PostgresCpu, Server


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    expect: int = 200


@dataclass(slots=True)
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    server_cpu: float
    postgres_cpu: float | None
    client_cpu: float
    first_error: str | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Latency in ms at percentile p (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank] * 1000

    def per_request_ms(self, seconds: float | None) -> str:
        if seconds is None or not self.requests:
            return "-"
        return f"{seconds / self.requests * 1000:.2f}"


@dataclass(frozen=True, slots=True)
class Budget:
    concurrency: int = 16
    seconds: float = 6.0
    max_requests: int = 20_000
    warmup_seconds: float = 1.0


async def _run(
    client: httpx2.AsyncClient, make: Callable[[int], Call], concurrency: int, seconds: float, max_requests: int
) -> tuple[list[float], int, str | None, float]:
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None
    issued = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        nonlocal errors, first_error, issued
        while issued < max_requests and time.perf_counter() < deadline:
            n = issued
            issued += 1
            call = make(n)
            t0 = time.perf_counter()
            response = await client.request(call.method, call.url, headers=call.headers, json=call.json)
            elapsed = time.perf_counter() - t0
            if response.status_code != call.expect:
                errors += 1
                if first_error is None:
                    first_error = f"{call.method} {call.url} -> {response.status_code}: {response.text[:300]}"
            latencies.append(elapsed)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors, first_error, time.perf_counter() - started


async def drive(
    name: str, server: Server, make: Callable[[int], Call], budget: Budget, postgres: PostgresCpu
) -> Result:
    """Warm up, then measure: requests/s, latencies, and the CPU each side spent per request."""
    limits = httpx2.Limits(max_connections=budget.concurrency, max_keepalive_connections=budget.concurrency)
    async with httpx2.AsyncClient(base_url=server.base_url, limits=limits, timeout=60) as client:
        if budget.warmup_seconds > 0:
            await _run(client, make, budget.concurrency, budget.warmup_seconds, budget.max_requests)
        server_cpu, pg_cpu, client_cpu = server.cpu_seconds(), postgres.seconds(), time.process_time()
        latencies, errors, first_error, seconds = await _run(
            client, make, budget.concurrency, budget.seconds, budget.max_requests
        )
        server_cpu = server.cpu_seconds() - server_cpu
        pg_after = postgres.seconds()
        client_cpu = time.process_time() - client_cpu
    return Result(
        name=name,
        requests=len(latencies),
        errors=errors,
        seconds=seconds,
        latencies=latencies,
        server_cpu=server_cpu,
        postgres_cpu=None if pg_cpu is None or pg_after is None else pg_after - pg_cpu,
        client_cpu=client_cpu,
        first_error=first_error,
    )
