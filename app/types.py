"""Field types shared by the API schemas."""

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

from app.i18n import Text, TextError


def _utc_representable(moment: datetime) -> datetime:
    """Refuse instants that exist only in their own offset (e.g. 0001-01-01T00:00+14:00)."""
    try:
        moment.astimezone(UTC)
    except OverflowError as exc:
        raise TextError(Text("validation.instant_range")) from exc
    return moment


Instant = Annotated[AwareDatetime, AfterValidator(_utc_representable)]


# Calendar days the registry records: from 1900 (the oldest agreements) to 2999. The bounds keep
# out date.min/date.max, which the database driver turns into -infinity/infinity.
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2999, 12, 31))]
