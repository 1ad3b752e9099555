"""Evidence uploads (issue 4): throughput through the API against hashing and writing the same
bytes locally, and the server's memory during a 200 MiB upload.

Bodies are multipart/form-data streamed from generators with a declared Content-Length, so the
bench never holds the 200 MiB file (nor its multipart body) in memory; the 20 MiB files are held
once each, to write the very same bytes both ways.
"""

import asyncio
import hashlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx2

from bench import sink as sink_module
from bench.context import Context, load_average
from bench.output import heading, table
from bench.server import Server

MIB = 1024 * 1024
SMALL_MIB = 20
SMALL_UPLOADS = 5
BIG_MIB = 200
BIG_LIMIT = 256 * MIB
SAMPLE_SECONDS = 0.01
PDF_HEAD = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"  # judged a PDF by its bytes


def random_pdf(size: int) -> Iterator[bytes]:
    """`size` bytes of distinct content that the service takes for a PDF, a MiB at a time."""
    sent = 0
    while sent < size:
        n = min(MIB, size - sent)
        chunk = os.urandom(n)
        if sent == 0:
            chunk = PDF_HEAD + chunk[len(PDF_HEAD) :]
        sent += n
        yield chunk


@dataclass(frozen=True, slots=True)
class Body:
    headers: dict[str, str]
    parts: AsyncIterator[bytes]


def multipart(fields: dict[str, str], filename: str, size: int, chunks: Iterable[bytes]) -> Body:
    """A multipart/form-data body around a file of known size, produced as it is sent."""
    boundary = uuid.uuid4().hex
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    async def parts() -> AsyncIterator[bytes]:
        yield head
        for chunk in chunks:
            yield chunk
        yield tail

    return Body(
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + size + len(tail)),
        },
        parts=parts(),
    )


def _fields(n: int) -> dict[str, str]:
    return {"title": f"Informe de avance (bench {n})", "document_type": "progress_report", "language": "es"}


async def upload(
    client: httpx2.AsyncClient, base_url: str, agreement_id: uuid.UUID, headers: dict[str, str], body: Body
) -> tuple[float, httpx2.Response]:
    started = time.perf_counter()
    response = await client.post(
        f"{base_url}/v1/agreements/{agreement_id}/evidence", content=body.parts, headers=headers | body.headers
    )
    return time.perf_counter() - started, response


def write_and_hash(data: bytes, folder: Path) -> tuple[float, str]:
    """The baseline: hash and write the bytes to a temporary file in MiB chunks (no fsync, like the
    local store), then remove it."""
    started = time.perf_counter()
    digest = hashlib.sha256()
    view = memoryview(data)
    with tempfile.NamedTemporaryFile(dir=folder, delete=False) as handle:
        for offset in range(0, len(data), MIB):
            chunk = view[offset : offset + MIB]
            digest.update(chunk)
            handle.write(chunk)
    seconds = time.perf_counter() - started
    Path(handle.name).unlink()
    return seconds, digest.hexdigest()


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in bytes."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) * 1024
    return found


