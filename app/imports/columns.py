"""The columns of each kind of import, and a row's cells read into the API's fields.

Layout (the templates show it): one column per field, snake_case like the API.
- Lists (`subject_areas`, `languages`, `participant_org_ids`) are one cell, values separated
  by `;` (`culture; education`).
- Counterparts are flattened: `counterpart_name`, `counterpart_kind`, `counterpart_country`,
  `counterpart_region` for the first, `counterpart_2_name`... for more (up to 50).
- A target's baseline is `baseline_value`, `baseline_on`, `baseline_comment`; its milestones are
  one column per month count: `milestone_6m`, `milestone_12m`, `milestone_24m` (any
  `milestone_<months>m`), the cell holding the target value; a blank cell means no milestone at
  that month; for a qualitative target any mark (`x`, `sí`) sets a milestone without a value.
  Without any milestone column (or with all of a row's blank) the API's default 6/12/24 applies.
- Dates are date cells or text `YYYY-MM-DD` (or `DD/MM/YYYY`, as Mexican Excel writes them).
  Yes/no cells take `true/false`, `sí/no`, `yes/no`, `1/0`.
- Columns not in the file are left as they are on an update (and take the API's defaults on a
  create); a blank cell clears the field. An unknown column is an error, so a misspelt header
  never drops a column's data silently.
"""

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from app.i18n import Text
from app.imports.reading import Cell
from app.imports.schemas import ImportKind


class Type(Enum):
    text = "text"
    date = "date"
    boolean = "boolean"
    list = "list"
    number = "number"
    milestone = "milestone"  # read as text: a number, or for a qualitative target any mark


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: Type = Type.text
    required: bool = False


AGREEMENT_COLUMNS = (
    Column("external_ref", required=True),
    Column("title", required=True),
    Column("instrument", required=True),
    Column("summary"),
    Column("subject_areas", Type.list),
    Column("counterpart_name", required=True),
    Column("counterpart_kind", required=True),
    Column("counterpart_country", required=True),
    Column("counterpart_region"),
    Column("participant_org_ids", Type.list),
    Column("languages", Type.list),
    Column("has_dispute_settlement_clause", Type.boolean),
    Column("signed_on", Type.date),
    Column("signed_place"),
    Column("entry_into_force_on", Type.date),
    Column("expires_on", Type.date),
    Column("suspended_on", Type.date),
    Column("terminated_on", Type.date),
    Column("termination_reason"),
    Column("withdrawn_on", Type.date),
)
COUNTERPART_PARTS = ("name", "kind", "country", "region")
MAX_COUNTERPARTS = 50
_MORE_COUNTERPARTS = re.compile(r"^counterpart_(\d{1,2})_(name|kind|country|region)$")

TARGET_COLUMNS = (
    Column("agreement_external_ref", required=True),
    Column("title", required=True),
    Column("indicator", required=True),
    Column("measure", required=True),
    Column("unit"),
    Column("ascending", Type.boolean),
    Column("description"),
    Column("baseline_value", Type.number),
    Column("baseline_on", Type.date),
    Column("baseline_comment"),
    Column("responsible_org_id"),
    Column("milestone_6m", Type.milestone),
    Column("milestone_12m", Type.milestone),
    Column("milestone_24m", Type.milestone),
)
_MILESTONE = re.compile(r"^milestone_(\d{1,3})m$")
BASELINE_PARTS = {"baseline_value": "value", "baseline_on": "on", "baseline_comment": "comment"}

LAYOUTS = {ImportKind.agreements: AGREEMENT_COLUMNS, ImportKind.targets: TARGET_COLUMNS}
KEY_COLUMN = {ImportKind.agreements: "external_ref", ImportKind.targets: "agreement_external_ref"}


def normalized(name: str) -> str:
    return "_".join(name.strip().lower().split())


@dataclass(slots=True)
class Layout:
    """A file's header read against its kind: each position's column (None: unknown)."""

    kind: ImportKind
    columns: list[Column | None]
    names: list[str]
    # counterpart number (1 = the unnumbered first) -> {part: position}
    counterparts: dict[int, dict[str, int]] = field(default_factory=dict)
    # months -> position, in the file's order
    milestones: dict[int, int] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.names

    def counterpart_column(self, number: int, part: str) -> str:
        return f"counterpart_{part}" if number == 1 else f"counterpart_{number}_{part}"


