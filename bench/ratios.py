"""Each hot read against its raw reference (bench/raw.py), side by side in one run, and the cost
of the request metrics (the same Pacta with PACTA_METRICS_ENABLED=false).

Every scenario runs once per round, the rounds alternate (so a noisy neighbour weighs on all
alike), and the table gives each one's median throughput, its reference's and the ratio.
"""

import asyncio
import dataclasses
import os
import random
import statistics
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import httpx2

from bench import progress, wrk
from bench.context import Context, agreement_body
from bench.load import Budget, Call, Result
from bench.load import drive as drive_python
from bench.output import heading, table
from bench.server import Server

ROUNDS = 3
# Another checkout of Pacta (its own app/ folder, the same schema) to serve beside this one, its
# scenarios alternating with ours in every round: a before-and-after comparison in one run.
COMPARE_DIR_ENV = "BENCH_COMPARE_DIR"
HEAVY = 2  # clients for the heavy reads
METRICS_PAIRS = 8  # pairs of the list on fresh processes with and without request metrics
LOG_RANGE = 100  # entries per /v1/log/entries call


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    server: Server
    make: Callable[[int], Call]
    reference: str | None  # the scenario whose throughput this one is divided by
    # Fewer clients for reads whose SQL takes seconds (the rules and deadlines over the whole
    # registry): 16 of them would keep both cores busy into the next scenario's round.
    concurrency: int | None = None


