"""Problems specific to evidence."""

from app.errors import AppError, Conflict, NotFound
from app.i18n import Text


class RangeNotSatisfiable(AppError):
    status, slug = 416, "range-not-satisfiable"


class EvidenceNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(Text("evidence.not_found"))


class DuplicateEvidence(Conflict):
    slug = "duplicate-evidence"


class AlreadyReviewed(Conflict):
    slug = "evidence-already-reviewed"
