"""Print the OpenAPI document as `make openapi` commits it (sorted keys, stable layout)."""

import json
import sys

from pydantic import SecretStr

from app.config import Settings
from app.main import create_app


def render() -> str:
    # Settings() with defaults: the document must not depend on the caller's environment.
    app = create_app(Settings.model_construct(database_url=SecretStr("postgresql://unused.invalid/pacta")))
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
