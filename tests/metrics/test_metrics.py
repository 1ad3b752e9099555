"""GET /metrics: scraped after known traffic, its gauges against the database, and who may read it."""

import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from app.models import Role
from app.models.organizations import PLATFORM_ORG_ID
from tests.conftest import MakeKey, MakeOrg, bearer
from tests.conftest import test_settings as settings_with
from tests.problems import assert_problem

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(body: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx2.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def test_requests_are_counted_by_route_template_method_and_status(client: httpx2.AsyncClient) -> None:
    route = "/v1/agreements/{agreement_id}"
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get(f"/v1/agreements/{uuid.uuid4()}")).status_code == 404
    for _ in range(2):
        assert (await client.get("/v1/agreements")).status_code == 200
    assert (await client.get("/no/such/path")).status_code == 404
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    counter = "pacta_http_requests_total"
    assert delta(counter, route=route, method="GET", status="404") == 3
    assert delta(counter, route="/v1/agreements", method="GET", status="200") == 2
    assert delta(counter, route="<unmatched>", method="GET", status="404") == 1
    # Raw paths never become labels: no series names the ids requested.
    assert not any(UUID_TEXT.search(dict(labels).get("route", "")) for _, labels in after)
    histogram = "pacta_http_request_duration_seconds"
    assert delta(f"{histogram}_count", route=route, method="GET") == 3
    assert delta(f"{histogram}_bucket", route=route, method="GET", le="+Inf") == 3
    assert delta(f"{histogram}_sum", route=route, method="GET") > 0


async def test_the_gauges_read_the_database_at_scrape_time(
    client: httpx2.AsyncClient, session: AsyncSession, make_org: MakeOrg
) -> None:
    before = await scrape(client)
    await make_org()
    subscription, event = uuid.uuid4(), uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO webhook_subscriptions (id, organization_id, role, url, event_types, secret, status, "
            "updated_at, consecutive_failures, created_at) VALUES (:id, :org, 'admin', 'https://hooks.example/x', "
            "ARRAY['agreement.created'], 'whsec_x', 'active', now(), 0, now())"
        ),
        {"id": subscription, "org": PLATFORM_ORG_ID},
    )
    await session.execute(
        text(
            "INSERT INTO webhook_events (id, type, payload, created_at) VALUES (:id, 'agreement.created', '{}', now())"
        ),
        {"id": event},
    )
    old = datetime.now(UTC) - timedelta(minutes=10)
    await session.execute(
        text(
            "INSERT INTO webhook_deliveries (subscription_id, event_id, state, attempts, next_attempt_at, created_at) "
            "VALUES (:s, :e, 'pending', 0, now(), :old)"
        ),
        {"s": subscription, "e": event, "old": old},
    )
    await session.commit()
    after = await scrape(client)

    assert value(after, "pacta_log_entries") == value(before, "pacta_log_entries") + 1
    log_size = (await session.execute(text("SELECT count(*) FROM log_entries"))).scalar_one()
    assert value(after, "pacta_log_entries") == log_size
    assert value(after, "pacta_webhook_outbox_pending") == value(before, "pacta_webhook_outbox_pending") + 1
    assert 600 <= value(after, "pacta_webhook_outbox_oldest_age_seconds") < 900
    # The scrape's own connection is busy running the query that counts it.
    assert value(after, "pacta_db_connections", state="active") >= 1
    assert value(after, "pacta_db_pool_max_connections") == settings_with().db_pool_size


@pytest.fixture
async def remote_client(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx2.AsyncClient]:
    app: FastAPI = create_app(settings_with())
    app.state.sessionmaker = sessionmaker
    transport = httpx2.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_from_elsewhere_metrics_need_an_admin_key(
    remote_client: httpx2.AsyncClient, make_key: MakeKey, make_org: MakeOrg
) -> None:
    anonymous = await remote_client.get("/metrics")
    assert_problem(anonymous, 404, "not-found")
    org = await make_org()
    editor = await make_key(Role.editor, org.id)
    assert_problem(await remote_client.get("/metrics", headers=bearer(editor)), 403, "forbidden")
    admin = await make_key(Role.admin)
    allowed = await remote_client.get("/metrics", headers=bearer(admin))
    assert allowed.status_code == 200
    assert "pacta_http_requests_total" in allowed.text


async def test_an_allowed_network_needs_no_key(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    app = create_app(settings_with(metrics_allow=["203.0.113.0/24"]))
    app.state.sessionmaker = sessionmaker
    transport = httpx2.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        assert (await c.get("/metrics")).status_code == 200
    loopback = httpx2.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx2.AsyncClient(transport=loopback, base_url="http://testserver") as c:
        assert_problem(await c.get("/metrics"), 404, "not-found")


_WORKER = """
import sys
from app.metrics.registry import REQUESTS
for _ in range(int(sys.argv[1])):
    REQUESTS.labels("/v1/agreements", "GET", "200").inc()
"""
_SCRAPER = """
import sys
from app.metrics.registry import render_process_metrics
sys.stdout.write(render_process_metrics().decode())
"""


def test_processes_are_summed_in_multiprocess_mode(tmp_path: Path) -> None:
    """What `pacta serve --workers N` relies on: each process writes its own samples to the
    shared folder, and a scrape served by any one of them adds all of them up."""
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for count in (5, 7):
        subprocess.run([sys.executable, "-c", _WORKER, str(count)], env=env, check=True)  # noqa: S603
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", _SCRAPER], env=env, check=True, capture_output=True, text=True
    ).stdout
    samples = parse(out)
    assert value(samples, "pacta_http_requests_total", route="/v1/agreements", method="GET", status="200") == 12


async def test_with_metrics_disabled_requests_are_not_counted(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    app = create_app(settings_with(metrics_enabled=False))
    app.state.sessionmaker = sessionmaker
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://testserver") as c:
        before = await scrape(c)
        assert (await c.get("/v1/agreements")).status_code == 200
        after = await scrape(c)
    labels = {"route": "/v1/agreements", "method": "GET", "status": "200"}
    assert value(after, "pacta_http_requests_total", **labels) == value(before, "pacta_http_requests_total", **labels)
    assert "pacta_log_entries" in {name for name, _ in after}
