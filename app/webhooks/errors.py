"""Problems specific to webhooks."""

from app.errors import NotFound
from app.i18n import Text


class WebhookNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(Text("webhooks.not_found"))
