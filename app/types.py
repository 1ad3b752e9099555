"""Field types shared by the API schemas."""

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field


def _written_as_text(value: object) -> object:
    """Dates and instants are ISO 8601 strings, as the schema says; pydantic's lax mode would read
    a number as a Unix time, so a body the schema refuses would be accepted (and 0 become 1970)."""
    if isinstance(value, int | float):
        raise ValueError("write it as an ISO 8601 string, not a number")
    return value


def _utc_representable(moment: datetime) -> datetime:
    """Refuse instants that exist only in their own offset (e.g. 0001-01-01T00:00+14:00)."""
    try:
        moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("the instant is out of the supported range") from exc
    return moment


Instant = Annotated[AwareDatetime, BeforeValidator(_written_as_text), AfterValidator(_utc_representable)]


# Calendar days the registry records: from 1900 (the oldest agreements) to 2999. The bounds keep
# out date.min/date.max, which the database driver turns into -infinity/infinity.
Day = Annotated[date, BeforeValidator(_written_as_text), Field(ge=date(1900, 1, 1), le=date(2999, 12, 31))]
