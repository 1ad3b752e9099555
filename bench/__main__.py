"""`python -m bench [--agreements N] [--only SECTIONS]`: generate (or reuse) the data sets, then
measure and print (figures only, nothing asserted).

Sections, in the order they run: list (the agreements list: EXPLAIN, statements, load, the bare
reference), ratios (every hot read against its raw reference, side by side), uploads (evidence
throughput and memory, issue 4), progress (the targets read, issue 4), compliance (findings and
summary against psql, issue 5), webhooks (two workers, issue 6), export (the open Data Package and
a big list as XLSX, issue 14), imports (10,000 agreements from a CSV against COPY of the same rows,
issue 14) and log (a million-entry transparency log, issue 5). All but `log` share one clone of the
agreements data set and one service process; `log` has its own database and server. A closing
table gives each endpoint, its reference and the ratio. With BENCH_PACTA_DIR set to another
checkout, the service runs from there (a before-and-after comparison, one bench).
"""

import argparse
import asyncio
import os
import random
import shutil
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx2
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from app.agreements import repository
from app.agreements.repository import Filters, Viewer
from app.clock import today_in
from app.config import Settings
from app.db import make_engine
from app.http.pagination import DEFAULT_LIMIT, PageParams
from bench import (
    bare,
    compliance,
    database,
    explain,
    export,
    imports,
    profile,
    progress,
    queries,
    ratios,
    raw,
    transparency,
    uploads,
    webhooks,
)
from bench.context import Context, Fixtures, agreement_body, fixtures
from bench.load import Budget, Call, Result, drive
from bench.output import Log, heading, table
from bench.server import PACTA_DIR_ENV, PostgresCpu, Server

SECTIONS = ("list", "ratios", "uploads", "progress", "log", "compliance", "webhooks", "export", "imports")
ON_DATASET = ("list", "ratios", "uploads", "progress", "compliance", "webhooks", "export", "imports")


@dataclass(frozen=True, slots=True)
class ListScenario:
    name: str
    query: str
    filters: Filters
    sort: str = "-updated_at"


LISTS = (
    ListScenario("no filter", "", Filters()),
    ListScenario("status=in_force", "status=in_force", Filters(statuses=["in_force"])),
    ListScenario("state=MX-JAL", "state=MX-JAL", Filters(state="MX-JAL")),
    ListScenario(
        "counterpart_country=US&sort=-signed_on",
        "counterpart_country=US&sort=-signed_on",
        Filters(counterpart_country="US"),
        "-signed_on",
    ),
    ListScenario("q=cooperacion", "q=cooperacion", Filters(q="cooperacion")),
    ListScenario(
        "subject_area=water&registration_status=registered",
        "subject_area=water&registration_status=registered",
        Filters(subject_area="water", registration_statuses=["registered"]),
    ),
    ListScenario(
        "signed_from=2000-01-01&signed_to=2009-12-31",
        "signed_from=2000-01-01&signed_to=2009-12-31",
        Filters(signed_from=date(2000, 1, 1), signed_to=date(2009, 12, 31)),
    ),
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--agreements", type=int, default=100_000, help="data set size (default 100,000)")
    parser.add_argument("--seed", type=int, default=20261127, help="generator seed")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--duration", type=float, default=6.0, help="measured seconds per scenario (default 6)")
    parser.add_argument("--max-requests", type=int, default=20_000, help="request cap per scenario")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each scenario")
    parser.add_argument("--regenerate", action="store_true", help="generate the data set again even if present")
    parser.add_argument("--generate-only", action="store_true", help="stop once the data set is ready")
    parser.add_argument("--keep-database", action="store_true", help="keep this run's database clone")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        default=0,
        help="instead of the load: cProfile N in-process anonymous first-page list requests",
    )
    parser.add_argument(
        "--log-size",
        type=int,
        default=transparency.DEFAULT_SIZE,
        help=f"transparency log entries for the proofs (default {transparency.DEFAULT_SIZE:,})",
    )
    parser.add_argument(
        "--log-verify-size",
        type=int,
        default=transparency.DEFAULT_VERIFY_SIZE,
        help=f"log entries for timing `pacta log verify` (default {transparency.DEFAULT_VERIFY_SIZE:,})",
    )
    parser.add_argument(
        "--only",
        type=_sections,
        default=list(SECTIONS),
        metavar="SECTIONS",
        help=f"comma-separated sections to run (default all: {','.join(SECTIONS)})",
    )
    return parser.parse_args(argv)


