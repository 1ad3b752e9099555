"""The open data package: every public row as a Frictionless Data Package (v2) in one zip.

Built from one snapshot (app.exports.repository.snapshot): the log checkpoint is read first, in
the same transaction as the data, so `checkpoint.json` names exactly the log state the files show
(every write appends its log entry in its own transaction). Each table is streamed from a
server-side cursor into a zip member on disk, batch by batch, so memory stays flat whatever the
registry's size; the finished zip is then served as a file.

Building is expensive (the whole registry), so a package is built once and kept: the newest one
is served while it is younger than `MAX_AGE_SECONDS`, or while the log has not moved; otherwise
one build runs (per language, day and public URL, one at a time in a process) and every request
that arrives meanwhile waits for it. A reader learns which state a package shows from its
`checkpoint.json`, and its ETag.
"""

import asyncio
import contextlib
import csv
import functools
import hashlib
import io
import json
import os
import tempfile
import time
import uuid
import weakref
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.compliance import repository as compliance_repository
from app.compliance.rules import BY_CODE
from app.db import release_connection
from app.exports import repository
from app.log import repository as log_repository
from app.log import service as log_service
from app.log.signing import LogSigner
from app.models import OrganizationKind
from app.models.agreements import (
    AgreementStatus,
    CounterpartKind,
    Instrument,
    RegistrationState,
    RegistrationStatus,
    Registry,
    ReviewKind,
    ReviewOutcome,
)
from app.models.results import DocumentType, Indicator, Measure

PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
TABLE_SCHEMA = "https://datapackage.org/profiles/2.0/tableschema.json"
MAX_AGE_SECONDS = 300.0
KEEP_PER_FAMILY = 2
# Packages kept on disk in all, whatever their family: without PACTA_PUBLIC_URL each Host header
# is a family of its own, and a flood of them must not fill the disk.
KEEP_IN_ALL = 8

# --- Table Schemas ---------------------------------------------------------------------------------


def _enum(kind: type[Enum]) -> dict[str, Any]:
    return {"enum": [m.value for m in kind]}


def _f(
    name: str, type_: str = "string", *, required: bool = False, description: str | None = None, **extra: Any
) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "type": type_}
    if type_ == "string" and (name == "id" or name.endswith("_id")):
        spec["format"] = "uuid"
    constraints = dict(extra.pop("constraints", {}))
    if required:
        constraints["required"] = True
    if constraints:
        spec["constraints"] = constraints
    if description:
        spec["description"] = description
    spec.update(extra)
    return spec


def _fk(column: str, resource: str, target: str = "id") -> dict[str, Any]:
    return {"fields": [column], "reference": {"resource": resource, "fields": [target]}}


def _ids(*names: str) -> list[dict[str, Any]]:
    return [_f(n, required=True) for n in names]


@dataclass(frozen=True, slots=True)
class Resource:
    name: str
    title: str
    fields: list[dict[str, Any]]
    primary_key: list[str]
    foreign_keys: list[dict[str, Any]] = field(default_factory=list)

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"$schema": TABLE_SCHEMA, "fields": self.fields, "primaryKey": self.primary_key}
        if self.foreign_keys:
            schema["foreignKeys"] = self.foreign_keys
        return schema


STAMPS = [_f("created_at", "datetime", required=True), _f("updated_at", "datetime", required=True)]