def reset_peak(pid: int) -> bool:
    """Reset a process's VmHWM to its current RSS (Linux >= 4.0: `5` into clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def _upload_agreement(ctx: Context) -> uuid.UUID:
    conn = await asyncpg.connect(ctx.url)
    try:
        found = await conn.fetchval(
            "SELECT id FROM agreements WHERE signatory_org_id = $1 ORDER BY updated_at DESC LIMIT 1",
            ctx.fx.editor_org_id,
        )
    finally:
        await conn.close()
    assert isinstance(found, uuid.UUID)
    return found


def _mib(n: float) -> str:
    return f"{n / MIB:,.1f} MiB"


async def run(ctx: Context) -> None:
    heading(f"Evidence uploads (issue 4): {SMALL_UPLOADS} x {SMALL_MIB} MiB through the API, and a {BIG_MIB} MiB one")
    agreement_id = await _upload_agreement(ctx)
    storage = Path(ctx.env["PACTA_STORAGE_URL"].removeprefix("file://"))
    scratch = storage.parent / "local-baseline"
    scratch.mkdir(parents=True, exist_ok=True)
    size = SMALL_MIB * MIB
    ctx.log(f"uploads: {SMALL_UPLOADS} sequential {SMALL_MIB} MiB uploads, each also hashed and written locally")
    rows = []
    api_seconds = local_seconds = 0.0
    sink_seconds = {"/": 0.0, "/?drain": 0.0}
    errors: list[str] = []
    sink = Server("sink", ["bench.sink:app"], {**os.environ, sink_module.ENV_DIR: str(scratch)}, ctx.run_dir, "/")
    try:
        await asyncio.to_thread(sink.wait_ready)
        async with httpx2.AsyncClient(timeout=300) as client:
            # One small upload first, so that imports and connections are warm.
            warm = multipart(_fields(0), "warm.pdf", 64 * 1024, random_pdf(64 * 1024))
            await upload(client, ctx.pacta.base_url, agreement_id, ctx.fx.editor, warm)
            cpu_before = ctx.pacta.cpu_seconds()
            for n in range(1, SMALL_UPLOADS + 1):
                data = b"".join(random_pdf(size))
                local, local_digest = await asyncio.to_thread(write_and_hash, data, scratch)

                def body_of(n: int = n, data: bytes = data) -> Body:
                    chunks = (data[i : i + MIB] for i in range(0, size, MIB))
                    return multipart(_fields(n), f"informe-{n}.pdf", size, chunks)

                # The same body through HTTP to a server that only hashes and writes it, and to
                # one that only receives it.
                for target in ("/", "/?drain"):
                    body = body_of()
                    started = time.perf_counter()
                    sunk = await client.post(sink.base_url + target, content=body.parts, headers=body.headers)
                    sink_seconds[target] += time.perf_counter() - started
                    if sunk.status_code != 200:
                        errors.append(f"sink {target} {n}: {sunk.status_code} {sunk.text[:200]}")
                seconds, response = await upload(client, ctx.pacta.base_url, agreement_id, ctx.fx.editor, body_of())
                served = response.json().get("sha256") if response.status_code == 201 else None
                if response.status_code != 201 or served != local_digest:
                    errors.append(f"upload {n}: {response.status_code} {response.text[:200]}")
                api_seconds += seconds
                local_seconds += local
                rows.append(
                    (f"upload {n}", f"{size / MIB / seconds:.0f}", f"{size / MIB / local:.0f}", response.status_code)
                )
                del data
            server_cpu = ctx.pacta.cpu_seconds() - cpu_before
    finally:
        sink.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    table(("20 MiB file", "API MiB/s", "local MiB/s", "status"), rows)
    total = SMALL_UPLOADS * SMALL_MIB
    api_rate, local_rate = total / api_seconds, total / local_seconds
    sink_rate, drain_rate = total / sink_seconds["/"], total / sink_seconds["/?drain"]
    print(f"  through the API (POST multipart, editor key): {api_rate:.0f} MiB/s ({api_seconds:.2f} s for {total} MiB)")
    print(f"  hashlib + write to a temporary file locally:  {local_rate:.0f} MiB/s ({local_seconds:.2f} s)")
    print(f"  the same bodies over HTTP to bench/sink.py, hashed and written: {sink_rate:.0f} MiB/s")
    print(f"  the same bodies over HTTP to bench/sink.py, only received:      {drain_rate:.0f} MiB/s")
    print(f"  API / local throughput ratio: {api_rate / local_rate:.2f} (aim >= 0.5)")
    print(
        f"  ceilings on this machine: received only / local {drain_rate / local_rate:.2f}, "
        f"hashed and written / local {sink_rate / local_rate:.2f}; API / hashed and written {api_rate / sink_rate:.2f}"
    )
    ctx.summary.append(
        (
            f"upload {SMALL_UPLOADS} x {SMALL_MIB} MiB (editor)",
            f"{api_rate:.0f} MiB/s",
            f"hashlib + write locally ({local_rate:.0f} MiB/s)",
            f"{api_rate / local_rate:.2f}",
        )
    )
    for label, rate in (("hashed and written", sink_rate), ("only received", drain_rate)):
        ctx.summary.append(
            (
                f"the same bodies to bench/sink.py, {label}",
                f"{rate:.0f} MiB/s",
                f"hashlib + write locally ({local_rate:.0f} MiB/s)",
                f"{rate / local_rate:.2f}",
            )
        )
    print(
        f"  server CPU: {server_cpu * 1000 / total:.1f} ms per MiB uploaded ({server_cpu:.2f} s for {total} MiB, "
        f"{server_cpu / api_seconds:.0%} of the upload time); "
        f"the local baseline {local_seconds * 1000 / total:.1f} ms/MiB"
    )
    print("  (the API also parses multipart, spools the part to a temporary file, sniffs the type, writes it")
    print("   to the content-addressed store and logs the upload; the baseline only hashes and writes)")
    for error in errors:
        print(f"  ERROR {error}")
    await _big_upload(ctx, agreement_id)


@dataclass(frozen=True, slots=True)
class Peak:
    mib: int
    status: int
    seconds: float
    before: int
    peak: int
    after: int
    samples: int
    own_before: int
    own_after: int


async def _measured(
    client: httpx2.AsyncClient, server: Server, agreement_id: uuid.UUID, ctx: Context, mib: int
) -> Peak:
    """One upload of `mib` MiB streamed from a generator, the server's RSS sampled throughout."""
    pid = server.process.pid
    await asyncio.sleep(0.3)
    before = memory(pid)["VmRSS"]
    reset = reset_peak(pid)
    own_before = memory(os.getpid())["VmRSS"]
    samples: list[int] = []
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            samples.append(memory(pid)["VmRSS"])
            await asyncio.sleep(SAMPLE_SECONDS)

    sampler = asyncio.create_task(sample())
    body = multipart(_fields(100 + mib), f"expediente-{mib}.pdf", mib * MIB, random_pdf(mib * MIB))
    seconds, response = await upload(client, server.base_url, agreement_id, ctx.fx.editor, body)
    done.set()
    await sampler
    after = memory(pid)
    if response.status_code != 201:
        print(f"  ERROR {mib} MiB upload: {response.status_code} {response.text[:300]}")
    # VmHWM was reset to the RSS at the start, so it is the true peak; samples are the fallback.
    peak = max(after["VmHWM"] if reset else 0, max(samples, default=0))
    return Peak(
        mib,
        response.status_code,
        seconds,
        before,
        peak,
        after["VmRSS"],
        len(samples),
        own_before,
        memory(os.getpid())["VmRSS"],
    )


