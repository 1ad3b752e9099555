"""Spreadsheet imports (issue 14): 10,000 agreements through POST /v1/imports, against the very same
rows written with the bench generator's COPY.

The rows are the generator's own (bench/generate.py: titles, summaries, counterparts, dates
consistent with each status), all given to one signatory (an import is one organization's file)
with a folio each. The same rows go both ways:
- COPY: straight into `agreements` in one transaction (then rolled back, to leave the clone as
  it was for the other sections): no checks, no log, no events, no derived status.
- import: a CSV of those rows posted to the running service as the signatory's editor: parsed,
  every row checked by the agreements service, created through it with its log entry and
  webhook event, in one transaction. Measured three ways: a dry run (checks everything, writes
  nothing), the import, and the same file again (every row unchanged: nothing written).
The imported rows stay in the clone: this section runs last.
"""

import asyncio
import csv
import io
import json
import time
import uuid
from datetime import date
from typing import Any

import asyncpg
import httpx2

from app.imports.columns import AGREEMENT_COLUMNS as IMPORT_COLUMNS
from app.models.agreements import LegalStage
from bench import generate
from bench.context import Context, load_average
from bench.output import heading, table
from bench.uploads import memory, reset_peak

ROWS = 10_000
REF_PREFIX = "IMPORT-BENCH"


def generated_rows(count: int, *, seed: int, today: date, signatory_org_id: uuid.UUID) -> list[tuple[Any, ...]]:
    """`count` of the generator's agreement rows (AGREEMENT_COLUMNS order), all the signatory's,
    each with its own folio and with no legal review or registration behind it, like a create."""
    plan = generate.make_plan(count, seed=seed, today=today)
    rows: list[tuple[Any, ...]] = []
    position = {name: i for i, name in enumerate(generate.AGREEMENT_COLUMNS)}
    batch_no = 0
    while len(rows) < count:
        for row in generate.generate_batch(plan, batch_no).agreements:
            values = list(row)
            values[position["signatory_org_id"]] = signatory_org_id
            values[position["external_ref"]] = f"{REF_PREFIX}/{len(rows) + 1:05d}"
            values[position["legal_stage"]] = LegalStage.none.value  # no reviews: what a create sets
            values[position["registration_state"]] = None
            rows.append(tuple(values))
            if len(rows) == count:
                break
        batch_no += 1
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def as_csv(rows: list[tuple[Any, ...]]) -> bytes:
    """The rows as an import file: the template's columns, counterparts flattened (a second or
    third counterpart in counterpart_2_*, counterpart_3_*)."""
    position = {name: i for i, name in enumerate(generate.AGREEMENT_COLUMNS)}
    counterparts = [json.loads(r[position["counterparts"]]) for r in rows]
    most = max((len(c) for c in counterparts), default=1)
    base = [c.name for c in IMPORT_COLUMNS if c.name != "participant_org_ids"]
    extra = [f"counterpart_{n}_{part}" for n in range(2, most + 1) for part in ("name", "kind", "country", "region")]
    header = base + extra
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row, parties in zip(rows, counterparts, strict=True):
        values: dict[str, Any] = {name: row[i] for name, i in position.items() if name in base}
        for n, party in enumerate(parties, start=1):
            prefix = "counterpart_" if n == 1 else f"counterpart_{n}_"
            for part in ("name", "kind", "country", "region"):
                values[prefix + part] = party.get(part)
        writer.writerow([_cell(values.get(name)) for name in header])
    return out.getvalue().encode("utf-8")


async def copy_seconds(url: str, rows: list[tuple[Any, ...]]) -> float:
    """COPY the rows into agreements (indexes and all, as they stand), then roll back."""
    conn = await asyncpg.connect(url)
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            started = time.perf_counter()
            await conn.copy_records_to_table("agreements", records=rows, columns=generate.AGREEMENT_COLUMNS)
            return time.perf_counter() - started
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


async def post(ctx: Context, content: bytes, *, dry_run: bool) -> tuple[float, dict[str, Any]]:
    async with httpx2.AsyncClient(base_url=ctx.pacta.base_url, timeout=1800) as client:
        started = time.perf_counter()
        response = await client.post(
            "/v1/imports",
            params={"kind": "agreements", "dry_run": str(dry_run).lower()},
            files={"file": ("acuerdos.csv", content, "text/csv")},
            headers=ctx.fx.editor,
        )
        seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"import answered {response.status_code}: {response.text[:2000]}")
    body: dict[str, Any] = response.json()
    return seconds, body


async def run(ctx: Context) -> None:
    heading(f"Imports (issue 14): {ROWS:,} agreements from a CSV, against COPY of the same rows")
    rows = await asyncio.to_thread(
        generated_rows, ROWS, seed=ctx.args.seed + 14, today=ctx.today, signatory_org_id=ctx.fx.editor_org_id
    )
    content = as_csv(rows)
    ctx.log(f"{len(rows):,} generated rows for {ctx.fx.editor_org_name}; CSV of {len(content) / 1e6:.1f} MB")
    copy = await copy_seconds(ctx.url, rows)
    ctx.log(f"COPY: {copy:.2f}s (rolled back)")
    pid = ctx.pacta.process.pid
    figures: list[tuple[str, float, dict[str, Any], int | None]] = []
    ways = (("dry run (checks, writes nothing)", True), ("import (creates)", False), ("again (all unchanged)", False))
    for name, dry_run in ways:
        reset = reset_peak(pid)
        before = memory(pid)["VmRSS"]
        seconds, body = await post(ctx, content, dry_run=dry_run)
        peak = memory(pid)["VmHWM"] if reset else None
        ctx.log(f"{name}: {seconds:.1f}s, {body}")
        figures.append((name, seconds, body, None if peak is None else peak - before))
    table(
        ["way", "seconds", "rows/s", "x COPY time", "created", "updated", "unchanged", "server peak +MiB"],
        [
            ("COPY (generator, no checks, no log)", f"{copy:.2f}", f"{ROWS / copy:,.0f}", "1.0", ROWS, 0, 0, "-"),
            *[
                (
                    name,
                    f"{seconds:.1f}",
                    f"{ROWS / seconds:,.0f}",
                    f"{seconds / copy:,.0f}",
                    body["created"],
                    body["updated"],
                    body["unchanged"],
                    "-" if grown is None else f"{grown / 2**20:,.0f}",
                )
                for name, seconds, body, grown in figures
            ],
        ],
    )
    print(f"  load average {load_average()}")