RESOURCES: tuple[Resource, ...] = (
    Resource(
        "organizations",
        "Organizations named by the public rows",
        [
            *_ids("id"),
            _f("name", required=True),
            _f("kind", required=True, constraints=_enum(OrganizationKind)),
            _f("country", required=True, description="ISO 3166-1 alpha-2."),
            _f("subdivision", description="ISO 3166-2."),
            _f("inegi_code", description="INEGI municipality code (Mexico)."),
            _f("website"),
        ],
        ["id"],
    ),
    Resource(
        "agreements",
        "Public agreements (signed)",
        [
            *_ids("id"),
            _f("title", required=True),
            _f("instrument", required=True, constraints=_enum(Instrument)),
            _f(
                "status",
                required=True,
                constraints=_enum(AgreementStatus),
                description="As evaluated on the export's day.",
            ),
            _f("registration_status", required=True, constraints=_enum(RegistrationStatus)),
            _f("signatory_org_id", required=True),
            _f("subject_areas", description="Separated by ';'."),
            _f("languages", description="ISO 639-1, separated by ';'."),
            _f("has_dispute_settlement_clause", "boolean"),
            _f("signed_on", "date"),
            _f("signed_place"),
            _f("entry_into_force_on", "date"),
            _f("expires_on", "date"),
            _f("suspended_on", "date"),
            _f("terminated_on", "date"),
            _f("termination_reason"),
            _f("withdrawn_on", "date"),
            _f("external_ref", description="The signatory's own folio."),
            _f("summary"),
            *STAMPS,
        ],
        ["id"],
        [_fk("signatory_org_id", "organizations")],
    ),
    Resource(
        "agreement_counterparts",
        "Foreign counterparts of each agreement, in their order",
        [
            *_ids("agreement_id"),
            _f("position", "integer", required=True, constraints={"minimum": 1}),
            _f("name", required=True),
            _f("kind", required=True, constraints=_enum(CounterpartKind)),
            _f("country", required=True, description="ISO 3166-1 alpha-2."),
            _f("region"),
        ],
        ["agreement_id", "position"],
        [_fk("agreement_id", "agreements")],
    ),
    Resource(
        "agreement_participants",
        "Organizations allowed to contribute to each agreement",
        _ids("agreement_id", "organization_id"),
        ["agreement_id", "organization_id"],
        [_fk("agreement_id", "agreements"), _fk("organization_id", "organizations")],
    ),
    Resource(
        "legal_reviews",
        "Legal reviews of public agreements (public fields)",
        [
            *_ids("id", "agreement_id"),
            _f("kind", required=True, constraints=_enum(ReviewKind)),
            _f("requested_on", "date", required=True),
            _f("decided_on", "date"),
            _f("outcome", required=True, constraints=_enum(ReviewOutcome)),
            _f("reference"),
            _f("reviewer"),
            *[_f(f"checks_{name}", "boolean") for name in repository.CHECKS],
            _f("document_id", description="The evidence document holding the opinion (if public, in evidence)."),
            *STAMPS,
        ],
        ["id"],
        [_fk("agreement_id", "agreements")],
    ),
    Resource(
        "registrations",
        "Registrations of public agreements (public fields)",
        [
            *_ids("id", "agreement_id"),
            _f("registry", required=True, constraints=_enum(Registry)),
            _f("status", required=True, constraints=_enum(RegistrationState)),
            _f("submitted_on", "date", required=True),
            _f("registered_on", "date"),
            _f("registry_number"),
            _f("document_id"),
            *STAMPS,
        ],
        ["id"],
        [_fk("agreement_id", "agreements")],
    ),
    Resource(
        "targets",
        "Verifiable targets of public agreements",
        [
            *_ids("id", "agreement_id"),
            _f("indicator", required=True, constraints=_enum(Indicator)),
            _f("title", required=True),
            _f("description"),
            _f("measure", required=True, constraints=_enum(Measure)),
            _f("unit"),
            _f("ascending", "boolean", required=True),
            _f("baseline_value", "number"),
            _f("baseline_on", "date"),
            _f("baseline_comment"),
            _f("responsible_org_id"),
            *STAMPS,
        ],
        ["id"],
        [_fk("agreement_id", "agreements"), _fk("responsible_org_id", "organizations")],
    ),
    Resource(
        "milestones",
        "Each target's milestones: months after entry into force, and the value aimed at",
        [
            *_ids("target_id"),
            _f("months", "integer", required=True, constraints={"minimum": 1}),
            _f("target_value", "number"),
        ],
        ["target_id", "months"],
        [_fk("target_id", "targets")],
    ),
    Resource(
        "measurements",
        "Verified measurements",
        [
            *_ids("id", "target_id", "agreement_id"),
            _f("as_of", "date", required=True),
            _f("value", "number"),
            _f("comment"),
            _f("reported_by_org_id", required=True),
            _f("verified_at", "datetime"),
            *STAMPS,
        ],
        ["id"],
        [_fk("target_id", "targets"), _fk("agreement_id", "agreements"), _fk("reported_by_org_id", "organizations")],
    ),
    Resource(
        "evidence",
        "Accepted evidence documents: metadata, SHA-256 and download URL",
        [
            *_ids("id", "agreement_id"),
            _f("target_id"),
            _f("supersedes_id", description="The document this one replaces."),
            _f("title", required=True),
            _f("document_type", required=True, constraints=_enum(DocumentType)),
            _f("description"),
            _f("language"),
            _f("document_date", "date"),
            _f("filename", required=True),
            _f("media_type", required=True),
            _f("size_bytes", "integer", required=True, constraints={"minimum": 0}),
            _f("sha256", required=True, constraints={"pattern": "[0-9a-f]{64}"}),
            _f("uploaded_by_org_id", required=True),
            _f("uploaded_at", "datetime", required=True),
            _f("reviewed_at", "datetime"),
            _f("content_url", required=True, format="uri"),
        ],
        ["id"],
        [
            _fk("agreement_id", "agreements"),
            _fk("target_id", "targets"),
            _fk("uploaded_by_org_id", "organizations"),
        ],
    ),
    Resource(
        "compliance_findings",
        "Compliance findings of public agreements, evaluated on the export's day",
        [
            _f("rule", required=True, constraints={"enum": sorted(BY_CODE)}),
            _f("severity", required=True),
            _f("title", required=True),
            _f("legal_basis", required=True),
            *_ids("agreement_id"),
            _f("subject_type", required=True, constraints={"enum": ["agreement", "target", "measurement"]}),
            _f("subject_id", required=True),
            _f("detail", required=True),
        ],
        ["rule", "agreement_id", "subject_id"],
        [_fk("agreement_id", "agreements")],
    ),
)