@dataclass(frozen=True, slots=True)
class HeaderIssue:
    column: str | None
    msg: Text


def read_header(kind: ImportKind, header: Sequence[str]) -> tuple[Layout, list[HeaderIssue]]:
    known = {c.name: c for c in LAYOUTS[kind]}
    layout = Layout(kind=kind, columns=[], names=[])
    issues: list[HeaderIssue] = []
    for position, raw in enumerate(header):
        name = normalized(raw)
        column = known.get(name)
        if column is None and kind is ImportKind.agreements and (match := _MORE_COUNTERPARTS.match(name)):
            number = int(match.group(1))
            if 2 <= number <= MAX_COUNTERPARTS:
                column = Column(name, required=False)
        if column is None and kind is ImportKind.targets and (match := _MILESTONE.match(name)):
            months = int(match.group(1))
            if 1 <= months <= 600:
                column = Column(name, Type.milestone)
        if not name:
            issues.append(HeaderIssue(None, Text("imports.blank_header", position=position + 1)))
        elif name in layout.names:
            issues.append(HeaderIssue(raw, Text("imports.duplicate_column", column=raw)))
        elif column is None:
            issues.append(HeaderIssue(raw, Text("imports.unknown_column", column=raw)))
        layout.columns.append(column)
        layout.names.append(name)
        if column is None:
            continue
        if kind is ImportKind.agreements and name.startswith("counterpart_"):
            match = _MORE_COUNTERPARTS.match(name)
            number, part = (int(match.group(1)), match.group(2)) if match else (1, name.removeprefix("counterpart_"))
            layout.counterparts.setdefault(number, {})[part] = position
        if kind is ImportKind.targets and (match := _MILESTONE.match(name)):
            layout.milestones[int(match.group(1))] = position
    for column in LAYOUTS[kind]:
        if column.required and column.name not in layout.names:
            issues.append(HeaderIssue(column.name, Text("imports.missing_column", column=column.name)))
    return layout, issues


class CellError(Exception):
    def __init__(self, text: Text) -> None:
        super().__init__(str(text))
        self.text = text


_TRUE = {"true", "verdadero", "sí", "si", "yes", "y", "s", "1", "x"}
_FALSE = {"false", "falso", "no", "n", "0"}
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")


def text_of(cell: Cell) -> str | None:
    if cell is None:
        return None
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.date().isoformat() if cell.time() == datetime.min.time() else cell.isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    value = str(cell).strip()
    return value or None


def date_of(cell: Cell) -> date | None:
    if cell is None:
        return None
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    value = text_of(cell)
    if value is None:
        return None
    try:
        if match := _DMY.match(value):
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CellError(Text("imports.bad_date", value=value)) from exc


def boolean_of(cell: Cell) -> bool | None:
    if cell is None or isinstance(cell, bool):
        return cell
    value = (text_of(cell) or "").lower()
    if not value:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise CellError(Text("imports.bad_boolean", value=value))


def number_of(cell: Cell) -> float | None:
    if cell is None:
        return None
    if isinstance(cell, bool):
        raise CellError(Text("imports.bad_number", value=text_of(cell)))
    if isinstance(cell, int | float):
        return float(cell)
    value = (text_of(cell) or "").replace(" ", "")
    if not value:
        return None
    if _THOUSANDS.match(value):  # es-MX writes thousands with commas: 1,250.5
        value = value.replace(",", "")
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise CellError(Text("imports.bad_number", value=value)) from exc
    if not number.is_finite():
        raise CellError(Text("imports.bad_number", value=value))
    return float(number)


def list_of(cell: Cell) -> list[str]:
    value = text_of(cell)
    if value is None:
        return []
    return [part.strip() for part in value.replace("|", ";").split(";") if part.strip()]


