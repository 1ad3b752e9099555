"""Which kinds of rows the log records, and how each one's canonical document is rebuilt.

Each resource package registers its kind beside the code that logs it, so `pacta log verify`
recomputes every kind the log knows without the log importing any resource package, and
`append` refuses a kind nobody registered: a new kind is verified the day it starts logging.
"""

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from app.log import repository
from app.log.hashing import resource_document

# Every stored row of one kind as (id, the document its log entry hashed).
Documents = Callable[[AsyncSession], Awaitable[Iterable[tuple[uuid.UUID | str, Any]]]]

_KINDS: dict[str, Documents] = {}


class UnregisteredKind(LookupError):
    """A write logged a resource_type that no package registered: verify could never check it."""


def register(resource_type: str, documents: Documents) -> None:
    """Declare a logged kind and how to rebuild every stored row's document (idempotent per function)."""
    known = _KINDS.get(resource_type)
    if known is not None and known is not documents:
        raise ValueError(f"resource_type {resource_type!r} is already registered by another loader")
    _KINDS[resource_type] = documents


def register_table(resource_type: str, model: type[SQLModel]) -> Documents:
    """A kind whose document is exactly its row (`resource_document`)."""

    async def documents(session: AsyncSession) -> list[tuple[uuid.UUID | str, Any]]:
        return [(row.id, resource_document(row)) for row in await rows(session, model)]

    register(resource_type, documents)
    return documents


def registered() -> Mapping[str, Documents]:
    return MappingProxyType(_KINDS)


def ensure_registered(resource_type: str) -> None:
    if resource_type not in _KINDS:
        raise UnregisteredKind(
            f"resource_type {resource_type!r} is logged but not registered in app.log.registry: "
            "`pacta log verify` could not recompute it"
        )


async def rows(session: AsyncSession, model: type[SQLModel]) -> list[Any]:
    """Every row of a table, for loaders that add linked facts to the row's document."""
    return await repository.all_rows(session, model)


async def pairs(session: AsyncSession, model: type[SQLModel], key: str, value: str) -> dict[Any, list[Any]]:
    """A link table's (key, value) pairs grouped by key (participants, cited evidence)."""
    return await repository.pairs(session, model, key, value)