# --- Rows ------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A CSV cell as Table Schema reads it: ISO dates, RFC 3339 UTC instants, true/false, empty = null.

    No formula guard here (unlike the list CSVs): the package is data, every cell must equal
    the API's value, and its schema types every column."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


Rows = AsyncIterator[Iterable[Sequence[Any]]]


@dataclass(frozen=True, slots=True)
class Cut:
    """What a package is cut from: its day, language and the base of its download URLs."""

    today: date
    lang: str
    content_url: Callable[[uuid.UUID], str]
    params: compliance_repository.Params


async def _rows(session: AsyncSession, name: str, cut: Cut) -> Rows:
    if name == "organizations":
        statement: Any = repository.organizations()
    elif name == "agreements":
        statement = repository.agreements(cut.today)
    elif name == "agreement_counterparts":
        async for batch in repository.stream(session, repository.agreement_counterparts()):
            yield [
                (agreement_id, n, c.get("name"), c.get("kind"), c.get("country"), c.get("region"))
                for agreement_id, counterparts in batch
                for n, c in enumerate(counterparts, start=1)
            ]
        return
    elif name == "agreement_participants":
        statement = repository.agreement_participants()
    elif name == "legal_reviews":
        statement = repository.legal_reviews()
    elif name == "registrations":
        statement = repository.registrations()
    elif name == "targets":
        statement = repository.targets()
    elif name == "milestones":
        async for batch in repository.stream(session, repository.milestones()):
            yield [
                (target_id, m.get("months"), None if m.get("target_value") is None else Decimal(str(m["target_value"])))
                for target_id, milestones in batch
                for m in milestones
            ]
        return
    elif name == "measurements":
        statement = repository.measurements()
    elif name == "evidence":
        async for batch in repository.stream(session, repository.evidence()):
            yield [(*row, cut.content_url(row[0])) for row in batch]
        return
    else:
        findings, binds = repository.compliance_findings(cut.params)
        async for batch in repository.stream(session, findings, binds):
            yield [_finding(row, cut.lang) for row in batch]
        return
    async for batch in repository.stream(session, statement):
        yield batch


@functools.cache
def _rule_texts(code: str, lang: str) -> tuple[str, str, str, str]:
    """A rule's code, severity, title and legal basis in `lang` (the same for all its findings)."""
    rule = BY_CODE[code]
    return rule.code, rule.severity.value, rule.title(lang), rule.legal_basis(lang)


