"""Problems specific to API keys."""

from app.errors import NotFound
from app.i18n import Text


class ApiKeyNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(Text("api_keys.not_found"))
