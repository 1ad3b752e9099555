"""Spreadsheet imports: every row checked, every row written through the resources' own services,
all or nothing.

One path for every write: a created row is `agreements.service.add_agreement` (what
`create_agreement` does, without reading the agreement back) or `targets.service.create_target`,
a changed one `update_agreement` (`update_target`), with their
checks, log entries and webhook events, all in the request's one transaction. A row the services
refuse leaves nothing behind (they check before they write) and the next rows are still checked,
so the answer names every bad row; any bad row, or `dry_run`, rolls the whole import back. Should
the database itself refuse a row (which aborts the transaction), the import starts over with a
savepoint around each row.

A dry run runs each row in a savepoint that it rolls back at once: it writes nothing and holds
the transparency log's head (which every write locks until its transaction ends) only for one
row at a time, so a dry run of a big file never makes other writers wait. A real import holds it
until it commits: writes elsewhere queue behind it meanwhile (the price of all-or-nothing in one
transaction with a log whose order is its commit order).
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import IO, Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.agreements import repository as agreement_repository
from app.agreements import service as agreement_service
from app.agreements.schemas import AgreementCreate, AgreementUpdate
from app.db import release_connection, savepoint
from app.errors import AppError, FieldIssue, Forbidden, RuleViolation, ServiceUnavailable, validation_message
from app.evidence.multipart import StreamedForm
from app.i18n import Text
from app.imports import repository
from app.imports.columns import RowFields, read_header, read_row
from app.imports.reading import Sheet, TooManyRows, read_sheet, spool_file
from app.imports.schemas import ImportKind, ImportResult
from app.models import Agreement, OrganizationKind, Role, Target
from app.models.organizations import PLATFORM_ORG_ID
from app.principal import Principal
from app.targets import service as target_service
from app.targets.schemas import TargetCreate, TargetUpdate

Progress = Callable[[int, int], None]
# Imports a process runs at once. Each may hold a parsed file of 50,000 rows (a few hundred MiB)
# and real imports queue on the log's head anyway; more at once are refused (503, Retry-After).
IMPORT_SLOTS = 2
_slots = asyncio.Semaphore(IMPORT_SLOTS)
# Who `pacta import` acts as: the platform, like the demo loader (the log names it as the actor).
PLATFORM_PRINCIPAL = Principal(
    key_id=uuid.UUID(int=0), org_id=PLATFORM_ORG_ID, org_kind=OrganizationKind.platform, role=Role.admin
)
M = TypeVar("M", bound=BaseModel)


class ImportRejected(RuleViolation):
    """Some rows are bad: all are reported (`errors: [{row, column, msg}]`), none written."""

    slug = "import-rejected"


class ValidationText:
    """A pydantic error's message, written in the language of the answer (like the framework's)."""

    def __init__(self, error: dict[str, Any]) -> None:
        self.error = error

    def render(self, lang: str) -> str:
        return validation_message(self.error, lang)

    def __str__(self) -> str:
        return self.render("en")


Message = Text | ValidationText


@dataclass(slots=True)
class RowError:
    row: int
    column: str | None
    msg: Message
    type: str = "value_error"

    def as_member(self) -> dict[str, Any]:
        loc: list[str | int] = [self.row] if self.column is None else [self.row, self.column]
        return {"row": self.row, "column": self.column, "msg": self.msg, "loc": loc, "type": self.type}


@dataclass(slots=True)
class Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def importing_org(principal: Principal, org: uuid.UUID | None) -> uuid.UUID:
    """Whose agreements the import writes, judged before any of the file is read: an editor's
    own organization (naming another is 403), any organization for an admin (who must name it)."""
    if org is None:
        if principal.is_admin:
            raise RuleViolation(
                errors=[FieldIssue(loc=["query", "org"], msg=Text("imports.org_required"), type="missing")]
            )
        org = principal.org_id
    if not access.can_edit(principal, org):
        raise Forbidden(Text("imports.forbidden"))
    return org


async def check_org(session: AsyncSession, org_id: uuid.UUID) -> None:
    found = await agreement_repository.organizations(session, [org_id])
    kind = found[org_id].kind if org_id in found else None
    if kind is None:
        raise RuleViolation(errors=[FieldIssue(loc=["query", "org"], msg=Text("common.no_organization"))])
    if OrganizationKind(kind) not in agreement_service.SIGNATORY_KINDS:
        raise RuleViolation(errors=[FieldIssue(loc=["query", "org"], msg=Text("agreements.signatory_kind", kind=kind))])


async def receive(form: StreamedForm | None, *, max_bytes: int) -> IO[bytes]:
    """The form's `file` part, spooled (memory up to 1 MiB, then disk); 422 without one."""
    if form is None or not await form.until_file_or_end():
        if form is not None:
            await form.finish()
        raise RuleViolation(
            errors=[FieldIssue(loc=["body", "file"], msg=Text("imports.file_required"), type="missing")]
        )

    async def chunks() -> Any:
        while (chunk := await form.file_chunk()) is not None:
            yield chunk

    spool = await spool_file(chunks(), max_bytes=max_bytes)
    try:
        await form.finish()
    except BaseException:
        spool.close()
        raise
    return spool