def _finding(row: Any, lang: str) -> tuple[Any, ...]:
    rule = BY_CODE[str(row.rule)]
    return (
        *_rule_texts(rule.code, lang),
        row.agreement_id,
        row.subject_type,
        row.subject_id,
        rule.detail(lang, row.detail),
    )


# --- The zip ---------------------------------------------------------------------------------------


class _Member:
    """One CSV member of the zip being written, with its SHA-256 and size as a reader will see them."""

    def __init__(self, archive: zipfile.ZipFile, path: str, at: datetime) -> None:
        info = zipfile.ZipInfo(path, date_time=at.timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        self.stream = archive.open(info, "w", force_zip64=True)
        self.sha256 = hashlib.sha256()
        self.bytes = 0
        self.rows = 0

    def write(self, rows: Iterable[Sequence[Any]]) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        for row in rows:
            writer.writerow([_text(v) for v in row])
            self.rows += 1
        data = buffer.getvalue().encode()
        self.sha256.update(data)
        self.bytes += len(data)
        self.stream.write(data)

    def close(self) -> None:
        self.stream.close()


def _descriptor(checkpoint: dict[str, Any], members: dict[str, _Member], cut: Cut) -> dict[str, Any]:
    return {
        "$schema": PROFILE,
        "name": "pacta-registry",
        "title": "Pacta: public registry of interinstitutional agreements",
        "description": (
            "Every public row of the registry, cut at the transparency log checkpoint in checkpoint.json "
            f"(tree size {checkpoint['tree_size']}, root hash {checkpoint['root_hash']}). Statuses and "
            f"findings are evaluated on {cut.today.isoformat()}; texts in language '{cut.lang}'."
        ),
        "version": f"{checkpoint['tree_size']}.0.0",
        "created": checkpoint["timestamp"],
        "resources": [
            {
                "name": r.name,
                "type": "table",
                "title": r.title,
                "path": f"data/{r.name}.csv",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "bytes": members[r.name].bytes,
                "hash": f"sha256:{members[r.name].sha256.hexdigest()}",
                "dialect": {"$schema": "https://datapackage.org/profiles/2.0/tabledialect.json", "header": True},
                "schema": r.schema(),
            }
            for r in RESOURCES
        ],
    }


async def write_package(
    maker: async_sessionmaker[AsyncSession], signer: LogSigner | None, cut: Cut, path: Path
) -> dict[str, Any]:
    """Write the package into `path` (a zip) from one snapshot; returns its checkpoint."""
    async with repository.snapshot(maker) as session:
        # First: the snapshot's log state, which every following read shares.
        checkpoint = (await log_service.checkpoint(session, signer)).model_dump()
        cut_at = datetime.fromisoformat(checkpoint["timestamp"].replace("Z", "+00:00"))
        archive = await anyio.to_thread.run_sync(lambda: zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED))
        try:
            members: dict[str, _Member] = {}
            for resource in RESOURCES:
                member = await anyio.to_thread.run_sync(_Member, archive, f"data/{resource.name}.csv", cut_at)
                members[resource.name] = member
                await anyio.to_thread.run_sync(member.write, [[f["name"] for f in resource.fields]])
                async for batch in _rows(session, resource.name, cut):
                    await anyio.to_thread.run_sync(member.write, batch)
                await anyio.to_thread.run_sync(member.close)
            descriptor = _descriptor(checkpoint, members, cut)
            await anyio.to_thread.run_sync(_finish, archive, descriptor, checkpoint, cut_at)
        except BaseException:
            await anyio.to_thread.run_sync(archive.close)
            raise
    return checkpoint


def _finish(archive: zipfile.ZipFile, descriptor: dict[str, Any], checkpoint: dict[str, Any], at: datetime) -> None:
    for name, document in (("datapackage.json", descriptor), ("checkpoint.json", checkpoint)):
        info = zipfile.ZipInfo(name, date_time=at.timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, json.dumps(document, ensure_ascii=False, indent=2))
    archive.close()


# --- The cache -------------------------------------------------------------------------------------


def cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / "pacta-exports"


