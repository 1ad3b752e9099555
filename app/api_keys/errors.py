"""Problems specific to API keys."""

from app.errors import NotFound


class ApiKeyNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No API key with that id in this organization.")
