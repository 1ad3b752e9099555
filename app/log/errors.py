"""Problems specific to the transparency log."""

from app.errors import ServiceUnavailable


class LogUnavailable(ServiceUnavailable):
    slug = "log-signing-key-missing"
