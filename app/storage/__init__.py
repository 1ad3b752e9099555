"""Content-addressed evidence storage on any object store: a local folder or an S3-compatible bucket.

One interface, two real backends, both through obstore. Objects are written under a temporary
name while their SHA-256 is computed, then moved to `sha256/<aa>/<hash>`; an upload that stops
half-way is never moved, so it never becomes an object anyone can read.
"""

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

import obstore
from obstore.store import LocalStore, S3Store

CHUNK = 1024 * 1024


class TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


class DigestMismatch(Exception):
    def __init__(self, declared: str, actual: str) -> None:
        super().__init__(f"declared sha256 {declared}, received {actual}")
        self.declared = declared
        self.actual = actual


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    sha256: str
    size: int


def _store(url: str) -> Any:
    parts = urlsplit(url)
    if parts.scheme == "file":
        folder = Path(parts.path)
        folder.mkdir(parents=True, exist_ok=True)
        return LocalStore(folder)
    if parts.scheme == "s3":
        options = dict(parse_qsl(parts.query))
        allow_http = options.pop("allow_http", "false").lower() == "true"
        prefix = parts.path.strip("/") or None
        return S3Store(
            parts.netloc,
            prefix=prefix,
            config=cast(Any, options) or None,
            client_options={"allow_http": allow_http},
        )
    raise ValueError(f"unsupported storage URL {url!r}: use file:///path or s3://bucket/prefix?endpoint=…")


def content_key(sha256: str) -> str:
    return f"sha256/{sha256[:2]}/{sha256}"


class EvidenceStorage:
    def __init__(self, url: str) -> None:
        self.url = url
        self.store = _store(url)

    async def ingest(
        self, chunks: AsyncIterator[bytes], *, max_bytes: int, expected_sha256: str | None = None
    ) -> StoredObject:
        """Stream `chunks` into the store, hashing as they pass.

        More than max_bytes raises TooLarge; a hash other than expected_sha256 raises
        DigestMismatch. Either way nothing is kept.
        """
        pending = await self.receive(chunks, max_bytes=max_bytes)
        try:
            if expected_sha256 is not None and expected_sha256 != pending.sha256:
                raise DigestMismatch(expected_sha256, pending.sha256)
        except BaseException:
            await self.discard(pending)
            raise
        return await self.keep(pending)

    async def receive(self, chunks: AsyncIterator[bytes], *, max_bytes: int) -> StoredObject:
        """Phase one: stream `chunks` into a temporary object, hashing as they pass.

        The result's key is the temporary name: nobody can read it by its hash until keep()
        moves it; discard() drops it. More than max_bytes (or any failure while the chunks
        are read) raises, and nothing is kept.
        """
        digest = hashlib.sha256()
        size = 0
        temporary = f"incoming/{uuid.uuid4().hex}"
        try:
            # Leaving the writer's context by an exception aborts the upload. Past its buffer the
            # writer has begun an S3 multipart upload (or a local staging file) that close() alone
            # would never clean up: the parts would stay in the bucket, unseen and billed.
            # Three things overlap: reading the next chunk (this loop), hashing the last one (a
            # thread: hashlib lets go of the GIL) and writing it (obstore's own runtime).
            loop = asyncio.get_running_loop()
            hashing: asyncio.Future[None] | None = None
            writing: asyncio.Future[int] | None = None
            async with obstore.open_writer_async(self.store, temporary) as writer:
                try:
                    async for chunk in chunks:
                        size += len(chunk)
                        if size > max_bytes:
                            raise TooLarge(max_bytes)
                        if hashing is not None:
                            await hashing
                        hashing = loop.run_in_executor(None, digest.update, chunk)
                        if writing is not None:
                            await writing
                        writing = asyncio.ensure_future(writer.write(chunk))
                    for pending in (hashing, writing):
                        if pending is not None:
                            await pending
                finally:
                    for pending in (hashing, writing):
                        if pending is not None and not pending.done():
                            await asyncio.gather(pending, return_exceptions=True)
        except BaseException:
            await self._discard(temporary)
            raise
        return StoredObject(key=temporary, sha256=digest.hexdigest(), size=size)

    async def keep(self, pending: StoredObject) -> StoredObject:
        """Phase two: move a received object to its content key (or drop it if already held)."""
        key = content_key(pending.sha256)
        if await self.exists(key):
            await obstore.delete_async(self.store, pending.key)
        else:
            await obstore.rename_async(self.store, pending.key, key)
        return StoredObject(key=key, sha256=pending.sha256, size=pending.size)

    async def discard(self, pending: StoredObject) -> None:
        """Drop a received object that will not be kept."""
        await self._discard(pending.key)

    async def _discard(self, temporary: str) -> None:
        # The aborted writer made no object; delete one should a partial object have appeared anyway.
        if await self.exists(temporary):
            await obstore.delete_async(self.store, temporary)

    async def exists(self, key: str) -> bool:
        try:
            await obstore.head_async(self.store, key)
        except FileNotFoundError:
            return False
        return True

    async def stream(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Bytes [start, end) of an object, in chunks."""
        options: Any = {}
        if start or end is not None:
            options["range"] = (start, end) if end is not None else {"offset": start}
        result = await obstore.get_async(self.store, key, options=options or None)
        async for chunk in result.stream(min_chunk_size=CHUNK):
            yield bytes(chunk)
