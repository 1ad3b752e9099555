"""Request headers the shared mechanisms read, declared once so each operation documents them."""

from typing import Annotated

from fastapi import Header


async def idempotency_key_header(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="Retry-safe POST: the same key and body replay the stored response for 24 h; "
            "the same key with another body is 422, while the first is still running 409.",
        ),
    ] = None,
) -> None:
    """Documents the header; app.idempotency.middleware acts on it."""


async def if_match_header(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="The ETag of the resource as last read. Required: missing is 428, stale is 412.",
        ),
    ] = None,
) -> None:
    """Documents the header; app.http.etag.require_if_match enforces it."""
