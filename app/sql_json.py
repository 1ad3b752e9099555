"""JSON text built by PostgreSQL, byte for byte as pydantic's `model_dump_json` writes it.

Hot reads select one text column per item and send the bytes as they come, instead of decoding
each row into Python, validating it into a read model and encoding it again. PostgreSQL's own
json_build_object/json_agg put spaces after ':' and ',', and render timestamps with trimmed
fractions and a '+00:00' offset; pydantic writes compact JSON, six-digit microseconds (only when
there are any) and 'Z'. So documents are concatenated from `to_json` of each value, whose
scalar and array forms are already compact and escaped as pydantic escapes (RFC 8259, non-ASCII
kept as UTF-8), and timestamps are formatted here. The tests compare both encoders on varied rows.
"""

import string
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, literal_column
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.types import BigInteger, Text


def _const(raw: str) -> ColumnElement[str]:
    # Inlined, not bound: keys are code, and a bind parameter per key would bloat every statement.
    assert "'" not in raw
    return literal_column(f"'{raw}'", Text())


def value(expr: Any) -> ColumnElement[str]:
    """A text, number, boolean, uuid, date or array of those, as JSON text ('null' for NULL)."""
    return func.coalesce(func.to_json(expr).cast(Text()), _const("null"))


def timestamp(expr: Any) -> ColumnElement[str]:
    """A timestamptz as pydantic writes an aware UTC datetime: 2026-03-15T10:00:00Z, or
    2026-03-15T10:00:00.120000Z when it has a fraction of a second."""
    utc = func.timezone(_const("UTC"), expr)
    # Seconds and microseconds together (59.5 s reads 59500000).
    micros = func.date_part(_const("microseconds"), expr).cast(BigInteger())
    fraction = case(
        (micros % 1000000 == 0, _const("")),
        else_=func.concat(_const("."), func.to_char(utc, _const("US"))),
    )
    text = func.concat(_const('"'), func.to_char(utc, _const('YYYY-MM-DD"T"HH24:MI:SS')), fraction, _const('Z"'))
    return case((expr.is_(None), _const("null")), else_=text)


def raw(expr: Any) -> ColumnElement[str]:
    """An expression that already is JSON text."""
    return func.coalesce(expr, _const("null"))


def obj(fields: Sequence[tuple[str, ColumnElement[str]]]) -> ColumnElement[str]:
    """A JSON object with these keys in this order (the read model's field order)."""
    parts: list[Any] = []
    for i, (key, json_text) in enumerate(fields):
        parts.append(_const(("{" if i == 0 else ",") + f'"{key}":'))
        parts.append(json_text)
    parts.append(_const("}"))
    return func.concat(*parts)


def timestamp_micros(expr: Any) -> ColumnElement[str]:
    """A timestamptz as app.canonical.rfc3339 spells it: always six fraction digits and 'Z'."""
    utc = func.timezone(_const("UTC"), expr)
    text = func.concat(_const('"'), func.to_char(utc, _const('YYYY-MM-DD"T"HH24:MI:SS.US"Z"')), _const('"'))
    return case((expr.is_(None), _const("null")), else_=text)


def hex_bytes(expr: Any) -> ColumnElement[str]:
    """A bytea as a JSON string of lowercase hex (bytes.hex())."""
    return case(
        (expr.is_(None), _const("null")), else_=func.concat(_const('"'), func.encode(expr, _const("hex")), _const('"'))
    )


def array(documents: ColumnElement[str], order_by: Any) -> ColumnElement[str]:
    """JSON text documents aggregated into a JSON array's text ('[]' when there are none)."""
    return func.concat(
        _const("["),
        func.coalesce(func.string_agg(documents, aggregate_order_by(_const(","), order_by)), _const("")),
        _const("]"),
    )


def formatted(template: str, values: Mapping[str, ColumnElement[str]]) -> ColumnElement[str]:
    """SQL text that reads as `template.format(**values)` does (app.i18n.translate): each
    `{name}` replaced by the text of its value, a name with no value kept as `{name}`. The
    catalogue's words travel as bound values (texts for people may hold any character)."""
    parts: list[Any] = []
    for literal_text, name, spec, conversion in string.Formatter().parse(template):
        if literal_text:
            parts.append(literal(literal_text, Text()))
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(f"placeholder {{{name}}} with a format spec or conversion in {template!r}")
        parts.append(values[name] if name in values else literal("{" + name + "}", Text()))
    if not parts:
        return literal("", Text())
    return func.concat(*parts)


def fact_text(document: Any, name: str) -> ColumnElement[str]:
    """A fact of a jsonb document as Python's str() writes the value json.loads gives for it, with
    None as '—' (app.compliance.rules.Rule.detail): strings as they are, numbers as stored
    (trim_scale'd numerics and integers read the same), booleans as True/False."""
    item = document.op("->")(literal_column(f"'{name}'", Text()))
    kind = func.jsonb_typeof(item)
    return case(
        (kind == _const("string"), document.op("->>")(literal_column(f"'{name}'", Text()))),
        (kind == _const("null"), _const("—")),
        (
            kind == _const("boolean"),
            case((item == literal_column("'true'::jsonb"), _const("True")), else_=_const("False")),
        ),
        (kind.is_(None), literal("{" + name + "}", Text())),
        else_=item.cast(Text()),
    )
