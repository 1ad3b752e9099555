"""Open data out (issue 14): the Data Package of the whole registry and the agreements list as XLSX
(and CSV, for reference): seconds, size, and the server's peak memory while it builds each.

Runs on its own server process (with a log signing key: a package is cut at a signed checkpoint),
so its peak RSS (VmHWM, reset before each download) is the export's alone. The package is
downloaded twice: built, then served again from the kept file.
"""

import asyncio
import csv
import io
import json
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx2

from app.http.csv import XLSX_MEDIA_TYPE
from app.log.signing import new_seed
from bench.context import Context, load_average
from bench.output import heading, table
from bench.server import Server
from bench.uploads import memory, reset_peak

MIB = 1024 * 1024
SAMPLE_SECONDS = 0.05
# frictionless checks every foreign key in memory, slowly: only on data sets up to this size.
VALIDATE_UP_TO = 20_000


@dataclass(frozen=True, slots=True)
class Download:
    label: str
    status: int
    seconds: float
    size: int
    before: int
    peak: int
    cpu: float


async def _download(
    client: httpx2.AsyncClient, server: Server, label: str, path: str, headers: dict[str, str], target: Path
) -> Download:
    """GET `path` into `target`, sampling the server's RSS; VmHWM reset first (the true peak)."""
    pid = server.process.pid
    before = memory(pid)["VmRSS"]
    reset = reset_peak(pid)
    cpu = server.cpu_seconds()
    samples: list[int] = []
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            samples.append(memory(pid)["VmRSS"])
            await asyncio.sleep(SAMPLE_SECONDS)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    size = 0
    try:
        async with client.stream("GET", server.base_url + path, headers=headers) as response:
            with target.open("wb") as out:
                async for chunk in response.aiter_bytes():
                    out.write(chunk)
                    size += len(chunk)
            status = response.status_code
    finally:
        seconds = time.perf_counter() - started
        done.set()
        await sampler
    after = memory(pid)
    peak = max(after["VmHWM"] if reset else 0, max(samples, default=0))
    return Download(label, status, seconds, size, before, peak, server.cpu_seconds() - cpu)


def _mib(n: float) -> str:
    return f"{n / MIB:,.1f} MiB"


def _row(d: Download) -> tuple[object, ...]:
    return (
        d.label,
        d.status,
        f"{d.seconds:.1f}",
        _mib(d.size),
        f"{d.cpu:.1f}",
        _mib(d.before),
        _mib(d.peak),
        _mib(d.peak - d.before),
    )


def _validate(path: Path) -> str:
    import frictionless

    started = time.perf_counter()
    report = frictionless.validate(str(path))
    errors = [e.type for task in report.tasks for e in task.errors]
    return f"{len(errors)} errors ({sorted(set(errors))[:5]}) in {time.perf_counter() - started:.1f}s"


async def run(ctx: Context) -> None:
    heading(f"Open data out (issue 14): the Data Package and the list as XLSX, {ctx.args.agreements:,} agreements")
    folder = Path(tempfile.mkdtemp(prefix="pacta-bench-export-"))
    # The server's temporary files (XLSX being written, kept packages) in this run's folder.
    env = {**ctx.env, "PACTA_LOG_SIGNING_KEY": new_seed(), "TMPDIR": str(folder)}
    server = Server("pacta-export", ["app.main:create_app", "--factory"], env, ctx.run_dir, "/readyz")
    downloads: list[Download] = []
    try:
        server.wait_ready()
        async with httpx2.AsyncClient(timeout=3600) as client:
            # Warm: imports, connections, catalogues.
            await client.get(server.base_url + "/v1/agreements?limit=1", headers=ctx.fx.admin)
            package = folder / "datapackage.zip"
            ctx.log("export: the data package, built")
            downloads.append(
                await _download(client, server, "datapackage.zip (built)", "/v1/exports/datapackage.zip", {}, package)
            )
            ctx.log("export: the data package, kept")
            downloads.append(
                await _download(
                    client, server, "datapackage.zip (kept)", "/v1/exports/datapackage.zip", {}, folder / "again.zip"
                )
            )
            ctx.log("export: the agreements list as XLSX (admin: every agreement)")
            xlsx = {**ctx.fx.admin, "Accept": XLSX_MEDIA_TYPE}
            downloads.append(
                await _download(client, server, "agreements as XLSX", "/v1/agreements", xlsx, folder / "a.xlsx")
            )
            ctx.log("export: the agreements list as CSV (admin: every agreement)")
            csv_headers = {**ctx.fx.admin, "Accept": "text/csv"}
            downloads.append(
                await _download(client, server, "agreements as CSV", "/v1/agreements", csv_headers, folder / "a.csv")
            )
        table(
            ("download", "status", "seconds", "size", "server CPU s", "RSS before", "peak RSS", "peak growth"),
            [_row(d) for d in downloads],
        )
        if downloads[0].status == 200:
            with zipfile.ZipFile(package) as archive:
                descriptor = json.loads(archive.read("datapackage.json"))
                checkpoint = json.loads(archive.read("checkpoint.json"))
                rows = []
                for resource in descriptor["resources"]:
                    with archive.open(resource["path"]) as member:
                        lines = sum(1 for _ in csv.reader(io.TextIOWrapper(member, encoding="utf-8", newline=""))) - 1
                    rows.append((resource["name"], f"{lines:,}", _mib(resource["bytes"])))
            table(("resource", "rows", "CSV size"), rows)
            print(
                f"  cut at log checkpoint: tree size {checkpoint['tree_size']:,}, root {checkpoint['root_hash'][:16]}…"
            )
            if ctx.args.agreements <= VALIDATE_UP_TO:
                ctx.log("export: frictionless validate")
                print("  frictionless validate: " + await asyncio.to_thread(_validate, package))
            else:
                print(f"  (frictionless validate runs on data sets up to {VALIDATE_UP_TO:,} agreements)")
        print(f"  load average {load_average()} (other processes on this machine weigh on every figure)")
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
