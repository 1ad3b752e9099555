"""Problems specific to activities."""

from app.errors import Conflict, NotFound
from app.i18n import Text


class ActivityNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(Text("activities.not_found"))


class ActivityNotDeletable(Conflict):
    slug = "activity-not-deletable"
