"""Problems specific to targets."""

from app.errors import Conflict, NotFound
from app.i18n import Text


class TargetNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(Text("targets.not_found"))


class TargetInUse(Conflict):
    slug = "target-in-use"
