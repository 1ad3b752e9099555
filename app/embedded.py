"""The embedded PostgreSQL (pgserver), used whenever PACTA_DATABASE_URL is unset."""

import logging
import re
import warnings
from pathlib import Path
from typing import Any

from app.config import Settings

logger = logging.getLogger("pacta.embedded")

_servers: dict[Path, Any] = {}

DATABASE_NAME = "pacta"


def start_embedded(data_dir: Path, *, database: str = DATABASE_NAME) -> str:
    """Start (or join) the embedded server under data_dir and return a URL to `database`.

    The server is shared by every process that asks for the same folder and stops when the last
    of them exits, so the CLI works beside a running `pacta serve`.
    """
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); pgserver copes.
            warnings.simplefilter("ignore")
            import pgserver
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            "PACTA_DATABASE_URL is unset and the embedded PostgreSQL is not installed: "
            "install the 'embedded' extra (pip install 'pacta-registry[embedded]') or set PACTA_DATABASE_URL"
        ) from exc
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", database):
        raise ValueError(f"not a database name: {database!r}")
    pgdata = (data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = _servers.get(pgdata)
    if server is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
        _servers[pgdata] = server
    if "(1 row)" not in server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';"):  # noqa: S608
        try:
            server.psql(f'CREATE DATABASE "{database}";')
        except Exception:  # another process created it a moment ago
            if "(1 row)" not in server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';"):  # noqa: S608
                raise
    uri: str = server.get_uri(database)
    return uri


def database_url(settings: Settings) -> str:
    """The configured URL, or the embedded server's."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return start_embedded(settings.data_dir)
