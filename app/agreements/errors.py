"""Problems specific to agreements."""

from app.errors import Conflict, NotFound


class AgreementNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No agreement with that id (or not one you may see).")


class DuplicateExternalRef(Conflict):
    slug = "duplicate-external-ref"


class AgreementNotDeletable(Conflict):
    slug = "agreement-not-deletable"
