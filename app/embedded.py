"""The embedded PostgreSQL (pgserver), used whenever PACTA_DATABASE_URL is unset."""

import atexit
import logging
import os
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
        _forget_dead_processes(server)
        # Runs before pgserver's own exit hook (atexit is last-in, first-out), so a process that
        # died without saying goodbye never keeps the server up once every live user has left.
        atexit.register(_forget_dead_processes, server)
    if "(1 row)" not in server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';"):  # noqa: S608
        try:
            server.psql(f'CREATE DATABASE "{database}";')
        except Exception:  # another process created it a moment ago
            if "(1 row)" not in server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';"):  # noqa: S608
                raise
    uri: str = server.get_uri(database)
    return uri


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _forget_dead_processes(server: Any) -> None:
    """pgserver counts the processes using the server in a file; drop the ones that are gone."""
    users = getattr(server, "global_process_id_list", None)
    if users is None:
        return
    for pid in users.get():
        if pid != os.getpid() and not _alive(pid):
            users.get_and_remove(pid)


def database_url(settings: Settings) -> str:
    """The configured URL, or the embedded server's."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return start_embedded(settings.data_dir)
