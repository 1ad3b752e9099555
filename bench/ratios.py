"""Each hot read against the raw reference (bench/raw.py), side by side in one run, and the cost
of the request metrics (the same Pacta with PACTA_METRICS_ENABLED=false)."""

import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from bench.context import Context
from bench.load import Budget, Call, Result, drive
from bench.output import heading, table
from bench.server import Server

ROUNDS = 3


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    server: Server
    make: Callable[[int], Call]
    reference: str | None  # the scenario whose throughput this one is divided by


async def run(ctx: Context, raw: Server, unmetered: Server) -> None:
    fx, pacta = ctx.fx, ctx.pacta
    rng = random.Random(ctx.args.seed)
    ids = fx.ids

    def one(_n: int) -> Call:
        # Any agreement, drafts included: with the admin key Pacta shows them all, as raw does.
        return Call("GET", f"/v1/agreements/{ids[rng.randrange(len(ids))]}", fx.admin)

    scenarios = [
        Scenario("raw: list, 50 stored rows", raw, lambda _n: Call("GET", "/v1/agreements"), None),
        Scenario("raw: one agreement", raw, one, None),
        Scenario("list, anonymous", pacta, lambda _n: Call("GET", "/v1/agreements"), "raw: list, 50 stored rows"),
        Scenario(
            "list, admin key", pacta, lambda _n: Call("GET", "/v1/agreements", fx.admin), "raw: list, 50 stored rows"
        ),
        Scenario(
            "list, deep page (admin)",
            pacta,
            lambda _n: Call("GET", f"/v1/agreements?cursor={fx.deep_cursor}", fx.admin),
            "raw: list, 50 stored rows",
        ),
        Scenario("one agreement (admin key)", pacta, one, "raw: one agreement"),
        Scenario(
            "list, anonymous, metrics off",
            unmetered,
            lambda _n: Call("GET", "/v1/agreements"),
            "raw: list, 50 stored rows",
        ),
    ]
    budget = Budget(ctx.args.concurrency, ctx.args.duration / 2, ctx.args.max_requests, ctx.args.warmup / 2)
    runs: dict[str, list[Result]] = {s.name: [] for s in scenarios}
    for round_no in range(ROUNDS):
        ctx.log(f"ratios: round {round_no + 1} of {ROUNDS}")
        for s in scenarios:
            runs[s.name].append(await drive(s.name, s.server, s.make, budget, ctx.pg))
    rps = {name: statistics.median(r.rps for r in results) for name, results in runs.items()}
    errors = {name: sum(r.errors for r in results) for name, results in runs.items()}
    heading(f"Hot reads against raw ASGI + asyncpg + orjson ({ROUNDS} alternating rounds, median req/s)")
    rows = []
    for s in scenarios:
        ratio = "" if s.reference is None else f"{rps[s.name] / rps[s.reference]:.2f}"
        rows.append((s.name, f"{rps[s.name]:.0f}", s.reference or "-", ratio, str(errors[s.name])))
    table(("endpoint", "req/s", "reference", "ratio", "errors"), rows)
    anonymous, keyed = rps["list, anonymous"], rps["list, admin key"]
    deep, unmetered_rps = rps["list, deep page (admin)"], rps["list, anonymous, metrics off"]
    print(f"  key / anonymous: {keyed / anonymous:.2f} (goal >= 0.9)")
    print(f"  deep / first page (admin): {deep / keyed:.2f} (goal within 0.8-1.2)")
    print(f"  cost of the request metrics: {1 - anonymous / unmetered_rps:+.1%} of throughput (goal < 5 %)")
