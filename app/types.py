"""Field types shared by the API schemas."""

import re
from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

from app.i18n import Text, TextError

_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _written_as_text(value: object) -> object:
    """Dates and instants are ISO 8601 strings, as the schema says. Pydantic's lax mode reads a
    number, or a string of digits, as a Unix time: `0.5` or `20250101` would be taken for a day in
    1970 instead of being refused."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise TextError(Text("validation.iso_text"))
    return value


def _utc_representable(moment: datetime) -> datetime:
    """Refuse instants that exist only in their own offset (e.g. 0001-01-01T00:00+14:00)."""
    try:
        moment.astimezone(UTC)
    except OverflowError as exc:
        raise TextError(Text("validation.instant_range")) from exc
    return moment


Instant = Annotated[AwareDatetime, BeforeValidator(_written_as_text), AfterValidator(_utc_representable)]


# Calendar days the registry records: from 1900 (the oldest agreements) to 2999. The bounds keep
# out date.min/date.max, which the database driver turns into -infinity/infinity.
Day = Annotated[date, BeforeValidator(_written_as_text), Field(ge=date(1900, 1, 1), le=date(2999, 12, 31))]
