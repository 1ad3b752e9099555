"""The same load as bench.load.drive, from wrk (Debian's package) when it is installed.

A Python client on this 2-core machine tops out near 1,500 requests per second, so it measured
itself, not the raw reference, whose single read answers several times faster: the ratios it
printed were too kind to Pacta. wrk, in C on one thread, keeps the servers busy instead. Each
scenario's calls (its paths and headers, varied as `make` varies them) are written into a Lua
script that wrk cycles through; wrk's own summary gives the requests, errors and duration.

BENCH_DRIVER=python keeps the Python client even where wrk is installed.
"""

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.load import Budget, Call, Result
from bench.server import PostgresCpu, Server

DRIVER_ENV = "BENCH_DRIVER"
CALLS = 1000  # distinct calls cycled through (the single read: 1,000 random agreements); wrk runs
# for the budget's seconds, max_requests only bounds how many distinct calls there are


def available() -> bool:
    return os.environ.get(DRIVER_ENV, "wrk") != "python" and shutil.which("wrk") is not None


def _lua(s: str) -> str:
    """A Lua string literal: printable ASCII as it is, every other byte as a decimal escape."""
    out = []
    for byte in s.encode():
        char = chr(byte)
        out.append(char if 32 <= byte < 127 and char not in '"\\' else f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def _script(calls: list[Call]) -> str:
    lines = ["local calls = {"]
    for call in calls:
        headers = ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in call.headers.items())
        lines.append(f"  wrk.format({_lua(call.method)}, {_lua(call.url)}, {{{headers}}}),")
    lines += [
        "}",
        "local n = 0",
        "request = function()",
        "  n = n % #calls + 1",
        "  return calls[n]",
        "end",
        "done = function(summary, latency, requests)",
        "  local e = summary.errors",
        '  io.write(string.format("PACTA-WRK %d %d %d %d\\n", summary.requests, summary.duration,',
        "    e.status, e.connect + e.read + e.write + e.timeout))",
        "end",
    ]
    return "\n".join(lines) + "\n"


async def _wrk(url: str, script: Path, concurrency: int, seconds: float) -> tuple[int, float, int, int]:
    process = await asyncio.create_subprocess_exec(
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "60s",
        "-s",
        str(script),
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await process.communicate()
    except BaseException:
        # Cancelled (or interrupted): wrk must not go on loading the servers.
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    text = out.decode(errors="replace")
    for line in text.splitlines():
        if line.startswith("PACTA-WRK "):
            requests, micros, status_errors, socket_errors = (int(x) for x in line.split()[1:])
            return requests, micros / 1e6, status_errors, socket_errors
    raise RuntimeError(f"wrk printed no summary:\n{text[-2000:]}")


async def drive(
    name: str, server: Server, make: Callable[[int], Call], budget: Budget, postgres: PostgresCpu
) -> Result:
    """As bench.load.drive (warm-up, then the measured run), with wrk's connections."""
    calls = [make(n) for n in range(min(CALLS, budget.max_requests))]
    if any(c.json is not None or c.expect != 200 for c in calls):
        # wrk counts only answers of 400 and above as errors.
        raise ValueError(f"{name}: the wrk driver sends reads that expect 200 only")
    with tempfile.TemporaryDirectory(prefix="pacta-wrk-") as folder:
        script = Path(folder) / "calls.lua"
        script.write_text(_script(calls))
        if budget.warmup_seconds > 0:
            await _wrk(server.base_url, script, budget.concurrency, budget.warmup_seconds)
        server_cpu, pg_cpu, started = server.cpu_seconds(), postgres.seconds(), time.perf_counter()
        requests, seconds, status_errors, socket_errors = await _wrk(
            server.base_url, script, budget.concurrency, budget.seconds
        )
        server_cpu = server.cpu_seconds() - server_cpu
        pg_after = postgres.seconds()
    errors = status_errors + socket_errors
    return Result(
        name=name,
        requests=requests,
        errors=errors,
        seconds=seconds or time.perf_counter() - started,
        latencies=[],
        server_cpu=server_cpu,
        postgres_cpu=None if pg_cpu is None or pg_after is None else pg_after - pg_cpu,
        client_cpu=0.0,
        first_error=f"{status_errors} non-2xx/3xx answers, {socket_errors} socket errors" if errors else None,
    )
