"""Problems specific to legal reviews."""

from app.errors import NotFound
from app.i18n import Text


class LegalReviewNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(Text("legal_reviews.not_found"))