async def import_upload(
    session: AsyncSession,
    form: StreamedForm | None,
    *,
    org: uuid.UUID | None,
    dry_run: bool,
    principal: Principal,
    today: date,
    max_bytes: int,
    max_rows: int,
    parse: Callable[[IO[bytes]], Awaitable["Prepared"]],
    slot_held: bool = False,
) -> ImportResult:
    """POST /v1/imports: who may import for whom is settled before the body is read; then the
    session gives its connection back while the client sends the file, and the unit of work
    resumes only once the file is in and read (`parse`: `prepare_file` off the event loop).
    `slot_held`: the request's pre-body check (`admit`) already took an import slot."""
    org_id = importing_org(principal, org)
    await check_org(session, org_id)
    if not slot_held:
        await _take_slot()
    try:
        await release_connection(session)
        spool = await receive(form, max_bytes=max_bytes)
        try:
            prepared = await parse(spool)
        finally:
            spool.close()
        return await import_rows(
            session, prepared, org_id=org_id, dry_run=dry_run, principal=principal, today=today, max_rows=max_rows
        )
    finally:
        if not slot_held:
            _slots.release()


async def _take_slot() -> None:
    if _slots.locked():
        # Refused before a byte of the file is read: a flood of imports costs their headers only.
        raise ServiceUnavailable(Text("imports.busy", slots=IMPORT_SLOTS), headers={"Retry-After": "30"})
    await _slots.acquire()  # free, so it does not wait: nothing can take it in between


SLOT_HELD = "import_slot_held"


async def admit(principal: Principal | None, org: str | None, state: dict[str, Any]) -> Callable[[], None] | None:
    """POST /v1/imports' pre-body check (app.auth.middleware runs it before the idempotency
    middleware reads a byte): may this key import for that organization, and is an import slot
    free; the slot is taken here and given back when the request is done. A missing key, an
    `org` that is not a UUID and an admin's missing `org` are left to the route's own answers."""
    if principal is None:
        return None
    if not principal.is_admin:  # an admin may import for anyone (a missing `org` is the route's 422)
        try:
            org_id = uuid.UUID(org) if org else None
        except ValueError:
            org_id = None
        importing_org(principal, org_id)  # raises Forbidden only, for a key that is not an admin's
    await _take_slot()
    state[SLOT_HELD] = True
    return _slots.release


@dataclass(frozen=True, slots=True)
class Prepared:
    """A file's rows read into the API's fields, with the errors their cells alone show."""

    kind: ImportKind
    numbers: list[int]
    rows: list[RowFields]
    found: list[RowError]


