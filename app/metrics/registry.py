"""The process's request metrics, correct with any number of server processes.

prometheus-client picks its storage when it is first imported: with PROMETHEUS_MULTIPROC_DIR set
(`pacta serve` sets it, see app.cli) every process writes its samples to memory-mapped files in
that folder and a scrape adds them up; without it they live in this process only (tests, a single
`uvicorn app.main:create_app`).
"""

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

from app.metrics import MULTIPROC_ENV

# Labels are route *templates* (never raw paths) and a fixed set of methods, so the number of
# series is bounded by the API's size, whatever clients request.
REQUESTS = Counter(
    "pacta_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ("route", "method", "status"),
)
LATENCY = Histogram(
    "pacta_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route template and method.",
    ("route", "method"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def render_process_metrics() -> bytes:
    """The request metrics of every server process (multiprocess mode) or of this one."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY)