async def _big_upload(ctx: Context, agreement_id: uuid.UUID) -> None:
    ctx.log(f"uploads: a second server with PACTA_MAX_UPLOAD_BYTES={BIG_LIMIT}: {SMALL_MIB} then {BIG_MIB} MiB")
    env = ctx.env | {"PACTA_MAX_UPLOAD_BYTES": str(BIG_LIMIT)}
    server = Server("pacta-big-upload", ["app.main:create_app", "--factory"], env, ctx.run_dir, "/readyz")
    try:
        await asyncio.to_thread(server.wait_ready)
        async with httpx2.AsyncClient(timeout=600) as client:
            warm = multipart(_fields(100), "warm-big.pdf", MIB, random_pdf(MIB))
            await upload(client, server.base_url, agreement_id, ctx.fx.editor, warm)
            peaks = [await _measured(client, server, agreement_id, ctx, mib) for mib in (SMALL_MIB, BIG_MIB)]
    finally:
        server.stop()
    print()
    table(
        (
            "upload (streamed from a generator)",
            "HTTP",
            "seconds",
            "server RSS before",
            "peak (VmHWM)",
            "after",
            "growth",
            "growth / file",
        ),
        [
            (
                f"{p.mib} MiB",
                p.status,
                f"{p.seconds:.2f}",
                _mib(p.before),
                _mib(p.peak),
                _mib(p.after),
                _mib(p.peak - p.before),
                f"{(p.peak - p.before) / (p.mib * MIB):.1%}",
            )
            for p in peaks
        ],
    )
    big = peaks[-1]
    print(
        f"  peak growth {_mib(peaks[0].peak - peaks[0].before)} for {SMALL_MIB} MiB, "
        f"{_mib(big.peak - big.before)} for {BIG_MIB} MiB ({big.samples} RSS samples taken during the latter); "
        "aim: not proportional to the file"
    )
    print(
        f"  the bench's own RSS around the {BIG_MIB} MiB upload: {_mib(big.own_before)} before, {_mib(big.own_after)} "
        f"after (the body is generated as it is sent); {BIG_MIB} MiB at {BIG_MIB / big.seconds:.0f} MiB/s "
        f"including generating the random bytes; load average {load_average()}"
    )
