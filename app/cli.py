"""The `pacta` command: serve, migrate, organizations, API keys, demo data.

Every command works on the same database as the server (PACTA_DATABASE_URL, or the embedded
server under PACTA_DATA_DIR), also while the server runs.
"""

import argparse
import asyncio
import importlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.embedded import EmbeddedDataError, database_url, upgrade_embedded
from app.errors import AppError
from app.models import OrganizationKind, Role

EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_PROBLEMS = 1


class CliError(Exception):
    """A refusal to print as one line and exit non-zero."""


def _console(*, stderr: bool = False) -> Console:
    """Colour only on a terminal, and never with NO_COLOR set (rich reads both)."""
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr for long work, shown only on a terminal; yields `update(done, total)`.

    Off a terminal (pipes, CI, `make run` logs) nothing is drawn: stdout stays the command's output.
    """
    console = _console(stderr=True)
    if not console.is_terminal:
        yield lambda _done, _total: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _url() -> str:
    return database_url(get_settings())


def _run_db(work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    url = _url()

    async def main() -> Any:
        engine = make_engine(url, pool_size=2)
        try:
            async with unit_of_work(make_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def cmd_migrate(_: argparse.Namespace) -> None:
    from app.migrate import upgrade

    upgrade(_url())
    print("database schema is at the latest revision")


def cmd_orgs_create(args: argparse.Namespace) -> None:
    from app.models.organizations import PLATFORM_ORG_ID
    from app.organizations import service
    from app.organizations.schemas import OrganizationCreate

    try:
        data = OrganizationCreate(
            name=args.name,
            kind=args.kind,
            country=args.country,
            subdivision=args.subdivision,
            inegi_code=args.inegi_code,
            website=args.website,
        )
    except ValidationError as exc:
        raise CliError(_validation_text(exc)) from exc

    async def work(session: AsyncSession) -> None:
        org = await service.create_organization(session, data, actor_org_id=PLATFORM_ORG_ID)
        print(f"{org.id}\t{org.name}\t{org.kind}\t{org.subdivision or ''}")

    _run_db(work)


def cmd_orgs_list(_: argparse.Namespace) -> None:
    from app.http.pagination import PageParams
    from app.organizations import service

    async def work(session: AsyncSession) -> None:
        cursor: str | None = None
        while True:
            rows, cursor = await service.list_organizations(session, PageParams(200, cursor))
            for org in rows:
                print(f"{org.id}\t{org.name}\t{org.kind}\t{org.subdivision or ''}\t{org.inegi_code or ''}")
            if cursor is None:
                break

    _run_db(work)


def cmd_keys_create(args: argparse.Namespace) -> None:
    from app.api_keys import service
    from app.models.organizations import PLATFORM_ORG_ID
    from app.organizations import service as org_service

    expires_at = _parse_expiry(args.expires_at) if args.expires_at else None

    async def work(session: AsyncSession) -> None:
        org = await org_service.resolve_organization(session, args.org)
        key, secret = await service.issue_key(
            session,
            org,
            role=Role(args.role),
            name=args.name,
            expires_at=expires_at,
            actor_org_id=PLATFORM_ORG_ID,
        )
        print(f"key id: {key.id}  organization: {org.name}  role: {key.role}", file=sys.stderr)
        print("the secret below is shown once; store it now", file=sys.stderr)
        print(secret)

    _run_db(work)


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.isoformat(timespec="seconds")


def cmd_keys_list(args: argparse.Namespace) -> None:
    from app.api_keys import service
    from app.http.pagination import PageParams
    from app.organizations import service as org_service

    async def work(session: AsyncSession) -> None:
        org = await org_service.resolve_organization(session, args.org)
        # Secrets are never stored, so there is nothing to hide: the prefix recognises a key.
        print("id\tprefix\trole\tname\tcreated\texpires\tlast used\trevoked")
        cursor: str | None = None
        while True:
            rows, cursor = await service.list_keys(session, org, PageParams(200, cursor))
            for key in rows:
                print(
                    f"{key.id}\t{key.prefix}\t{key.role}\t{key.name or '-'}\t{_when(key.created_at)}\t"
                    f"{_when(key.expires_at)}\t{_when(key.last_used_at)}\t{_when(key.revoked_at)}"
                )
            if cursor is None:
                break

    _run_db(work)


def cmd_keys_revoke(args: argparse.Namespace) -> None:
    from app.api_keys import service
    from app.models.organizations import PLATFORM_ORG_ID
    from app.organizations import service as org_service

    try:
        key_id = uuid.UUID(args.key_id)
    except ValueError as exc:
        raise CliError(f"{args.key_id!r} is not a key id (a UUID, as `keys create` printed it)") from exc

    async def work(session: AsyncSession) -> None:
        org = await org_service.resolve_organization(session, args.org)
        key = await service.revoke_key(session, org, key_id, actor_org_id=PLATFORM_ORG_ID)
        print(f"revoked {key.id} (prefix {key.prefix}) at {key.revoked_at}")

    _run_db(work)


def cmd_demo_load(_: argparse.Namespace) -> None:
    from app.clock import today_in
    from app.demo.loader import load_demo
    from app.storage import EvidenceStorage

    settings = get_settings()
    today = today_in(settings)
    # The same evidence store the server uses, so the demo's documents can be downloaded.
    storage = EvidenceStorage(settings.storage_url or (settings.data_dir / "evidence").resolve().as_uri())
    with progress_bar("demo data") as update:
        report = _run_db(lambda session: load_demo(session, storage, today=today, progress=update))
    print(
        f"demo data: organizations {report.created} created, {report.existing} already there; "
        f"agreements {report.agreements_created} created, {report.agreements_existing} already there; "
        f"stories {report.stories_created} created, {report.stories_existing} already there"
    )


def cmd_worker(args: argparse.Namespace) -> None:
    from app.webhooks import notices, worker

    settings = get_settings()
    url = _url()

    async def main() -> None:
        engine = make_engine(url, pool_size=max(2, args.concurrency // 4))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(stop_signal, stop.set)
        try:
            await worker.run(
                make_sessionmaker(engine), settings, stop=stop, scans=notices.SCANS, batch=args.concurrency
            )
        finally:
            await engine.dispose()

    print("pacta worker: delivering webhooks (Ctrl-C to stop)", file=sys.stderr)
    asyncio.run(main())


def cmd_log_verify(args: argparse.Namespace) -> None:
    from app.log.verify import load_checkpoint, verify_log

    # Each resource package registers the kind of row it logs; the app imports them all.
    importlib.import_module("app.main")

    saved = None
    if args.checkpoint:
        try:
            saved = load_checkpoint(Path(args.checkpoint).read_text())
        except (OSError, ValueError) as exc:
            raise CliError(f"cannot read the checkpoint {args.checkpoint}: {exc}") from exc
    from app.log.signing import load_signer

    signer = load_signer(get_settings())
    trusted = None if signer is None else signer.public_key
    with progress_bar("verifying the log") as update:
        report = _run_db(lambda session: verify_log(session, checkpoint=saved, trusted_key=trusted, progress=update))
    out = _console()
    # Text, not markup: a problem's wording may hold brackets.
    for problem in report.problems:
        out.print(Text.assemble(("PROBLEM", "bold red"), f" {problem}"))
    verdict = ("OK", "bold green") if report.ok else (f"{len(report.problems)} problem(s)", "bold red")
    summary = f": {report.entries} log entries, {report.resources} resources checked, root {report.root_hash}"
    out.print(Text.assemble(verdict, summary))
    if not report.ok:
        raise SystemExit(EXIT_PROBLEMS)


def cmd_import(args: argparse.Namespace) -> None:
    """The same import as POST /v1/imports, done as the platform (the log names it as the actor)."""
    from app.clock import today_in
    from app.imports import service
    from app.imports.reading import read_sheet
    from app.imports.schemas import ImportKind
    from app.organizations import service as org_service

    settings = get_settings()
    kind = ImportKind(args.kind)
    try:
        with Path(args.file).open("rb") as file:
            sheet = read_sheet(file)
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror or exc}") from exc

    async def work(session: AsyncSession) -> Any:
        org = await org_service.resolve_organization(session, args.org)
        await service.check_org(session, org.id)
        with progress_bar(f"importing {kind.value}") as update:
            # The sheet is checked here: the command line has no event loop to keep free.
            return await service.import_rows(
                session,
                service.prepare(kind, sheet),
                org_id=org.id,
                dry_run=args.dry_run,
                principal=service.PLATFORM_PRINCIPAL,
                today=today_in(settings),
                max_rows=settings.import_max_rows,
                progress=update,
            )

    out = _console()
    try:
        result = _run_db(work)
    except service.ImportRejected as exc:
        err = _console(stderr=True)
        for row in exc.extra["errors"]:
            where = f"row {row['row']}" + (f", {row['column']}" if row["column"] else "")
            err.print(Text.assemble(("ERROR", "bold red"), f" {where}: {row['msg'].render(args.lang)}"))
        err.print(Text(exc.render_detail(args.lang)))
        raise SystemExit(EXIT_PROBLEMS) from exc
    verb = "would be" if result.dry_run else "were"
    out.print(
        f"{result.rows} rows read: {result.created} {verb} created, {result.updated} {verb} updated, "
        f"{result.unchanged} unchanged" + (" (dry run: nothing written)" if result.dry_run else "")
    )


def cmd_db_upgrade(_: argparse.Namespace) -> None:
    settings = get_settings()
    if settings.database_url is not None:
        raise CliError("PACTA_DATABASE_URL is set: upgrade that server with its own tools (pg_upgrade)")
    print(upgrade_embedded(settings.data_dir))


def cmd_log_checkpoint(_: argparse.Namespace) -> None:
    from app.log import service
    from app.log.signing import load_signer

    signer = load_signer(get_settings())
    checkpoint = _run_db(lambda session: service.checkpoint(session, signer))
    print(checkpoint.model_dump_json(indent=2))


def _admin_key_file(data_dir: Path) -> Path:
    return data_dir / "admin-key"


def ensure_demo_admin_key(data_dir: Path) -> str:
    """The first admin key, kept in the data folder so every `make run` can print it again."""
    from app.api_keys import service
    from app.auth import repository as auth_repository
    from app.auth.secrets import matches, parse_prefix
    from app.models.organizations import PLATFORM_ORG_ID
    from app.organizations import service as org_service

    path = _admin_key_file(data_dir)
    saved = path.read_text().strip() if path.exists() else None

    async def work(session: AsyncSession) -> str:
        if saved is not None:
            prefix = parse_prefix(saved)
            found = None if prefix is None else await auth_repository.key_with_org(session, prefix)
            if found is not None and found[0].revoked_at is None and matches(saved, found[0].secret_hash):
                return saved
        org = await org_service.get_organization(session, PLATFORM_ORG_ID)
        _, secret = await service.issue_key(
            session,
            org,
            role=Role.admin,
            name="first admin key (local)",
            expires_at=None,
            actor_org_id=PLATFORM_ORG_ID,
        )
        return secret

    secret: str = _run_db(work)
    if secret != saved:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secret + "\n")
        path.chmod(0o600)
    return secret


def prepare_metrics_dir() -> Path:
    """A clean folder for prometheus-client's multiprocess mode, shared by every server process.

    Set before anything imports prometheus-client (it chooses its storage on import) and
    inherited by uvicorn's workers, so a scrape of any one worker sums the requests of all. A
    folder named by PROMETHEUS_MULTIPROC_DIR is used and emptied (samples of an earlier run would
    count twice); otherwise a new one is made and removed on exit.
    """
    import atexit
    import shutil
    import tempfile

    from app.metrics import MULTIPROC_ENV

    named = os.environ.get(MULTIPROC_ENV)
    if named:
        folder = Path(named)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
    else:
        folder = Path(tempfile.mkdtemp(prefix="pacta-metrics-"))
        atexit.register(shutil.rmtree, folder, True)
        os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app.migrate import upgrade

    prepare_metrics_dir()
    settings = get_settings()
    url = _url()
    if settings.database_url is None and settings.log_signing_key is None:
        from app.log.signing import embedded_seed

        # Every worker must sign checkpoints with the same key: the one kept with the data.
        os.environ["PACTA_LOG_SIGNING_KEY"] = embedded_seed(settings.data_dir)
    # Workers inherit the resolved URL, so they join the same (possibly embedded) server.
    os.environ["PACTA_DATABASE_URL"] = url
    get_settings.cache_clear()
    if not args.no_migrate:
        upgrade(url)
    host_for_links = "localhost" if args.host in ("0.0.0.0", "::") else args.host  # noqa: S104
    if args.demo:
        cmd_demo_load(args)
        secret = ensure_demo_admin_key(settings.data_dir)
        print(f"admin API key: {secret}")
    print(f"interactive docs: http://{host_for_links}:{args.port}/docs")
    sys.stdout.flush()
    # uvicorn re-raises the stop signal after its graceful shutdown; with a Python handler in
    # place that becomes a normal exit, so exit hooks run (the embedded server stops with us).
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, _exit_on_signal)
    worker = None
    if args.worker:
        # Its own process, on the same database (the environment carries the resolved URL and key).
        worker = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"])
    try:
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            access_log=False,
            proxy_headers=True,
        )
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=10)


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _parse_expiry(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CliError(f"--expires-at {text!r} is not an RFC 3339 timestamp") from exc
    if moment.tzinfo is None:
        raise CliError("--expires-at needs a UTC offset, e.g. 2027-01-31T00:00:00Z")
    return moment


def _validation_text(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())


def _version() -> str:
    try:
        return package_version("pacta-registry")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pacta",
        description="Pacta, the registry of interinstitutional agreements.",
        epilog="Settings come from PACTA_* environment variables (see the README). NO_COLOR turns colour off.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"pacta {_version()} (Python {sys.version.split()[0]})",
        help="print the version and exit",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate, then serve the API")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default: %(default)s)")
    serve.add_argument("--workers", type=int, default=1, help="server processes (default: %(default)s)")
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")
    serve.add_argument("--demo", action="store_true", help="load the demo data and print a first admin key")
    serve.add_argument("--worker", action="store_true", help="also run a webhook worker beside the server")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="apply the database migrations").set_defaults(func=cmd_migrate)

    orgs = sub.add_parser("orgs", help="organizations").add_subparsers(dest="orgs_command", required=True)
    create = orgs.add_parser("create", help="create an organization")
    create.add_argument("--name", required=True, help="the organization's name (unique, regardless of case)")
    create.add_argument(
        "--kind",
        required=True,
        choices=[k.value for k in OrganizationKind if k is not OrganizationKind.platform],
        help="what kind of organization it is",
    )
    create.add_argument("--country", default="MX", help="ISO 3166-1 alpha-2 country code (default: %(default)s)")
    create.add_argument("--subdivision", help="ISO 3166-2 code of the state, e.g. MX-JAL")
    create.add_argument("--inegi-code", help="INEGI code of a municipality (5 digits) or state (2); sets the state")
    create.add_argument("--website", help="the organization's web site (https://...)")
    create.set_defaults(func=cmd_orgs_create)
    orgs.add_parser("list", help="list organizations").set_defaults(func=cmd_orgs_list)

    keys = sub.add_parser("keys", help="API keys").add_subparsers(dest="keys_command", required=True)
    kc = keys.add_parser("create", help="issue a key and print its secret once")
    kc.add_argument("--org", required=True, help="organization id or exact name")
    kc.add_argument("--role", required=True, choices=[r.value for r in Role], help="what the key may do")
    kc.add_argument("--name", help="a label to recognise the key by")
    kc.add_argument("--expires-at", help="RFC 3339 timestamp with offset")
    kc.set_defaults(func=cmd_keys_create)
    kl = keys.add_parser("list", help="list an organization's keys (never their secrets)")
    kl.add_argument("--org", required=True, help="organization id or exact name")
    kl.set_defaults(func=cmd_keys_list)
    kr = keys.add_parser("revoke", help="revoke a key")
    kr.add_argument("key_id", help="the key's id")
    kr.add_argument("--org", required=True, help="organization id or exact name")
    kr.set_defaults(func=cmd_keys_revoke)

    log = sub.add_parser("log", help="the transparency log").add_subparsers(dest="log_command", required=True)
    lv = log.add_parser(
        "verify", help="recompute the tree and every resource hash; report changes made outside the API"
    )
    lv.add_argument("--checkpoint", help="a checkpoint saved earlier (JSON of GET /v1/log/checkpoint) to check against")
    lv.set_defaults(func=cmd_log_verify)
    log.add_parser("checkpoint", help="print a signed checkpoint of the log as it is now").set_defaults(
        func=cmd_log_checkpoint
    )

    work = sub.add_parser("worker", help="deliver webhooks; emit deadline and compliance events")
    work.add_argument("--concurrency", type=int, default=32, help="deliveries in flight at once")
    work.set_defaults(func=cmd_worker)

    demo = sub.add_parser("demo", help="demo data").add_subparsers(dest="demo_command", required=True)
    demo.add_parser("load", help="load the demo data set (idempotent)").set_defaults(func=cmd_demo_load)

    imp = sub.add_parser(
        "import", help="import agreements or targets from a CSV or XLSX file: all rows or none (as POST /v1/imports)"
    )
    imp.add_argument("file", help="the CSV (UTF-8 or Windows-1252) or XLSX file; columns as in the templates")
    imp.add_argument("--kind", required=True, choices=["agreements", "targets"], help="what the file holds")
    imp.add_argument("--org", required=True, help="the signatory organization: id or exact name")
    imp.add_argument("--dry-run", action="store_true", help="check every row and print the counts; write nothing")
    imp.add_argument("--lang", choices=["en", "es"], default="en", help="language of the row errors (default: en)")
    imp.set_defaults(func=cmd_import)

    db = sub.add_parser("db", help="the embedded database").add_subparsers(dest="db_command", required=True)
    db.add_parser(
        "upgrade", help="upgrade a data folder made by an older embedded PostgreSQL (the old folder is kept)"
    ).set_defaults(func=cmd_db_upgrade)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (CliError, EmbeddedDataError) as exc:
        print(f"pacta: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AppError as exc:
        # The command line speaks English, like its options and help; the API negotiates.
        print(f"pacta: {exc.render_detail('en')}", file=sys.stderr)
        return EXIT_REFUSED
    except ValidationError as exc:
        print(f"pacta: invalid settings: {_validation_text(exc)}", file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
