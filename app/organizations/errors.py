"""Problems specific to organizations."""

from app.errors import Conflict, NotFound


class OrganizationNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No organization with that id.")


class DuplicateOrganization(Conflict):
    slug = "duplicate-organization"


class OrganizationInUse(Conflict):
    slug = "organization-in-use"
