"""A multipart/form-data body parsed as it arrives: text fields kept, one file part streamed.

python-multipart's MultipartParser calls back synchronously for every piece of every part; the
callbacks only collect, and the async methods below pull request chunks until what is asked for
(the file part's next bytes, or the end of the body) is there. The file part is never held whole:
at most one request chunk of it waits here at a time. The bounds on parts, names and headers, and
the slicing that keeps the event loop free, are app.http.multipart's.
"""

from collections.abc import AsyncIterator

from python_multipart.multipart import MultipartParser

from app.errors import MalformedBody, PayloadTooLarge
from app.http.multipart import MAX_FIELD_BYTES, PartHeaders, PartLimits, boundary_of, feed
from app.i18n import Text

__all__ = ["StreamedForm", "boundary_of"]


class StreamedForm:
    """The text fields of a form, and the bytes of its part named `file_field`, as they come."""

    def __init__(self, stream: AsyncIterator[bytes], boundary: bytes, *, file_field: str = "file") -> None:
        self._stream = stream
        self._file_field = file_field
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.has_file = False
        self.file_done = False
        self.ended = False
        self._exhausted = False
        self._field_bytes = 0
        self._pending: list[bytes] = []
        # The part being parsed: its headers, then where its bytes go.
        self._headers = PartHeaders(PartLimits())
        self._name: str | None = None
        self._value: bytearray | None = None
        self._in_file = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._headers.on_field,
                "on_header_value": self._headers.on_value,
                "on_header_end": self._headers.on_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
        )

    # --- callbacks (synchronous, collect only) ---------------------------------------------------------

    def _on_part_begin(self) -> None:
        self._headers.begin()
        self._name = None
        self._value = None
        self._in_file = False

    def _on_headers_finished(self) -> None:
        options = self._headers.disposition()
        name = options.get(b"name")
        self._name = name.decode("utf-8", "replace") if name is not None else None
        if self._name == self._file_field and b"filename" in options:
            if self.has_file:
                return  # a second file part is ignored, as the framework's form parser kept one
            self.has_file = True
            self._in_file = True
            self.filename = options[b"filename"].decode("utf-8", "replace")
        elif self._name is not None and self._name != self._file_field:
            self._value = bytearray()

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._pending.append(bytes(data[start:end]))
        elif self._value is not None:
            self._field_bytes += end - start
            if self._field_bytes > MAX_FIELD_BYTES:
                raise PayloadTooLarge(Text("evidence.form_fields_too_large", limit=MAX_FIELD_BYTES))
            self._value += data[start:end]

    def _on_part_end(self) -> None:
        if self._in_file:
            self._in_file = False
            self.file_done = True
        elif self._name is not None and self._value is not None:
            self.fields[self._name] = self._value.decode("utf-8", "replace")
        self._value = None

    def _on_end(self) -> None:
        self.ended = True

    # --- pulling the body ----------------------------------------------------------------------------------

    async def _pump(self) -> None:
        """Feed the parser the next request chunk; a body that stops before the form's end is a 400."""
        if self._exhausted:
            raise MalformedBody(Text("evidence.multipart_ended"))
        while True:
            try:
                chunk = await anext(self._stream)
            except StopAsyncIteration:
                break
            if chunk:
                await feed(self._parser, chunk)
                return
        self._exhausted = True
        self._parser.finalize()
        if not self.ended:
            raise MalformedBody(Text("evidence.multipart_ended"))

    async def until_file_or_end(self) -> bool:
        """Parse until the file part has begun (True) or the whole body is read without one (False)."""
        while not self.has_file and not self.ended:
            await self._pump()
        return self.has_file

    async def file_chunk(self) -> bytes | None:
        """The file part's next bytes, or None once the part is over."""
        while not self._pending:
            if self.file_done:
                return None
            await self._pump()
        chunk = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        return chunk

    async def finish(self) -> dict[str, str]:
        """Read the rest of the body (anything after the file part) and return the text fields."""
        while not self.ended:
            self._pending.clear()
            await self._pump()
        self._pending.clear()
        return self.fields