def uuid_of(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise CellError(Text("imports.bad_id", value=value)) from exc


@dataclass(slots=True)
class RowFields:
    """A row's fields as the API names them (only columns the file has), the cell errors, and
    where each field's values came from, to name the column of an error found later."""

    key: tuple[str, ...] | None
    fields: dict[str, Any]
    errors: list[tuple[str | None, Text]]
    # counterparts[i] came from this counterpart number; milestones[i] from this column
    counterpart_numbers: list[int] = field(default_factory=list)
    milestone_columns: list[str] = field(default_factory=list)
    # the key column left blank (the title of a target is reported as the schema's "missing")
    missing_key: str | None = None


def _cell(row: Sequence[Cell], position: int, column: Column) -> Any:
    cell = row[position]
    if column.type is Type.date:
        return date_of(cell)
    if column.type is Type.boolean:
        return boolean_of(cell)
    if column.type is Type.number:
        return number_of(cell)
    if column.type is Type.list:
        return list_of(cell)
    return text_of(cell)


def read_row(layout: Layout, row: Sequence[Cell]) -> RowFields:
    values: dict[str, Any] = {}
    errors: list[tuple[str | None, Text]] = []
    if len(row) > len(layout.columns):
        errors.append((None, Text("imports.value_without_header", value=text_of(row[len(layout.columns)]))))
    for position, column in enumerate(layout.columns):
        if column is None:
            continue
        try:
            values[column.name] = _cell(row, position, column)
        except CellError as exc:
            errors.append((column.name, exc.text))
    if layout.kind is ImportKind.agreements:
        result = _agreement(layout, values, errors)
    else:
        result = _target(layout, values, errors)
    return result


def _agreement(layout: Layout, values: dict[str, Any], errors: list[tuple[str | None, Text]]) -> RowFields:
    fields: dict[str, Any] = {}
    for name, value in values.items():
        if name.startswith("counterpart_"):
            continue
        if name == "participant_org_ids":
            ids = []
            for part in value:
                try:
                    ids.append(uuid_of(part))
                except CellError as exc:
                    errors.append((name, exc.text))
            fields[name] = ids
        elif name == "languages":
            fields[name] = [v.lower() for v in value]
        else:
            fields[name] = value
    counterparts: list[dict[str, Any]] = []
    numbers: list[int] = []
    if layout.counterparts:
        for number in sorted(layout.counterparts):
            parts = {p: values.get(layout.counterpart_column(number, p)) for p in COUNTERPART_PARTS}
            if all(v is None for v in parts.values()):
                continue
            if parts["country"] is not None:
                parts["country"] = str(parts["country"]).upper()
            counterparts.append({k: v for k, v in parts.items() if k in layout.counterparts[number]})
            numbers.append(number)
        fields["counterparts"] = counterparts
    ref = fields.get("external_ref")
    return RowFields(
        key=None if ref is None else (ref,),
        fields=fields,
        errors=errors,
        counterpart_numbers=numbers,
        missing_key="external_ref" if ref is None else None,
    )


QUALITATIVE = "qualitative"


def _target(layout: Layout, values: dict[str, Any], errors: list[tuple[str | None, Text]]) -> RowFields:
    fields: dict[str, Any] = {}
    baseline: dict[str, Any] = {}
    for name, value in values.items():
        if name in BASELINE_PARTS:
            baseline[BASELINE_PARTS[name]] = value
        elif name == "responsible_org_id":
            try:
                fields[name] = None if value is None else uuid_of(value)
            except CellError as exc:
                errors.append((name, exc.text))
        elif _MILESTONE.match(name) or name == "agreement_external_ref":
            continue
        elif name == "ascending":
            if value is not None:  # blank: the API's default (true)
                fields[name] = value
        else:
            fields[name] = value
    if baseline:
        fields["baseline"] = None if all(v is None for v in baseline.values()) else baseline
    milestones: list[dict[str, Any]] = []
    columns: list[str] = []
    qualitative = fields.get("measure") == QUALITATIVE
    for months, position in layout.milestones.items():
        name = layout.names[position]
        mark = values.get(name)
        if mark is None:
            continue
        try:
            # A qualitative target's milestone has no value: any mark ("x", "sí") sets it.
            target_value = None if qualitative else number_of(mark)
        except CellError as exc:
            errors.append((name, exc.text))
            continue
        milestones.append({"months": months, "target_value": target_value})
        columns.append(name)
    if layout.milestones:
        fields["milestones"] = milestones or None
    ref, title = values.get("agreement_external_ref"), fields.get("title")
    return RowFields(
        key=None if ref is None or title is None else (ref, title),
        fields=fields,
        errors=errors,
        milestone_columns=columns,
        missing_key="agreement_external_ref" if ref is None else None,
    )