def _sections(value: str) -> list[str]:
    wanted = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in wanted if v not in SECTIONS]
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(f"unknown section(s) {unknown or value!r}; choose from {','.join(SECTIONS)}")
    return [s for s in SECTIONS if s in wanted]


def _literal(expr: Any) -> str:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return str(expr.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


async def describe_dataset(url: str, today: date) -> None:
    """What the data set holds: the status mix (by the service's own rule), states, countries, years."""
    status_sql = _literal(repository.status_expr(today))
    registration_sql = _literal(repository.registration_status_expr())
    conn = await asyncpg.connect(url)
    try:
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM agreements) AS agreements, "
            "(SELECT count(*) FROM organizations) AS organizations, "
            "(SELECT count(*) FROM legal_reviews) AS legal_reviews, "
            "(SELECT count(*) FROM registrations) AS registrations, "
            "(SELECT count(*) FROM agreement_participants) AS participants, "
            "pg_size_pretty(pg_database_size(current_database())) AS size"
        )
        assert counts is not None
        print("  " + ", ".join(f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}" for k, v in counts.items()))
        total = counts["agreements"] or 1
        statuses = await conn.fetch(
            f"SELECT {status_sql} AS s, count(*) AS n FROM agreements GROUP BY 1 ORDER BY 2 DESC"  # noqa: S608
        )
        print("  status:       " + ", ".join(f"{r['s']} {r['n'] / total:.1%}" for r in statuses))
        registrations = await conn.fetch(
            f"SELECT {registration_sql} AS s, count(*) AS n FROM agreements GROUP BY 1 ORDER BY 2 DESC"  # noqa: S608
        )
        print("  registration: " + ", ".join(f"{r['s']} {r['n'] / total:.1%}" for r in registrations))
        states = await conn.fetch(
            "SELECT o.subdivision AS s, count(*) AS n FROM agreements a "
            "JOIN organizations o ON o.id = a.signatory_org_id "
            "GROUP BY 1 ORDER BY 2 DESC LIMIT 8"
        )
        print("  top states:   " + ", ".join(f"{r['s']} {r['n'] / total:.1%}" for r in states))
        countries = await conn.fetch(
            "SELECT c->>'country' AS s, count(*) AS n FROM agreements, jsonb_array_elements(counterparts) c "
            "GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
        )
        print("  countries:    " + ", ".join(f"{r['s']} {r['n'] / total:.1%}" for r in countries))
        decades = await conn.fetch(
            "SELECT (extract(year FROM signed_on)::int / 10 * 10)::text || 's' AS s, count(*) AS n FROM agreements "
            "WHERE signed_on IS NOT NULL GROUP BY 1 ORDER BY 1"
        )
        print("  signed in:    " + ", ".join(f"{r['s']} {r['n']:,}" for r in decades))
        found = await conn.fetchval(
            "SELECT count(*) FROM agreements WHERE search_vector @@ websearch_to_tsquery('spanish', pacta_fold($1))",
            "cooperacion",
        )
        print(f"  q=cooperacion matches {found:,} agreements ({found / total:.1%})")
    finally:
        await conn.close()


async def explain_section(engine: AsyncEngine, fx: Fixtures, today: date) -> dict[str, float]:
    heading("EXPLAIN (ANALYZE, BUFFERS) of each list query (admin caller, default page size)")
    admin = Viewer(all_=True, org_id=None)
    cases: list[tuple[str, Filters, str, str | None]] = [(s.name, s.filters, s.sort, None) for s in LISTS]
    cases.insert(1, (f"no filter, deep page (after {fx.deep_after:,} rows)", Filters(), "-updated_at", fx.deep_cursor))
    summary: list[tuple[str, str, str]] = []
    times: dict[str, float] = {}
    for name, filters, sort, cursor in cases:
        statement = repository.list_statement(filters, admin, today, sort, PageParams(DEFAULT_LIMIT, cursor))
        plan = await explain.explain(engine, statement)
        print(f"\n-- {name}")
        for line in plan:
            print("   " + line)
        times[name] = explain.execution_ms(plan)
        summary.append((name, f"{times[name]:.2f}", ", ".join(explain.index_names(plan)) or "(none)"))
    print()
    table(("list query", "execution ms", "indexes read"), summary)
    return times


async def queries_section(url: str, fx: Fixtures) -> None:
    heading("SQL statements per request (in-process, counted by a before_cursor_execute hook)")
    requests: list[tuple[str, str, dict[str, str]]] = [("anonymous, no filter", "/v1/agreements", {})]
    requests += [(f"admin, {s.name}", f"/v1/agreements?{s.query}", fx.admin) for s in LISTS]
    requests.append(("admin, deep page", f"/v1/agreements?cursor={fx.deep_cursor}", fx.admin))
    counted = await queries.count_statements(url, requests, (10, 200))
    rows = []
    for label, per_limit in counted:
        small, large = per_limit[0][1], per_limit[1][1]
        rows.append((label, len(small), len(large), "same" if len(small) == len(large) else "DIFFERENT"))
    table(("list request", "limit=10", "limit=200", ""), rows)
    print("  statements of one authenticated list request:")
    for statement in counted[1][1][0][1]:
        print(f"    {statement} ...")
    print("  (an authenticated request resolves its key and refreshes last_used_at, at most once a minute;")
    print("   a checked-out connection is also pinged by pool_pre_ping, which runs no SQL statement)\n")


def results_table(results: list[Result]) -> None:
    rows = [
        (
            r.name,
            r.requests,
            f"{r.rps:.0f}",
            f"{r.percentile(50):.1f}",
            f"{r.percentile(99):.1f}",
            r.errors,
            r.per_request_ms(r.server_cpu),
            r.per_request_ms(r.postgres_cpu),
            r.per_request_ms(r.client_cpu),
        )
        for r in results
    ]
    table(
        (
            "scenario",
            "requests",
            "req/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "app CPU ms/req",
            "pg CPU ms/req",
            "client CPU ms/req",
        ),
        rows,
    )
    for r in results:
        if r.first_error:
            print(f"  first error in {r.name}: {r.first_error}")


async def compare_json(pacta: Server, reference: Server) -> str:
    async with httpx2.AsyncClient(timeout=30) as client:
        ours = (await client.get(pacta.base_url + "/v1/agreements")).json()
        theirs = (await client.get(reference.base_url + "/v1/agreements")).json()
    if ours == theirs:
        return f"identical JSON ({len(ours['items'])} items, same next_cursor)"
    differing = [i for i, (a, b) in enumerate(zip(ours["items"], theirs["items"], strict=False)) if a != b]
    return f"JSON DIFFERS (items {differing[:5]}, cursor equal: {ours['next_cursor'] == theirs['next_cursor']})"


async def list_load_section(ctx: Context, reference: Server, explain_times: dict[str, float]) -> None:
    """The agreements list under load: filters, deep page, one agreement, creation, the bare reference."""
    args, log, fx, pacta, pg = ctx.args, ctx.log, ctx.fx, ctx.pacta, ctx.pg
    budget = ctx.budget
    rng = random.Random(args.seed)
    results: list[Result] = []

    async def scenario(name: str, server: Server, make: Any, b: Budget = budget) -> Result:
        log(f"load: {name}")
        result = await drive(name, server, make, b, pg)
        results.append(result)
        return result

    heading(
        f"Load: {args.concurrency} concurrent clients, {args.duration:g}s per scenario after {args.warmup:g}s "
        f"warm-up; compared pairs in 4 alternating rounds of {args.duration / 2:g}s"
    )
    # First and deep page in alternating rounds too: the comparison is the point.
    log("load: first and deep page, alternating rounds")
    quarter = Budget(args.concurrency, args.duration / 2, args.max_requests, args.warmup / 2)
    paired: dict[str, list[Result]] = {"first": [], "deep": []}
    deep_call = Call("GET", f"/v1/agreements?cursor={fx.deep_cursor}", fx.admin)
    for _ in range(4):
        paired["first"].append(
            await drive("first", pacta, lambda _n: Call("GET", "/v1/agreements", fx.admin), quarter, pg)
        )
        paired["deep"].append(await drive("deep", pacta, lambda _n: deep_call, quarter, pg))
    first = _merge("list, no filter, first page (4 rounds)", paired["first"])
    deep = _merge(f"list, no filter, deep page after {fx.deep_after:,} (4 rounds)", paired["deep"])
    results += [first, deep]
    for s in LISTS[1:]:
        await scenario(f"list, {s.name}", pacta, lambda _n, q=s.query: Call("GET", f"/v1/agreements?{q}", fx.admin))
    ids = fx.ids
    await scenario(
        "get one agreement",
        pacta,
        lambda _n: Call("GET", f"/v1/agreements/{ids[rng.randrange(len(ids))]}", fx.admin),
    )
    # Pacta against the bare endpoint: same SQL (anonymous first page), same JSON, same load,
    # in alternating rounds so that a noisy neighbour weighs on both alike. Before the creation
    # scenario, whose new drafts would sit (invisible) on top of the anonymous first page.
    log("load: Pacta and the bare endpoint, alternating rounds")
    rounds: dict[str, list[Result]] = {"pacta": [], "bare": []}
    for _ in range(4):
        rounds["pacta"].append(await drive("pacta", pacta, lambda _n: Call("GET", "/v1/agreements"), quarter, pg))
        rounds["bare"].append(await drive("bare", reference, lambda _n: Call("GET", "/v1/agreements"), quarter, pg))
    await scenario(
        "create agreement (editor)",
        pacta,
        lambda n: Call("POST", "/v1/agreements", fx.editor, agreement_body(fx.editor_org_id, n), expect=201),
    )
    log("load done")
    print()
    results_table(results)
    heading(f"Deep page against first page (cursor after {fx.deep_after:,} rows)")
    print(
        f"  p50 latency: first {first.percentile(50):.1f} ms, deep {deep.percentile(50):.1f} ms "
        f"-> deep/first cost ratio {deep.percentile(50) / first.percentile(50):.2f}"
    )
    print(
        f"  throughput:  first {first.rps:.0f} req/s, deep {deep.rps:.0f} req/s "
        f"-> deep/first cost ratio {first.rps / deep.rps:.2f} (cost = 1 / throughput)"
    )
    first_ms = explain_times.get("no filter", float("nan"))
    deep_ms = explain_times.get(f"no filter, deep page (after {fx.deep_after:,} rows)", float("nan"))
    print(f"  SQL execution (EXPLAIN ANALYZE): first {first_ms:.2f} ms, deep {deep_ms:.2f} ms")
    heading("Pacta against a bare ASGI + asyncpg endpoint (same SQL, same JSON: anonymous first page)")
    print("  " + await compare_json(pacta, reference))
    merged = {name: _merge(f"{name} (4 rounds)", rs) for name, rs in rounds.items()}
    results_table([merged["pacta"], merged["bare"]])
    ratio = merged["pacta"].rps / merged["bare"].rps
    print(f"  Pacta / bare throughput ratio: {ratio:.2f} (target >= 0.5)")
    print(
        f"  app CPU per request: Pacta {merged['pacta'].per_request_ms(merged['pacta'].server_cpu)} ms, "
        f"bare {merged['bare'].per_request_ms(merged['bare'].server_cpu)} ms"
    )
    total = {name: r.server_cpu + (r.postgres_cpu or 0) + r.client_cpu for name, r in merged.items()}
    if all(r.postgres_cpu is not None for r in merged.values()):
        pacta_ms = total["pacta"] / merged["pacta"].requests * 1000
        bare_ms = total["bare"] / merged["bare"].requests * 1000
        print(
            f"  all CPU per request (app + PostgreSQL + client): Pacta {pacta_ms:.2f} ms, bare {bare_ms:.2f} ms "
            f"-> expected ratio where CPU is the limit: {bare_ms / pacta_ms:.2f}"
        )
    heading("Where a list request's CPU goes (anonymous first page, in-process, median CPU ms per call)")
    table(("layer", "CPU ms"), [(name, f"{ms:.2f}") for name, ms in await profile.cpu_breakdown(ctx.url, repeat=100)])
    print("  (`python -m bench --profile N` prints a cProfile of N such requests)")
    print(f"\n  load average now {_load()} (other processes on this machine weigh on every figure)")


async def dataset_sections(
    args: argparse.Namespace, log: Log, settings: Settings, today: date, sections: list[str], run_dir: Path
) -> None:
    """Every section that works on the agreements data set, on one fresh clone of it."""
    where = (os.environ.get(database.ENV_URL) and database.ENV_URL) or f"embedded PostgreSQL under {database.DATA_DIR}"
    log(f"preparing the database ({where})")
    prepared = await database.prepare(args.agreements, seed=args.seed, today=today, regenerate=args.regenerate, log=log)
    url = prepared.url
    heading("Data set")
    if prepared.report is None:
        print(f"  reused template database {prepared.template} (its marker matches; --regenerate to rebuild)")
    else:
        r = prepared.report
        phases = ", ".join(f"{k} {v:.1f}s" for k, v in r.phases.items())
        print(f"  generated in {r.seconds:.1f}s ({phases}) into {prepared.template}")
        print(
            f"  rows: {r.organizations:,} organizations, {r.agreements:,} agreements, {r.reviews:,} legal reviews, "
            f"{r.registrations:,} registrations, {r.participants:,} participants"
        )
        print(
            "  bulk-loaded rows have no transparency-log entries (COPY straight into the tables): "
            "`pacta log verify` would report them"
        )
        print(
            f"  legal_stage/registration_state recomputed by the services' own functions on a sample: "
            f"{prepared.mismatches} mismatches"
        )
    clone = urlsplit(url).path.lstrip("/")
    print(f"  this run works on a fresh clone of it, {clone} (cloned in {prepared.clone_seconds:.1f}s)")
    await describe_dataset(url, today)
    if args.generate_only:
        await database.drop(url)
        return
    if args.profile:
        heading(f"cProfile: {args.profile} anonymous first-page list requests, in-process")
        try:
            print(await profile.profile_list(url, requests=args.profile))
        finally:
            await database.drop(url)
        return
    engine = make_engine(url, pool_size=2)
    pacta: Server | None = None
    reference: Server | None = None
    raw_server: Server | None = None
    unmetered: Server | None = None
    storage = (database.DATA_DIR / "storage").resolve()
    try:
        fx = await fixtures(engine, url, args.agreements)
        log(f"keys issued: admin and auditor (platform), editor of {fx.editor_org_name}")
        explain_times: dict[str, float] = {}
        if "list" in sections:
            explain_times = await explain_section(engine, fx, today)
            await queries_section(url, fx)
        log("starting the service" + (" and the bare reference (uvicorn, 1 worker each)" if "list" in sections else ""))
        shutil.rmtree(storage, ignore_errors=True)
        env = {
            **os.environ,
            "PACTA_DATABASE_URL": url,
            # Evidence of this run only, removed at the end; webhooks to the bench's own receiver.
            "PACTA_STORAGE_URL": storage.as_uri(),
            "PACTA_WEBHOOKS_ALLOW_LOOPBACK": "true",
        }
        pacta = Server("pacta", ["app.main:create_app", "--factory"], env, run_dir, "/readyz")
        if "list" in sections:
            reference_env = {k: v for k, v in os.environ.items() if not k.startswith("PACTA_")}
            reference_env[bare.ENV_URL] = database.plain(url)
            reference_env["PACTA_TIMEZONE"] = settings.timezone
            reference = Server("bare", ["bench.bare:app"], reference_env, run_dir, "/v1/agreements")
            reference.wait_ready()
        if "ratios" in sections:
            raw_env = {k: v for k, v in os.environ.items() if not k.startswith("PACTA_")}
            raw_env[raw.ENV_URL] = database.plain(url)
            raw_env[raw.ENV_TODAY] = today.isoformat()
            raw_env[raw.ENV_GRACE] = str(settings.registration_grace_days)
            raw_env[raw.ENV_DORMANCY] = str(settings.dormancy_months)
            raw_server = Server("raw", ["bench.raw:app"], raw_env, run_dir, "/v1/agreements")
            raw_server.wait_ready()
            unmetered = Server(
                "pacta-unmetered",
                ["app.main:create_app", "--factory"],
                {**env, "PACTA_METRICS_ENABLED": "false"},
                run_dir,
                "/readyz",
            )
            unmetered.wait_ready()
        pacta.wait_ready()
        ctx = Context(
            args=args,
            log=log,
            settings=settings,
            today=today,
            url=url,
            engine=engine,
            fx=fx,
            pacta=pacta,
            env=env,
            run_dir=run_dir,
            pg=postgres_cpu(),
        )
        if reference is not None:
            await list_load_section(ctx, reference, explain_times)
        if raw_server is not None and unmetered is not None:
            await ratios.run(ctx, raw_server, unmetered)
        for name, section in SECTION_RUNS:
            if name in sections:
                await section(ctx)
        if ctx.summary:
            pacta_dir = os.environ.get(PACTA_DIR_ENV)
            title = "Summary: each endpoint, its reference and the ratio"
            heading(title + (f" (Pacta served from {pacta_dir})" if pacta_dir else ""))
            table(("endpoint", "measured", "reference", "ratio"), ctx.summary)
        print(f"\n  server logs: {run_dir}/")
    finally:
        for server in (pacta, reference, raw_server, unmetered):
            if server is not None:
                server.stop()
        await engine.dispose()
        if not args.keep_database:
            await database.drop(url)
            shutil.rmtree(storage, ignore_errors=True)


def postgres_cpu() -> PostgresCpu:
    return PostgresCpu((database.DATA_DIR / "pgdata").resolve() if not os.environ.get(database.ENV_URL) else None)


SECTION_RUNS: tuple[tuple[str, Callable[[Context], Awaitable[None]]], ...] = (
    ("uploads", uploads.run),
    ("progress", progress.run),
    ("compliance", compliance.run),
    ("webhooks", webhooks.run),
    ("export", export.run),
    # Last: the 10,000 agreements it imports stay in the clone.
    ("imports", imports.run),
)


async def run(args: argparse.Namespace) -> None:
    log = Log()
    settings = Settings()
    today = today_in(settings)
    sections: list[str] = args.only
    heading(f"Pacta bench: {args.agreements:,} agreements, {args.concurrency} concurrent clients, 127.0.0.1 only")
    print(
        f"  today ({settings.timezone}): {today}; cores: {os.cpu_count()}; python {sys.version.split()[0]}; "
        f"load average {_load()}"
    )
    print(f"  sections: {', '.join(sections)}")
    run_dir = database.DATA_DIR / "logs"
    run_dir.mkdir(parents=True, exist_ok=True)
    if args.generate_only or args.profile or any(s in ON_DATASET for s in sections):
        await dataset_sections(args, log, settings, today, sections, run_dir)
        if args.generate_only or args.profile:
            return
    if "log" in sections:
        base = database.server_url()
        await transparency.run(args, log, postgres_cpu(), run_dir, base)
    heading("Done")
    print(f"  {log.elapsed():.0f} s in all; load average now {_load()} (1, 5, 15 min; {os.cpu_count()} cores)")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _merge(name: str, results: list[Result]) -> Result:
    pg = [r.postgres_cpu for r in results]
    return Result(
        name=name,
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
        seconds=sum(r.seconds for r in results),
        latencies=[x for r in results for x in r.latencies],
        server_cpu=sum(r.server_cpu for r in results),
        postgres_cpu=None if any(p is None for p in pg) else sum(p for p in pg if p is not None),
        client_cpu=sum(r.client_cpu for r in results),
        first_error=next((r.first_error for r in results if r.first_error), None),
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    Path(database.DATA_DIR).mkdir(parents=True, exist_ok=True)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
