"""Problems specific to agreements."""

from app.errors import Conflict, NotFound
from app.i18n import Text


class AgreementNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(Text("agreements.not_found"))


class DuplicateExternalRef(Conflict):
    slug = "duplicate-external-ref"


class AgreementNotDeletable(Conflict):
    slug = "agreement-not-deletable"
