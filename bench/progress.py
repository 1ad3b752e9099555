"""The agreement progress read (issue 4): GET /v1/agreements/{id}/targets for an agreement with 10
targets and 500 verified measurements.

The targets are created through the API (editor key); the measurements, the evidence they cite and
the citations are written with COPY in one transaction, already verified and accepted (bulk rows:
no log entries, like the rest of the generated data set).
"""

import random
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx2
from sqlalchemy.dialects import postgresql

from app.agreements import repository
from bench import queries
from bench.context import Context, load_average
from bench.load import Call, drive
from bench.output import heading, table

TARGETS = 10
MEASUREMENTS = 500
EVIDENCE = 50  # each document is cited by 10 measurements

MEASUREMENT_COLUMNS = (
    "id",
    "target_id",
    "agreement_id",
    "as_of",
    "value",
    "comment",
    "status",
    "reported_by_org_id",
    "decided_at",
    "decided_by_org_id",
    "created_at",
    "updated_at",
)
EVIDENCE_COLUMNS = (
    "id",
    "agreement_id",
    "target_id",
    "title",
    "document_type",
    "language",
    "document_date",
    "filename",
    "media_type",
    "size_bytes",
    "sha256",
    "storage_key",
    "uploaded_by_org_id",
    "uploaded_at",
    "status",
    "reviewed_at",
    "reviewed_by_org_id",
)


def _milestones(values: tuple[float, float, float] | None) -> list[dict[str, Any]]:
    months = (6, 12, 24)
    if values is None:
        return [{"months": m} for m in months]
    return [{"months": m, "target_value": v} for m, v in zip(months, values, strict=True)]


def target_bodies() -> list[dict[str, Any]]:
    """Ten targets across the indicators: counts, a currency, a qualitative and a descending one."""
    count = {"measure": "count", "baseline": {"value": 0}}
    return [
        {
            "indicator": "companies_served",
            "title": "Empresas atendidas",
            **count,
            "milestones": _milestones((10, 25, 50)),
        },
        {
            "indicator": "investment_pipeline",
            "title": "Cartera de inversión",
            "measure": "currency",
            "unit": "MXN",
            "baseline": {"value": 0},
            "milestones": _milestones((1_000_000, 5_000_000, 20_000_000)),
        },
        {
            "indicator": "company_installations",
            "title": "Empresas instaladas",
            **count,
            "milestones": _milestones((1, 3, 6)),
        },
        {
            "indicator": "technical_exchanges",
            "title": "Intercambios técnicos",
            **count,
            "milestones": _milestones((2, 5, 10)),
        },
        {
            "indicator": "certified_trainings",
            "title": "Capacitaciones certificadas",
            **count,
            "milestones": _milestones((20, 60, 150)),
        },
        {
            "indicator": "technology_pilots",
            "title": "Pilotos tecnológicos",
            **count,
            "milestones": _milestones((1, 2, 4)),
        },
        {
            "indicator": "public_service_improvements",
            "title": "Mejora del servicio de agua",
            "measure": "qualitative",
            "milestones": _milestones(None),
        },
        {"indicator": "jobs_created", "title": "Empleos generados", **count, "milestones": _milestones((50, 150, 400))},
        {
            "indicator": "custom",
            "title": "Tiempo de trámite de exportación (días)",
            "measure": "count",
            "ascending": False,
            "baseline": {"value": 40},
            "milestones": _milestones((30, 20, 10)),
        },
        {
            "indicator": "custom",
            "title": "Participación de mujeres empresarias",
            "measure": "percentage",
            "baseline": {"value": 15},
            "milestones": _milestones((20, 30, 40)),
        },
    ]


