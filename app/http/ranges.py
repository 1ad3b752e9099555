"""Single byte ranges (RFC 9110 section 14): enough for resumable downloads and media players."""

import re
from dataclasses import dataclass

_RANGE = re.compile(r"^bytes=(\d{0,19})-(\d{0,19})$")


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int  # exclusive


class Unsatisfiable(Exception):
    pass


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """None means "send everything" (no header, several ranges, or a syntax we ignore, as RFC 9110
    allows); Unsatisfiable means 416."""
    if header is None:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise Unsatisfiable
        return ByteRange(max(0, size - length), size)
    start = int(first)
    if start >= size:
        raise Unsatisfiable
    end = size if not last else min(int(last) + 1, size)
    if end <= start:
        return None
    return ByteRange(start, end)