async def _log_size(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT size FROM log_head WHERE id = 1"))
    finally:
        await conn.close()


async def progress_agreement(ctx: Context) -> uuid.UUID:
    """The progress section's agreement (10 targets, 500 verified measurements), made once per run."""
    known = ctx.shared.get("progress_agreement")
    if isinstance(known, uuid.UUID):
        return known
    agreement_id, since = await progress.progress_agreement(ctx)
    ctx.log(f"ratios: {progress.TARGETS} targets and {progress.MEASUREMENTS} measurements on {agreement_id}")
    await progress.fill(ctx, agreement_id, since)
    ctx.shared["progress_agreement"] = agreement_id
    return agreement_id


async def run(ctx: Context, raw: Server, unmetered: Server) -> None:
    compare_dir = os.environ.get(COMPARE_DIR_ENV)
    if not compare_dir:
        await _run(ctx, raw, unmetered, None)
        return
    other = Server("pacta-compared", ["app.main:create_app", "--factory"], ctx.env, ctx.run_dir, "/readyz", compare_dir)
    try:
        other.wait_ready()
        await _run(ctx, raw, unmetered, other)
    finally:
        other.stop()


async def _run(ctx: Context, raw: Server, unmetered: Server, other: Server | None) -> None:
    fx, pacta = ctx.fx, ctx.pacta
    rng = random.Random(ctx.args.seed)
    ids = fx.ids
    targets = f"/v1/agreements/{await progress_agreement(ctx)}/targets"
    if await _log_size(ctx.url) < LOG_RANGE:
        # Bulk-loaded agreements have no log entries: write some through the API.
        async with httpx2.AsyncClient(base_url=pacta.base_url, timeout=60) as client:
            for n in range(LOG_RANGE):
                body = agreement_body(fx.editor_org_id, n)
                response = await client.post("/v1/agreements", json=body, headers=fx.editor)
                if response.status_code != 201:
                    raise RuntimeError(f"creating an agreement: {response.status_code} {response.text[:300]}")
    end = max(1, min(LOG_RANGE, await _log_size(ctx.url)))
    entries = f"/v1/log/entries?start=0&end={end}"

    def one(_n: int) -> Call:
        # Any agreement, drafts included: with the admin key Pacta shows them all, as raw does.
        return Call("GET", f"/v1/agreements/{ids[rng.randrange(len(ids))]}", fx.admin)

    def get(path: str, headers: dict[str, str] | None = None) -> Callable[[int], Call]:
        return lambda _n: Call("GET", path, headers or {})

    list_ref, one_ref = "raw: list, 50 stored rows", "raw: one agreement"
    findings_ref, deadlines_ref = "raw: findings SQL, 50 rows", "raw: deadlines SQL, 50 rows"
    log_ref, targets_ref = f"raw: log entries, {end} stored rows", "raw: targets, stored rows"
    scenarios = [
        Scenario(list_ref, raw, get("/v1/agreements"), None),
        Scenario(one_ref, raw, one, None),
        Scenario(findings_ref, raw, get("/v1/compliance/findings"), None, HEAVY),
        Scenario(deadlines_ref, raw, get("/v1/deadlines"), None, HEAVY),
        Scenario(log_ref, raw, get(entries), None),
        Scenario(targets_ref, raw, get(targets), None),
        Scenario("list, anonymous", pacta, get("/v1/agreements"), list_ref),
        Scenario("list, admin key", pacta, get("/v1/agreements", fx.admin), list_ref),
        Scenario("list, deep page (admin)", pacta, get(f"/v1/agreements?cursor={fx.deep_cursor}", fx.admin), list_ref),
        Scenario("one agreement (admin key)", pacta, one, one_ref),
        Scenario(
            "compliance findings (auditor)", pacta, get("/v1/compliance/findings", fx.auditor), findings_ref, HEAVY
        ),
        Scenario("deadlines (admin)", pacta, get("/v1/deadlines", fx.admin), deadlines_ref, HEAVY),
        Scenario(f"log entries 0-{end} (anonymous)", pacta, get(entries), log_ref),
        Scenario("targets progress (anonymous)", pacta, get(targets), targets_ref),
    ]
    if other is not None:
        # The same reads served by the other checkout ("before"), against the same references.
        # Each twin right after its scenario: the two meet the machine in the same state.
        twinned: list[Scenario] = []
        for s in scenarios:
            twinned.append(s)
            if s.server is pacta:
                twinned.append(dataclasses.replace(s, name=f"before: {s.name}", server=other))
        scenarios = twinned
    budget = Budget(ctx.args.concurrency, ctx.args.duration / 2, ctx.args.max_requests, ctx.args.warmup / 2)
    runs: dict[str, list[Result]] = {s.name: [] for s in scenarios}
    drive = wrk.drive if wrk.available() else drive_python
    driver = "wrk, one thread" if wrk.available() else "the Python client (install wrk for truer ratios)"
    ctx.log(f"ratios: load from {driver}, {budget.concurrency} connections")
    for round_no in range(ROUNDS):
        ctx.log(f"ratios: round {round_no + 1} of {ROUNDS}")
        for s in scenarios:
            b = budget if s.concurrency is None else dataclasses.replace(budget, concurrency=s.concurrency)
            runs[s.name].append(await drive(s.name, s.server, s.make, b, ctx.pg))
    # The metrics' cost is a few percent, below what 3 rounds of 3 seconds resolve on 2 shared
    # cores, and the service above has served every other read too (a larger heap, other
    # connections): a fresh process with metrics against the fresh one without, the list alone,
    # in pairs of alternating order, the throughput and the server's CPU per request.
    metered = Server("pacta-metered", ["app.main:create_app", "--factory"], ctx.env, ctx.run_dir, "/readyz")
    pairs: list[tuple[Result, Result]] = []
    try:
        await asyncio.to_thread(metered.wait_ready)
        ctx.log(f"ratios: {METRICS_PAIRS} pairs of the list on fresh processes with and without request metrics")
        make = get("/v1/agreements")
        for pair_no in range(METRICS_PAIRS):
            on_first = pair_no % 2 == 0
            first = await drive("metrics", metered if on_first else unmetered, make, budget, ctx.pg)
            second = await drive("metrics", unmetered if on_first else metered, make, budget, ctx.pg)
            pairs.append((first, second) if on_first else (second, first))
    finally:
        metered.stop()
    rps = {name: statistics.median(r.rps for r in results) for name, results in runs.items()}
    errors = {name: sum(r.errors for r in results) for name, results in runs.items()}
    heading(f"Hot reads against raw ASGI + asyncpg + orjson ({ROUNDS} alternating rounds, median req/s, {driver})")
    rows = []
    for s in scenarios:
        # A reference that finished no request in a short run (--duration 2: the heavy reads'
        # SQL takes seconds, and wrk counts only finished requests) has no ratio.
        ratio = "" if s.reference is None else "-" if not rps[s.reference] else f"{rps[s.name] / rps[s.reference]:.2f}"
        reference = "-" if s.reference is None else f"{s.reference} ({rps[s.reference]:.0f})"
        rows.append((s.name, f"{rps[s.name]:.0f}", reference, ratio, str(errors[s.name])))
        if s.reference is not None:
            ctx.summary.append((s.name, f"{rps[s.name]:.0f} req/s", reference, ratio))
    table(("endpoint", "req/s", "reference (req/s)", "ratio", "errors"), rows)
    for s in scenarios:
        first_error = next((r.first_error for r in runs[s.name] if r.first_error), None)
        if first_error:
            print(f"  first error in {s.name}: {first_error}")
    anonymous, keyed = rps["list, anonymous"], rps["list, admin key"]
    deep = rps["list, deep page (admin)"]
    metrics_cost = 1 - statistics.median(on.rps / off.rps for on, off in pairs)
    metrics_cpu = statistics.median(
        (on.server_cpu / on.requests) / (off.server_cpu / off.requests)
        for on, off in pairs
        if on.requests and off.requests
    )
    print(f"  list anonymous / raw: {anonymous / rps[list_ref]:.2f} (goal >= 0.7)")
    print(f"  one agreement / raw: {rps['one agreement (admin key)'] / rps[one_ref]:.2f} (goal >= 0.7)")
    print(f"  key / anonymous: {keyed / anonymous:.2f} (goal >= 0.9)")
    print(f"  deep / first page (admin): {deep / keyed:.2f} (goal within 0.8-1.2)")
    print(
        f"  cost of the request metrics: {metrics_cost:+.1%} of throughput, {metrics_cpu - 1:+.1%} of the server's "
        f"CPU per request (medians of {len(pairs)} pairs; goal < 5 %)"
    )
    if other is not None:
        b_anonymous, b_keyed = rps["before: list, anonymous"], rps["before: list, admin key"]
        b_deep = rps["before: list, deep page (admin)"]
        print(f"  before: key / anonymous {b_keyed / b_anonymous:.2f}, deep / first page {b_deep / b_keyed:.2f}")
        ctx.summary.extend(
            [
                ("before: key / anonymous (list)", f"{b_keyed / b_anonymous:.2f}", "goal >= 0.9", ""),
                ("before: deep / first page (admin)", f"{b_deep / b_keyed:.2f}", "goal 0.8-1.2", ""),
            ]
        )
    ctx.summary.extend(
        [
            ("key / anonymous (list)", f"{keyed / anonymous:.2f}", "goal >= 0.9", ""),
            ("deep / first page (admin)", f"{deep / keyed:.2f}", "goal 0.8-1.2", ""),
            ("cost of the request metrics", f"{metrics_cost:+.1%}", "goal < 5 %", ""),
            ("metrics: server CPU per request", f"{metrics_cpu - 1:+.1%}", "goal < 5 %", ""),
        ]
    )
