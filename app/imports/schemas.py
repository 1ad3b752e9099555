"""API schemas of spreadsheet imports."""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from app.errors import Problem


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


class RowError(BaseModel):
    """One bad cell or row. `loc` is [row, column] (or [row]) for clients that read `loc`."""

    row: int = Field(description="The row as the spreadsheet numbers it: the header is row 1.")
    column: str | None = Field(description="The column's header, or null when the row as a whole is refused.")
    msg: str
    loc: list[str | int]
    type: str


class ImportProblem(Problem):
    """A refused import: every bad row of the file, none written."""

    errors: list[RowError] | None = None  # type: ignore[assignment]


def import_body() -> dict[str, Any]:
    """The multipart form the route reads itself (streamed), as OpenAPI documents it."""
    return {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "title": "Body_import_rows",
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "string",
                            "contentMediaType": "application/octet-stream",
                            "title": "File",
                            "description": "CSV (UTF-8, with or without BOM, or Windows-1252) or XLSX; "
                            "the type is judged from the bytes. Columns as in the template.",
                        }
                    },
                    "required": ["file"],
                }
            }
        },
    }
