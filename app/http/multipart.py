"""Bounds on multipart/form-data parsing, shared by every parser of a form in the service.

python-multipart calls back synchronously for each piece of each part. A body of tiny parts makes
that work per byte large, so: at most MAX_PARTS parts and short names and headers (the framework's
own form parser also stops at 1,000 fields and files), and the bytes are fed in slices with a
yield to the event loop between them, so no request's parsing holds up the others for long.
"""

import asyncio
import hashlib
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.errors import MalformedBody, PayloadTooLarge
from app.i18n import Text

MAX_PARTS = 1000
MAX_NAME_BYTES = 100
MAX_PART_HEADER_BYTES = 8 * 1024
# Room for every text field together; file parts have their own limit.
MAX_FIELD_BYTES = 64 * 1024
# At most this much is parsed between two yields to the event loop: a request chunk as the server
# reads it (64 KiB), parsed in tens of microseconds; smaller slices cost a yield each (8 KiB: 2,560
# yields per 20 MiB upload) and buy no fairness worth having.
FEED_SLICE = 64 * 1024


def streamed_form_body(
    title: str, file_description: str, fields: dict[str, Any] | None = None, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The OpenAPI request body of a multipart form a route streams itself (what File()/Form()
    parameters would have declared): a required `file`, then `fields`."""
    file = {
        "type": "string",
        "contentMediaType": "application/octet-stream",
        "title": "File",
        "description": file_description,
    }
    return {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "title": title,
                    "type": "object",
                    "properties": {"file": file, **(fields or {})},
                    "required": ["file", *required],
                }
            }
        },
    }


class TooManyParts(PayloadTooLarge):
    slug = "too-many-parts"


def boundary_of(content_type: str | None) -> bytes | None:
    """The boundary of a multipart/form-data Content-Type, or None for any other body."""
    if not content_type:
        return None
    media_type, options = parse_options_header(content_type)
    if media_type != b"multipart/form-data":
        return None
    boundary = options.get(b"boundary")
    return boundary or None


async def feed(parser: MultipartParser, chunk: bytes) -> None:
    """Parse a chunk in slices, letting other requests run between them; a broken body is a 400."""
    view = memoryview(chunk)
    for start in range(0, len(chunk), FEED_SLICE):
        if start:
            await asyncio.sleep(0)
        try:
            parser.write(bytes(view[start : start + FEED_SLICE]))
        except MultipartParseError as exc:
            raise MalformedBody(Text("evidence.multipart_invalid")) from exc


class PartLimits:
    """Counts parts and the size of their headers and names; raises as soon as one is exceeded."""

    def __init__(self) -> None:
        self.parts = 0
        self.header_bytes = 0

    def part_begins(self) -> None:
        self.parts += 1
        self.header_bytes = 0
        if self.parts > MAX_PARTS:
            raise TooManyParts(Text("problem.too-many-parts.body", limit=MAX_PARTS))

    def header_grows(self, size: int) -> None:
        self.header_bytes += size
        if self.header_bytes > MAX_PART_HEADER_BYTES:
            raise PayloadTooLarge(Text("problem.payload-too-large.part_headers", limit=MAX_PART_HEADER_BYTES))

    @staticmethod
    def check_name(name: bytes | None) -> None:
        if name is not None and len(name) > MAX_NAME_BYTES:
            raise PayloadTooLarge(Text("problem.payload-too-large.field_name", limit=MAX_NAME_BYTES))


class PartHeaders:
    """The headers of the part being parsed, collected within PartLimits: `on_field`, `on_value`
    and `on_end` are python-multipart's header callbacks, for every parser of a form."""

    def __init__(self, limits: PartLimits) -> None:
        self._limits = limits
        self.values: dict[bytes, bytes] = {}
        self._field = bytearray()
        self._value = bytearray()

    def begin(self) -> None:
        """A new part: counted, and the last part's headers forgotten."""
        self._limits.part_begins()
        self.values = {}
        self._field.clear()
        self._value.clear()

    def on_field(self, data: bytes, start: int, end: int) -> None:
        self._limits.header_grows(end - start)
        self._field += data[start:end]

    def on_value(self, data: bytes, start: int, end: int) -> None:
        self._limits.header_grows(end - start)
        self._value += data[start:end]

    def on_end(self) -> None:
        self.values[bytes(self._field).lower()] = bytes(self._value)
        self._field.clear()
        self._value.clear()

    def disposition(self) -> dict[bytes, bytes]:
        """The options of the part's Content-Disposition (name, filename), its name within the limit."""
        _, options = parse_options_header(self.values.get(b"content-disposition", b""))
        self._limits.check_name(options.get(b"name"))
        return options


class FormDigest:
    """A fingerprint of a form that does not depend on its boundary: each part's name, filename
    and the SHA-256 of its content, sorted. Two encodings of one form (a retry by another client,
    which picks a new boundary) give the same digest."""

    def __init__(self, boundary: bytes) -> None:
        self._parts: list[bytes] = []
        self._headers = PartHeaders(PartLimits())
        self._content = hashlib.sha256()
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._headers.on_field,
                "on_header_value": self._headers.on_value,
                "on_header_end": self._headers.on_end,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
            },
        )

    def _on_part_begin(self) -> None:
        self._headers.begin()
        self._content = hashlib.sha256()

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._content.update(data[start:end])

    def _on_part_end(self) -> None:
        options = self._headers.disposition()
        name = options.get(b"name")
        filename = options.get(b"filename")
        self._parts.append(
            b"\0".join(
                [name or b"", b"" if filename is None else b"file:" + filename, self._content.hexdigest().encode()]
            )
        )

    async def write(self, chunk: bytes) -> None:
        await feed(self._parser, chunk)

    def hexdigest(self) -> str:
        self._parser.finalize()
        digest = hashlib.sha256()
        for part in sorted(self._parts):
            digest.update(hashlib.sha256(part).digest())
        return digest.hexdigest()
