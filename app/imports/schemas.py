"""API schemas of spreadsheet imports."""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from app.http.multipart import streamed_form_body


class ImportKind(StrEnum):
    agreements = "agreements"
    targets = "targets"


class ImportResult(BaseModel):
    """What an import did (or, with dry_run, would do): every data row counted once."""

    kind: ImportKind
    dry_run: bool
    rows: int = Field(description="Data rows read (blank rows skipped).")
    created: int
    updated: int
    unchanged: int = Field(description="Rows equal to what is stored: nothing written for them.")


def import_body() -> dict[str, Any]:
    """The multipart form the route reads itself (streamed), as OpenAPI documents it."""
    return streamed_form_body(
        "Body_import_rows",
        "CSV (UTF-8, with or without BOM, or Windows-1252) or XLSX; "
        "the type is judged from the bytes. Columns as in the template.",
    )
