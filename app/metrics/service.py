"""Who may scrape, and the scrape itself: the processes' request metrics plus database gauges."""

from collections.abc import Iterable, Iterator
from ipaddress import IPv4Network, IPv6Network, ip_address

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Forbidden, NotFound
from app.i18n import Text
from app.metrics import repository
from app.metrics.registry import render_process_metrics
from app.principal import Principal

# PostgreSQL's states of a backend; listed so that a state with no connection reads 0, not absent.
CONNECTION_STATES = ("active", "idle", "idle in transaction", "idle in transaction (aborted)")


def authorize(
    client_host: str | None,
    allowed: Iterable[IPv4Network | IPv6Network],
    principal: Principal | None,
    path: str,
) -> None:
    """From an allowed address anyone may scrape; elsewhere only with an admin key.

    An anonymous caller from elsewhere is told nothing exists here (404, as for any unknown
    path); a caller with a valid key that is not an admin's learns it needs one (403).
    """
    if principal is not None and principal.is_admin:
        return
    try:
        address = ip_address(client_host) if client_host else None
    except ValueError:
        address = None
    if address is not None and any(address in network for network in allowed):
        return
    if principal is None:
        raise NotFound(Text("problem.not-found.detail", path=path))
    raise Forbidden(Text("auth.admin_only"))


class _Gauges(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


async def database_gauges(session: AsyncSession, *, pool_capacity: int) -> list[Metric]:
    connections = await repository.connections_by_state(session)
    outbox = await repository.outbox(session)
    log_size = await repository.log_size(session)

    by_state = GaugeMetricFamily(
        "pacta_db_connections",
        "Connections of every Pacta process to the database, by PostgreSQL backend state.",
        labels=("state",),
    )
    for state in sorted(set(CONNECTION_STATES) | set(connections)):
        by_state.add_metric((state,), connections.get(state, 0))
    return [
        by_state,
        GaugeMetricFamily(
            "pacta_db_pool_max_connections",
            "Most connections one server process may open (PACTA_DB_POOL_SIZE).",
            value=pool_capacity,
        ),
        GaugeMetricFamily(
            "pacta_webhook_outbox_pending",
            "Webhook deliveries waiting to be delivered (neither delivered nor given up).",
            value=outbox.pending,
        ),
        GaugeMetricFamily(
            "pacta_webhook_outbox_oldest_age_seconds",
            "Age of the oldest undelivered webhook delivery (0 when none waits).",
            value=outbox.oldest_age_seconds,
        ),
        GaugeMetricFamily(
            "pacta_log_entries",
            "Entries in the transparency log (its tree size).",
            value=log_size,
        ),
    ]


async def scrape(session: AsyncSession, *, pool_capacity: int) -> bytes:
    """Prometheus text: request metrics of all processes, then the gauges read now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Gauges(await database_gauges(session, pool_capacity=pool_capacity)))
    return render_process_metrics() + generate_latest(registry)