@dataclass(frozen=True, slots=True)
class Package:
    path: Path
    tree_size: int
    root_hash: str

    @property
    def etag(self) -> str:
        return f'"dp-{self.tree_size}-{self.root_hash[:32]}-{self.path.name.split("-")[0]}"'


def _family(cut: Cut, base: str) -> str:
    """The packages that differ only by the log state they were cut at."""
    key = f"{cut.today.isoformat()}|{cut.lang}|{base}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _cached(family: str) -> list[Package]:
    """This family's packages on disk, newest first."""
    found: list[tuple[float, Package]] = []
    directory = cache_dir()
    if not directory.is_dir():
        return []
    for path in directory.glob(f"{family}-*.zip"):
        try:
            _, size, root = path.stem.split("-")
            found.append((path.stat().st_mtime, Package(path, int(size), root)))
        except (ValueError, OSError):
            continue
    return [p for _, p in sorted(found, key=lambda item: item[0], reverse=True)]


def _age(package: Package) -> float:
    try:
        return time.time() - package.path.stat().st_mtime
    except OSError:
        return float("inf")


def _fresh(package: Package, tree_size: int, root: str) -> bool:
    return (package.tree_size, package.root_hash) == (tree_size, root) or _age(package) < MAX_AGE_SECONDS


_builds: dict[str, asyncio.Task[Package]] = {}


async def current_package(
    session: AsyncSession,
    maker: async_sessionmaker[AsyncSession],
    signer: LogSigner | None,
    cut: Cut,
    *,
    base: str,
) -> Package:
    """The package to serve: a kept one that is still fresh, or a new one (one build at a time)."""
    tree_size = await log_repository.size(session)
    root = (await log_service.root_hash(session, tree_size)).hex()
    # Nothing more to read here: the wait for a build (or the file's way out) holds no connection.
    await release_connection(session)
    family = _family(cut, base)
    for package in _cached(family)[:1]:
        if _fresh(package, tree_size, root):
            return package
    task = _builds.get(family)
    if task is None or task.done():
        task = asyncio.get_running_loop().create_task(_build_one_at_a_time(maker, signer, cut, family))
        _builds[family] = task
        task.add_done_callback(lambda t: _builds.pop(family, None) if _builds.get(family) is t else None)
    # Shielded: a client that gives up does not waste the build for the others.
    return await asyncio.shield(task)


# One build at a time in a process, whatever the family: a flood of languages or (without
# PACTA_PUBLIC_URL) of Host headers queues behind it instead of reading the registry in parallel.
_build_locks: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = weakref.WeakKeyDictionary()


async def _build_one_at_a_time(
    maker: async_sessionmaker[AsyncSession], signer: LogSigner | None, cut: Cut, family: str
) -> Package:
    lock = _build_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        # A build that finished while this one queued may already serve.
        for package in _cached(family)[:1]:
            if _age(package) < MAX_AGE_SECONDS:
                return package
        return await _build(maker, signer, cut, family)


async def _build(maker: async_sessionmaker[AsyncSession], signer: LogSigner | None, cut: Cut, family: str) -> Package:
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=directory, prefix="building-", suffix=".part")
    os.close(handle)
    try:
        checkpoint = await write_package(maker, signer, cut, Path(temp))
        final = directory / f"{family}-{checkpoint['tree_size']}-{checkpoint['root_hash']}.zip"
        os.replace(temp, final)
    except BaseException:
        os.unlink(temp)
        raise
    for old in _cached(family)[KEEP_PER_FAMILY:]:
        old.path.unlink(missing_ok=True)
    # Other families' packages (another day, language or base URL) go after a day, and past the
    # newest KEEP_IN_ALL whatever their age.
    kept: list[tuple[float, Path]] = []
    for other in directory.glob("*.zip"):
        with contextlib.suppress(OSError):
            kept.append((other.stat().st_mtime, other))
    kept.sort(reverse=True)
    for rank, (mtime, other) in enumerate(kept):
        if other != final and (rank >= KEEP_IN_ALL or time.time() - mtime > 86400):
            other.unlink(missing_ok=True)
    return Package(final, int(checkpoint["tree_size"]), str(checkpoint["root_hash"]))
