"""What a file is, judged by its bytes (never by its name or the client's word)."""

import filetype

# What Pacta accepts as evidence.
ALLOWED = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/webp",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "text/csv",
        "text/plain",
    }
)
SNIFF_BYTES = 8192


# Control characters that never occur in text files (tab, line feed, form feed, carriage return do).
_BINARY_CONTROLS = frozenset(range(32)) - {9, 10, 12, 13}


def _is_text(head: bytes) -> bool:
    """UTF-8 text, or Windows-1252 / Latin-1 text as spreadsheets export it, without binary controls."""
    if not head or any(b in _BINARY_CONTROLS for b in head):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start >= len(head) - 3:
            return True
        try:
            head.decode("cp1252")
        except UnicodeDecodeError:
            return False
    return True


def media_type_of(head: bytes, *, filename: str) -> str | None:
    """The media type of a file from its first bytes, or None when it is none Pacta accepts."""
    kind = filetype.guess(head)
    if kind is not None:
        mime = str(kind.mime)
        return mime if mime in ALLOWED else None
    if _is_text(head):
        return "text/csv" if filename.lower().endswith(".csv") else "text/plain"
    return None
