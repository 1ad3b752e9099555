"""Prometheus metrics: per-request counters and latencies, and database gauges read at scrape time."""

# prometheus-client's multiprocess folder. Named here, where importing it loads nothing: the
# client must not be imported before the variable is set (see app.cli.prepare_metrics_dir).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
