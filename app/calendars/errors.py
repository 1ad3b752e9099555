"""Problems specific to calendar feeds."""

from app.errors import NotFound
from app.i18n import Text


class FeedNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(Text("calendars.feed_not_found"))
