"""Whose deadlines a caller sees, and their shape."""

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import literal_column
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Reader
from app.deadlines import repository
from app.deadlines.schemas import Deadline
from app.http.pagination import PageParams, SortKey, decode_cursor, make_page
from app.i18n import Text
from app.principal import Principal

SORT = SortKey(
    "deadlines",
    (literal_column("date"), literal_column("kind"), literal_column("subject_id")),
    (date, str, uuid.UUID),
)

URL_PATHS = {kind: prefix + "{}" for kind, prefix in repository.URL_PREFIXES.items()}


def scope_for(principal: Principal, *, signatory_org_id: uuid.UUID | None, state: str | None) -> repository.Scope:
    """Auditors and admins: all; anyone else: its organization's agreements and those it takes part in."""
    return repository.Scope(
        all_=principal.reads_everything, org_id=principal.org_id, signatory_org_id=signatory_org_id, state=state
    )


def window(today: date, within_days: int, grace_days: int) -> repository.Window:
    return repository.Window(today=today, until=today + timedelta(days=within_days), grace_days=grace_days)


def title_of(row: dict[str, Any], lang: str) -> str:
    """A deadline's title for people: the subject's own title (data) in a sentence of `lang`."""
    if row["kind"] == "activity":
        return str(row["title"])
    return Text(f"deadlines.{row['kind']}", title=row["title"], months=row.get("months")).render(lang)


def to_deadline(row: dict[str, Any], base_url: str, lang: str) -> Deadline:
    path = URL_PATHS[str(row["kind"])].format(row["subject_id"])
    return Deadline(
        date=row["date"],
        kind=row["kind"],
        agreement_id=row["agreement_id"],
        subject_id=row["subject_id"],
        title=title_of(row, lang),
        url=base_url.rstrip("/") + path,
    )


async def list_deadlines_json(
    reader: Reader,
    win: repository.Window,
    scope: repository.Scope,
    page: PageParams,
    *,
    base_url: str,
    lang: str,
) -> tuple[list[str], str | None]:
    """The same page as list_deadlines, each item already the JSON text of its Deadline."""
    after = None if page.cursor is None else decode_cursor(SORT, page.cursor)
    rows = await repository.deadlines_json(
        reader, win, scope, after=after, limit=page.limit + 1, lang=lang, base_url=base_url.rstrip("/")
    )
    kept, cursor = make_page(rows, SORT, page, lambda r: (r["date"], r["kind"], r["subject_id"]))
    return [str(r["document"]) for r in kept], cursor


async def list_deadlines(
    session: AsyncSession,
    win: repository.Window,
    scope: repository.Scope,
    page: PageParams,
    *,
    base_url: str,
    lang: str,
) -> tuple[list[Deadline], str | None]:
    after = None if page.cursor is None else decode_cursor(SORT, page.cursor)
    rows = await repository.deadlines(session, win, scope, after=after, limit=page.limit + 1)
    kept, cursor = make_page(rows, SORT, page, lambda r: (r["date"], r["kind"], r["subject_id"]))
    return [to_deadline(r, base_url, lang) for r in kept], cursor
