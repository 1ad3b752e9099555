"""`pacta log verify`: recompute the tree and every resource's hash from the database, and report
every row changed, added or removed outside the API (and any break with a saved checkpoint)."""

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.log import merkle, registry, repository, signing
from app.log.hashing import canonical_json, document_sha256, jsonable, leaf_hash, node_hash
from app.log.service import leaf_document


@dataclass
class Report:
    entries: int = 0
    resources: int = 0
    root_hash: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _plain(document: Any) -> Any:
    return jsonable(document)


# Entries hashed between two progress reports: often enough for a live bar, rarely enough to cost nothing.
PROGRESS_EVERY = 500

Progress = Callable[[int, int], None]


def _no_progress(done: int, total: int) -> None:
    """The default: nobody is watching."""


async def _verify_tree(session: AsyncSession, report: Report, progress: Progress) -> list[list[bytes]]:
    leaves: list[bytes] = []
    expected = 0
    # The bar's total: entries now, resources added once they are counted (an estimate while appends go on).
    estimate = await repository.size(session) if progress is not _no_progress else 0
    async for entry, document in repository.stream_entries(session):
        if len(leaves) % PROGRESS_EVERY == 0:
            progress(len(leaves), max(estimate, len(leaves)))
        if entry.index != expected:
            report.problems.append(f"log entry {expected} is missing (next stored index is {entry.index})")
            expected = entry.index
        computed = leaf_hash(canonical_json(leaf_document(entry)))
        if bytes(entry.leaf_hash) != computed:
            report.problems.append(
                f"log entry {entry.index}: its fields do not hash to its stored leaf hash (entry changed)"
            )
        if (document is not None or entry.action == "delete") and document_sha256(document) != entry.resource_sha256:
            report.problems.append(
                f"log entry {entry.index}: the stored document of {entry.resource_type} {entry.resource_id} "
                "does not hash to the entry's resource_sha256"
            )
        leaves.append(computed)
        expected += 1
    report.entries = len(leaves)
    size = await repository.size(session)
    if size != len(leaves):
        report.problems.append(f"log_head says {size} entries, the log holds {len(leaves)}")
    stored = await repository.stored_nodes(session)
    levels = [leaves]
    while len(levels[-1]) >= 2:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
        level = len(levels) - 1
        for index, h in enumerate(levels[-1]):
            if stored.get((level, index)) != h:
                report.problems.append(f"Merkle node level {level} index {index} is missing or altered")
    report.root_hash = _root(levels, len(leaves)).hex()
    return levels


def _root(levels: list[list[bytes]], size: int) -> bytes:
    """MTH of the first `size` leaves, from subtrees recomputed here (never the stored ones)."""
    return merkle.range_hash(0, size, lambda node: levels[node[0]][node[1]])


async def _verify_resources(session: AsyncSession, report: Report, progress: Progress) -> None:
    latest = await repository.latest_entries(session)
    total = report.entries + len(latest)
    progress(report.entries, total)
    kinds = registry.registered()
    present: set[tuple[str, str]] = set()
    for resource_type, documents in kinds.items():
        for resource_id, document in await documents(session):
            key = (resource_type, str(resource_id))
            present.add(key)
            report.resources += 1
            if report.resources % PROGRESS_EVERY == 0:
                progress(report.entries + report.resources, max(total, report.entries + report.resources))
            found = latest.get(key)
            if found is None:
                report.problems.append(f"{resource_type} {resource_id} was added outside the API (no log entry)")
            elif document_sha256(_plain(document)) != found[2]:
                report.problems.append(
                    f"{resource_type} {resource_id} was changed outside the API (differs from log entry {found[0]})"
                )
    unknown: dict[str, int] = {}
    for (resource_type, resource_id), (index, action, _) in latest.items():
        if resource_type not in kinds:
            unknown.setdefault(resource_type, index)
        elif action != "delete" and (resource_type, resource_id) not in present:
            report.problems.append(
                f"{resource_type} {resource_id} was removed outside the API (log entry {index} says it exists)"
            )
    # A kind in the log that no package registered cannot be recomputed: say so rather than pass.
    for resource_type, index in sorted(unknown.items()):
        report.problems.append(
            f"the log records {resource_type!r} rows (e.g. entry {index}) but no loader is registered to recompute them"
        )


def _check_checkpoint(
    saved: dict[str, Any], levels: list[list[bytes]], report: Report, *, trusted_key: bytes | None
) -> None:
    leaves = levels[0]
    body = saved["note"].split("\n\n")[0] + "\n"
    if trusted_key is not None and base64.b64decode(saved["public_key"]) != trusted_key:
        # A file can carry any key: only the log's own key makes its signature mean something.
        report.problems.append("the saved checkpoint is not signed with this log's key")
        return
    if not signing.verify(base64.b64decode(saved["public_key"]), body, base64.b64decode(saved["signature"])):
        report.problems.append("the saved checkpoint's signature does not verify")
        return
    # Only the note is signed: its size and root count, never the JSON fields beside it.
    lines = body.split("\n")
    try:
        size, signed_root = int(lines[1]), base64.b64decode(lines[2], validate=True).hex()
    except (IndexError, ValueError):
        report.problems.append("the saved checkpoint's signed note holds no tree size and root hash")
        return
    if int(saved["tree_size"]) != size or saved["root_hash"] != signed_root:
        report.problems.append(
            "the saved checkpoint's tree_size or root_hash differ from its signed note (checked against the note)"
        )
    if size > len(leaves):
        report.problems.append(
            f"the saved checkpoint covers {size} entries but the log now holds {len(leaves)}: entries were removed"
        )
        return
    root = _root(levels, size)
    if root.hex() != signed_root:
        report.problems.append(
            f"the log is not consistent with the saved checkpoint of size {size}: "
            f"its first {size} entries were rewritten"
        )


async def verify_log(
    session: AsyncSession,
    *,
    checkpoint: dict[str, Any] | None = None,
    trusted_key: bytes | None = None,
    progress: Progress | None = None,
) -> Report:
    """`trusted_key`: the log's public key; a saved checkpoint must be signed with it.

    `progress(done, total)` counts log entries, then resources, as they are checked.
    """
    report = Report()
    tick = progress or _no_progress
    levels = await _verify_tree(session, report, tick)
    await _verify_resources(session, report, tick)
    done = report.entries + report.resources
    tick(done, done)
    if checkpoint is not None:
        _check_checkpoint(checkpoint, levels, report, trusted_key=trusted_key)
    return report


def load_checkpoint(text: str) -> dict[str, Any]:
    data = json.loads(text)
    if not isinstance(data, dict) or not {"tree_size", "root_hash", "note", "signature", "public_key"} <= set(data):
        raise ValueError("not a checkpoint saved from GET /v1/log/checkpoint")
    return data