def prepare(kind: ImportKind, sheet: Sheet) -> Prepared:
    """CPU work (seconds for 50,000 rows): the server runs it in a thread. A bad header → 422 at once."""
    layout, header_issues = read_header(kind, sheet.header)
    if header_issues:
        raise _rejected([RowError(1, issue.column, issue.msg) for issue in header_issues])
    rows = [read_row(layout, cells) for cells in sheet.rows]
    return Prepared(kind, sheet.numbers, rows, _row_errors(kind, sheet.numbers, rows))


def prepare_file(kind: ImportKind, file: IO[bytes]) -> Prepared:
    return prepare(kind, read_sheet(file))


async def import_rows(
    session: AsyncSession,
    prepared: Prepared,
    *,
    org_id: uuid.UUID,
    dry_run: bool,
    principal: Principal,
    today: date,
    max_rows: int | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Check every row and write it through the services, in one transaction; any bad row → 422
    naming them all (ImportRejected) and nothing written; `dry_run` → the counts, nothing written.
    A real import of more than `max_rows` rows (PACTA_IMPORT_MAX_ROWS) is refused (413) before
    anything is locked: it would hold the log's head, and every other write, until it commits."""
    kind, numbers, rows, found = prepared.kind, prepared.numbers, prepared.rows, prepared.found
    if not dry_run and max_rows is not None and len(rows) > max_rows:
        raise TooManyRows(Text("imports.too_many_rows_to_write", limit=max_rows, rows=len(rows)))
    writer = await _Writer.prepare(session, kind, rows, principal=principal, today=today, org_id=org_id)

    async def attempt(each: Each) -> Outcome:
        # Everything in one savepoint of the request's transaction, undone unless it all went in.
        async with savepoint(session) as mark:
            outcome = await writer.write_all(numbers, rows, found, each=each, progress=progress)
            if outcome.errors or dry_run:
                mark.discard()
        return outcome

    try:
        outcome = await attempt(Each.probe if dry_run else Each.plain)
    except _DatabaseRefused:
        # Rare: the database itself refused a row, which aborts the transaction. Start over
        # with a savepoint around each row, so the rows after it are still checked.
        outcome = await attempt(Each.probe if dry_run else Each.savepoint)
    if outcome.errors:
        raise _rejected(outcome.errors)
    return ImportResult(
        kind=kind,
        dry_run=dry_run,
        rows=len(rows),
        created=outcome.created,
        updated=outcome.updated,
        unchanged=outcome.unchanged,
    )


def _row_errors(kind: ImportKind, numbers: Sequence[int], rows: Sequence[RowFields]) -> list[RowError]:
    """The errors found in the cells alone (a bad value, a blank or repeated key); each such row
    is marked so that it is checked against the schema but never handed to the services."""
    errors: list[RowError] = []
    key_column = "external_ref" if kind is ImportKind.agreements else "title"
    seen: dict[tuple[str, ...], int] = {}
    for number, row in zip(numbers, rows, strict=True):
        errors += [RowError(number, column, msg) for column, msg in row.errors]
        if row.key is None:
            if row.missing_key is not None:
                blank = Text("imports.key_required", column=row.missing_key)
                row.errors.append((row.missing_key, blank))
                errors.append(RowError(number, row.missing_key, blank, "missing"))
            continue
        if row.key in seen:
            repeated = Text("imports.duplicate_row", other=seen[row.key])
            row.errors.append((key_column, repeated))
            errors.append(RowError(number, key_column, repeated))
        else:
            seen[row.key] = number
    return errors


def _rejected(errors: list[RowError]) -> ImportRejected:
    errors = sorted(errors, key=lambda e: e.row)
    return ImportRejected(
        Text("imports.rejected", count=len(errors), rows=len({e.row for e in errors})),
        extra={"errors": [e.as_member() for e in errors]},
    )


class Each(Enum):
    """How each row runs: `plain` in the import's transaction (a refusal by the database aborts it:
    the import starts over with `savepoint`); `savepoint` in a savepoint of its own, kept; `probe`
    (dry runs) in a savepoint rolled back at once, so no lock outlives its row."""

    plain = "plain"
    savepoint = "savepoint"
    probe = "probe"


class _DatabaseRefused(Exception):
    """A statement failed in the database: the transaction is aborted until rolled back."""


def _agreement_facts(agreement: Agreement, participant_org_ids: Sequence[uuid.UUID], names: Any) -> dict[str, Any]:
    """The stored values of these fields, as an import row's (JSON) values read."""
    return {
        name: sorted(str(p) for p in participant_org_ids)
        if name == "participant_org_ids"
        else to_jsonable_python(getattr(agreement, name))
        for name in names
    }


def _target_facts(target: Target) -> dict[str, Any]:
    baseline = {
        "value": None if target.baseline_value is None else float(target.baseline_value),
        "on": None if target.baseline_on is None else target.baseline_on.isoformat(),
        "comment": target.baseline_comment,
    }
    return {
        "indicator": target.indicator,
        "title": target.title,
        "description": target.description,
        "measure": target.measure,
        "unit": target.unit,
        "ascending": target.ascending,
        "baseline": None if all(v is None for v in baseline.values()) else baseline,
        "milestones": sorted(
            (
                {"months": m["months"], "target_value": None if m["target_value"] is None else float(m["target_value"])}
                for m in target.milestones
            ),
            key=lambda m: m["months"],
        ),
        "responsible_org_id": None if target.responsible_org_id is None else str(target.responsible_org_id),
    }


class _Writer:
    """Writes rows through the services. What every row needs to know is read once for the file:
    which folios exist (and, to tell an unchanged row without locking it, their stored rows),
    the kinds of the organizations the rows name, the targets by title."""

    def __init__(self, session: AsyncSession, *, principal: Principal, today: date, org_id: uuid.UUID) -> None:
        self.session = session
        self.principal = principal
        self.today = today
        self.org_id = org_id
        self.kind = ImportKind.agreements
        self.existing: dict[str, uuid.UUID] = {}
        self.agreements: dict[uuid.UUID, tuple[Agreement, list[uuid.UUID]]] = {}
        self.org_kinds: dict[uuid.UUID, str] = {}
        self.targets: dict[tuple[uuid.UUID, str], list[Target]] = {}

    @classmethod
    async def prepare(
        cls,
        session: AsyncSession,
        kind: ImportKind,
        rows: Sequence[RowFields],
        *,
        principal: Principal,
        today: date,
        org_id: uuid.UUID,
    ) -> "_Writer":
        writer = cls(session, principal=principal, today=today, org_id=org_id)
        writer.kind = kind
        refs = [row.key[0] for row in rows if row.key is not None]
        writer.existing = await repository.agreements_by_ref(session, org_id, refs)
        if kind is ImportKind.agreements:
            writer.agreements = await repository.agreements_with_participants(session, list(writer.existing.values()))
            named = {org_id} | {p for row in rows for p in row.fields.get("participant_org_ids") or []}
            found = await agreement_repository.organizations(session, list(named))
            writer.org_kinds = {o: org.kind for o, org in found.items()}
        else:
            writer.targets = await repository.targets_by_title(session, list(writer.existing.values()))
        return writer

    async def write_all(
        self,
        numbers: Sequence[int],
        rows: Sequence[RowFields],
        found: Sequence[RowError],
        *,
        each: "Each",
        progress: Progress | None,
    ) -> Outcome:
        outcome = Outcome(errors=list(found))
        for done, (number, row) in enumerate(zip(numbers, rows, strict=True), start=1):
            # A row with a bad cell is still checked against the schema (all its errors at once),
            # but never handed to the services.
            await self.write(number, row, outcome, check_only=bool(row.errors), each=each)
            if progress is not None:
                progress(done, len(rows))
        return outcome

    async def write(self, number: int, row: RowFields, outcome: Outcome, *, check_only: bool, each: "Each") -> None:
        """One row, run as `each` says (see Each)."""
        try:
            if check_only:
                await self._row(row, check_only=True)
                return
            if each is Each.plain:
                result = await self._row(row)
            else:
                async with savepoint(self.session) as mark:
                    result = await self._row(row)
                    if each is Each.probe:
                        mark.discard()
        except _RowRefused as exc:
            outcome.errors += [RowError(number, c, m, t) for c, m, t in exc.issues]
            return
        except AppError as exc:
            outcome.errors += _app_errors(number, exc, row)
            return
        except DBAPIError as exc:
            if each is Each.plain:
                raise _DatabaseRefused from exc
            outcome.errors.append(RowError(number, None, Text("imports.database_refused")))
            return
        if result == "created":
            outcome.created += 1
        elif result == "updated":
            outcome.updated += 1
        else:
            outcome.unchanged += 1

    async def _row(self, row: RowFields, *, check_only: bool = False) -> str:
        if self.kind is ImportKind.agreements:
            return await self._agreement(row, check_only=check_only)
        return await self._target(row, check_only=check_only)

    async def _agreement(self, row: RowFields, *, check_only: bool = False) -> str:
        fields = dict(row.fields)
        agreement_id = None if row.key is None else self.existing.get(row.key[0])
        if agreement_id is None:
            # On a create a blank cell is an absent field: the default, or "required".
            given = {k: v for k, v in fields.items() if v is not None}
            data = _validated(AgreementCreate, {**given, "signatory_org_id": self.org_id}, row)
            if check_only:
                return "checked"
            # The folio is free: the file's folios were looked up at the start, in this transaction.
            await agreement_service.add_agreement(
                self.session, data, principal=self.principal, today=self.today, kinds=self.org_kinds, folio_checked=True
            )
            return "created"
        fields.pop("external_ref", None)
        stored, participants = self.agreements[agreement_id]
        update = _validated(AgreementUpdate, _completed_counterparts(fields, stored.counterparts), row)
        if check_only:
            return "checked"
        changes = _normalized(update.model_dump(mode="json", exclude_unset=True))
        if changes == _agreement_facts(stored, participants, changes):
            return "unchanged"  # as read at the start of the import: not locked, nothing written
        locked = await agreement_service.lock_for_change(
            self.session, agreement_id, principal=self.principal, today=self.today, org_kinds=True
        )
        update = _validated(AgreementUpdate, _completed_counterparts(fields, locked.row.counterparts), row)
        changes = _normalized(update.model_dump(mode="json", exclude_unset=True))
        if changes == _agreement_facts(locked.row, locked.before.participant_org_ids, changes):
            return "unchanged"
        await agreement_service.update_agreement(
            self.session,
            locked.row,
            locked.before,
            update,
            principal=self.principal,
            today=self.today,
            kinds=locked.org_kinds,
        )
        return "updated"

    async def _target(self, row: RowFields, *, check_only: bool = False) -> str:
        ref, title = row.key if row.key is not None else (None, None)
        agreement_id = None if ref is None else self.existing.get(ref)
        if ref is not None and agreement_id is None:
            raise _RowRefused([("agreement_external_ref", Text("imports.no_agreement", ref=ref), "value_error")])
        found = [] if agreement_id is None or title is None else self.targets.get((agreement_id, title.strip()), [])
        if len(found) > 1:
            raise _RowRefused([("title", Text("imports.ambiguous_target", count=len(found)), "value_error")])
        if not found:
            given = {k: v for k, v in row.fields.items() if v is not None}
            data = _validated(TargetCreate, given, row)
            if check_only or agreement_id is None:
                return "checked"
            await target_service.create_target(
                self.session, agreement_id, data, principal=self.principal, today=self.today
            )
            return "created"
        update = _validated(TargetUpdate, _completed_baseline(row.fields, found[0]), row)
        if check_only:
            return "checked"
        if _target_unchanged(update, found[0]):
            return "unchanged"
        locked = await target_service.lock_target(self.session, found[0].id, principal=self.principal, today=self.today)
        update = _validated(TargetUpdate, _completed_baseline(row.fields, locked.target), row)
        if _target_unchanged(update, locked.target):
            return "unchanged"
        await target_service.update_target(self.session, locked, update, principal=self.principal, today=self.today)
        return "updated"


def _normalized(changes: dict[str, Any]) -> dict[str, Any]:
    if "participant_org_ids" in changes:
        changes["participant_org_ids"] = sorted(changes["participant_org_ids"])
    return changes


def _completed_counterparts(fields: dict[str, Any], stored: list[dict[str, Any]]) -> dict[str, Any]:
    """Counterpart columns the file lacks (say, region) keep their stored values: the API replaces
    the whole list, so each counterpart is completed from the one stored at its place."""
    if "counterparts" not in fields:
        return fields
    completed = [{**stored[i], **given} if i < len(stored) else given for i, given in enumerate(fields["counterparts"])]
    return {**fields, "counterparts": completed}


def _completed_baseline(fields: dict[str, Any], target: Target) -> dict[str, Any]:
    """Baseline columns the file lacks keep their stored values (the API replaces the whole baseline)."""
    baseline, stored = fields.get("baseline"), _target_facts(target)["baseline"]
    if not isinstance(baseline, dict) or stored is None:
        return fields
    return {**fields, "baseline": {**stored, **baseline}}


def _target_unchanged(update: TargetUpdate, target: Target) -> bool:
    changes = update.model_dump(mode="json", exclude_unset=True)
    if "milestones" in changes:
        wanted = changes["milestones"] or [{"months": m, "target_value": None} for m in target_service.DEFAULT_MONTHS]
        changes["milestones"] = sorted(wanted, key=lambda m: m["months"])
    stored = _target_facts(target)
    return all(stored.get(name) == value for name, value in changes.items())


class _RowRefused(Exception):
    def __init__(self, issues: Sequence[tuple[str | None, Message, str]]) -> None:
        super().__init__("row refused")
        self.issues = list(issues)


def _validated(model: type[M], fields: dict[str, Any], row: RowFields) -> M:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise _RowRefused(
            [
                (
                    _column(row, [str(p) if not isinstance(p, int) else p for p in e["loc"]]),
                    ValidationText(
                        {
                            "type": e["type"],
                            "loc": e["loc"],
                            "msg": e["msg"],
                            "ctx": e.get("ctx"),
                            "input": e.get("input"),
                        }
                    ),
                    e["type"],
                )
                for e in exc.errors(include_url=False)
            ]
        ) from exc


def _column(row: RowFields, loc: Sequence[str | int]) -> str | None:
    """The column a field's error belongs to (`loc` as pydantic or a service names the field)."""
    if not loc:
        return None
    name = loc[0]
    if name == "counterparts":
        index = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
        part = loc[2] if len(loc) > 2 and isinstance(loc[2], str) else "name"
        number = row.counterpart_numbers[index] if index < len(row.counterpart_numbers) else 1
        return f"counterpart_{part}" if number == 1 else f"counterpart_{number}_{part}"
    if name == "baseline":
        part = loc[1] if len(loc) > 1 and isinstance(loc[1], str) else "value"
        return f"baseline_{part}"
    if name == "milestones":
        index = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
        columns = row.milestone_columns
        return columns[index] if index < len(columns) else (columns[0] if columns else None)
    if name == "signatory_org_id":
        return None
    return str(name)


def _app_errors(number: int, exc: AppError, row: RowFields) -> list[RowError]:
    if exc.errors:
        return [
            RowError(number, _column(row, [p for p in issue.loc if p != "body"]), issue.msg, issue.type)
            for issue in exc.errors
        ]
    return [RowError(number, None, exc.detail or exc.title_text())]
