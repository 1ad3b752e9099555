"""Problems specific to organizations."""

from app.errors import Conflict, NotFound
from app.i18n import Text


class OrganizationNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(Text("organizations.not_found"))


class DuplicateOrganization(Conflict):
    slug = "duplicate-organization"


class OrganizationInUse(Conflict):
    slug = "organization-in-use"