async def progress_agreement(ctx: Context) -> tuple[uuid.UUID, date]:
    """An agreement of the editor's organization in force for about 30 months: its 6, 12 and 24-month
    milestones are all due, the measurements spread over those months."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    status_sql = str(repository.status_expr(ctx.today).compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    conn = await asyncpg.connect(ctx.url)
    try:
        row = await conn.fetchrow(
            f"SELECT id, coalesce(entry_into_force_on, signed_on) AS since FROM agreements "  # noqa: S608
            f"WHERE signatory_org_id = $1 AND ({status_sql}) = 'in_force' "
            "AND coalesce(entry_into_force_on, signed_on) <= $2 "
            "ORDER BY coalesce(entry_into_force_on, signed_on) DESC LIMIT 1",
            ctx.fx.editor_org_id,
            ctx.today - timedelta(days=30 * 30),
        )
    finally:
        await conn.close()
    if row is None:
        raise RuntimeError("the editor's organization has no agreement in force")
    return row["id"], row["since"]


async def fill(ctx: Context, agreement_id: uuid.UUID, since: date) -> list[uuid.UUID]:
    """10 targets through the API, then 500 verified measurements citing 50 accepted documents."""
    target_ids: list[uuid.UUID] = []
    async with httpx2.AsyncClient(base_url=ctx.pacta.base_url, timeout=60) as client:
        for body in target_bodies():
            response = await client.post(f"/v1/agreements/{agreement_id}/targets", json=body, headers=ctx.fx.editor)
            if response.status_code != 201:
                raise RuntimeError(f"creating a target: {response.status_code} {response.text[:300]}")
            target_ids.append(uuid.UUID(response.json()["id"]))
    rng = random.Random(ctx.args.seed)
    org = ctx.fx.editor_org_id
    now = datetime.now(UTC)
    span = max(1, (ctx.today - since).days)
    evidence: list[tuple[Any, ...]] = []
    for n in range(EVIDENCE):
        digest = f"{rng.getrandbits(256):064x}"
        evidence.append(
            (
                uuid.uuid4(),
                agreement_id,
                target_ids[n % TARGETS],
                f"Lista de asistencia {n + 1}",
                "attendance_list",
                "es",
                since + timedelta(days=span * n // EVIDENCE),
                f"asistencia-{n + 1}.pdf",
                "application/pdf",
                250_000 + n,
                digest,
                f"sha256/{digest[:2]}/{digest}",
                org,
                now,
                "accepted",
                now,
                org,
            )
        )
    bodies = target_bodies()
    measurements: list[tuple[Any, ...]] = []
    citations: list[tuple[uuid.UUID, uuid.UUID]] = []
    per_target = MEASUREMENTS // TARGETS
    for t, target_id in enumerate(target_ids):
        body = bodies[t]
        milestones = body["milestones"]
        top = float(milestones[-1].get("target_value") or 0)
        base = float(body.get("baseline", {}).get("value") or 0)
        for k in range(per_target):
            as_of = since + timedelta(days=span * (k + 1) // (per_target + 1))
            share = (k + 1) / per_target * rng.uniform(0.7, 1.1)
            value = None if body["measure"] == "qualitative" else Decimal(str(round(base + (top - base) * share, 2)))
            measurement_id = uuid.uuid4()
            measurements.append(
                (measurement_id, target_id, agreement_id, as_of, value, None, "verified", org, now, org, now, now)
            )
            citations.append((measurement_id, evidence[(t * per_target + k) % EVIDENCE][0]))
    conn = await asyncpg.connect(ctx.url)
    try:
        async with conn.transaction():
            await conn.copy_records_to_table("evidence_documents", records=evidence, columns=EVIDENCE_COLUMNS)
            await conn.copy_records_to_table("measurements", records=measurements, columns=MEASUREMENT_COLUMNS)
            await conn.copy_records_to_table(
                "measurement_evidence", records=citations, columns=("measurement_id", "evidence_id")
            )
        await conn.execute("ANALYZE measurements, evidence_documents, measurement_evidence, targets")
    finally:
        await conn.close()
    return target_ids


async def run(ctx: Context) -> None:
    heading(f"Agreement progress read (issue 4): {TARGETS} targets, {MEASUREMENTS} verified measurements")
    agreement_id, since = await progress_agreement(ctx)
    if ctx.shared.get("progress_agreement") != agreement_id:
        ctx.log(f"progress: {TARGETS} targets through the API, {MEASUREMENTS} measurements by COPY on {agreement_id}")
        await fill(ctx, agreement_id, since)
        ctx.shared["progress_agreement"] = agreement_id
    path = f"/v1/agreements/{agreement_id}/targets"
    async with httpx2.AsyncClient(base_url=ctx.pacta.base_url, timeout=60) as client:
        response = await client.get(path)
    items = response.json()["items"] if response.status_code == 200 else []
    statuses = Counter(m["status"] for t in items for m in t["milestones"])
    print(
        f"  agreement {agreement_id}, in force since {since}: GET {path} -> {response.status_code}, "
        f"{len(items)} targets, milestones: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
    )
    counted = await queries.count_statements(
        ctx.url, [("anonymous", path, {}), ("editor of the signatory", path, ctx.fx.editor)], (1, 10)
    )
    table(
        ("progress read", "limit=1 (1 target)", "limit=10 (10 targets, 500 measurements)"),
        [(label, len(per[0][1]), len(per[1][1])) for label, per in counted],
    )
    print("  statements of the editor's read (the anonymous one runs the last three):")
    for statement in counted[1][1][1][1]:
        print(f"    {statement} ...")
    ctx.log("load: progress read, anonymous and editor")
    results = [
        await drive("progress read, anonymous", ctx.pacta, lambda _n: Call("GET", path), ctx.budget, ctx.pg),
        await drive(
            "progress read, editor", ctx.pacta, lambda _n: Call("GET", path, ctx.fx.editor), ctx.budget, ctx.pg
        ),
    ]
    table(
        ("scenario", "requests", "req/s", "p50 ms", "p99 ms", "errors", "app CPU ms/req", "pg CPU ms/req"),
        [
            (
                r.name,
                r.requests,
                f"{r.rps:.0f}",
                f"{r.percentile(50):.1f}",
                f"{r.percentile(99):.1f}",
                r.errors,
                r.per_request_ms(r.server_cpu),
                r.per_request_ms(r.postgres_cpu),
            )
            for r in results
        ],
    )
    for r in results:
        if r.first_error:
            print(f"  first error in {r.name}: {r.first_error}")
    print(f"  ({ctx.args.concurrency} concurrent clients, {ctx.args.duration:g}s each; load average {load_average()})")
