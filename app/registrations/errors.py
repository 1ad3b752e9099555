"""Problems specific to registrations."""

from app.errors import NotFound
from app.i18n import Text


class RegistrationNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(Text("registrations.not_found"))
