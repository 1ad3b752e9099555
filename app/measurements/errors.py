"""Problems specific to measurements."""

from app.errors import Conflict, NotFound
from app.i18n import Text


class MeasurementNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(Text("measurements.not_found"))


class AlreadyDecided(Conflict):
    slug = "measurement-already-decided"


class NoEvidence(Conflict):
    slug = "measurement-without-evidence"
