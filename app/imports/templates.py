"""Import templates: each kind's columns, with one worked example row that imports as it is.

The example is a real pair of sister cities (Guadalajara, Jalisco, and Downey, California, since
1960; /work/shared/data's list). The agreements template imports for any municipality; the
targets template names the agreement by the same folio, so importing both in turn works.
"""

import csv
import io
from datetime import date
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]

from app.imports.columns import LAYOUTS, Type
from app.imports.schemas import ImportKind
from app.models.agreements import CounterpartKind, Instrument
from app.models.results import Indicator, Measure

EXAMPLE_REF = "GDL-DOWNEY-1960"

EXAMPLES: dict[ImportKind, dict[str, Any]] = {
    ImportKind.agreements: {
        "external_ref": EXAMPLE_REF,
        "title": "Acuerdo de hermanamiento entre Guadalajara, Jalisco, y Downey, California",
        "instrument": "sister_city",
        "summary": "Hermanamiento para el intercambio cultural, educativo y económico entre ambas ciudades.",
        "subject_areas": "culture; education; economic_development",
        "counterpart_name": "City of Downey",
        "counterpart_kind": "foreign_government_body",
        "counterpart_country": "US",
        "counterpart_region": "California",
        "participant_org_ids": None,
        "languages": "es; en",
        "has_dispute_settlement_clause": False,
        "signed_on": date(1960, 8, 26),
        "signed_place": "Downey, California",
        "entry_into_force_on": date(1960, 8, 26),
        "expires_on": None,
        "suspended_on": None,
        "terminated_on": None,
        "termination_reason": None,
        "withdrawn_on": None,
    },
    ImportKind.targets: {
        "agreement_external_ref": EXAMPLE_REF,
        "title": "Intercambios técnicos entre los gobiernos de Guadalajara y Downey",
        "indicator": "technical_exchanges",
        "measure": "count",
        "unit": None,
        "ascending": True,
        "description": "Visitas y talleres de servidores públicos de ambas ciudades.",
        "baseline_value": 0,
        "baseline_on": date(2025, 1, 1),
        "baseline_comment": "Sin intercambios registrados antes de 2025.",
        "responsible_org_id": None,
        "milestone_6m": 2,
        "milestone_12m": 4,
        "milestone_24m": 8,
    },
}

# Columns whose values come from a list: the XLSX offers them as a drop-down.
CHOICES: dict[str, list[str]] = {
    "instrument": [i.value for i in Instrument],
    "counterpart_kind": [k.value for k in CounterpartKind],
    "indicator": [i.value for i in Indicator],
    "measure": [m.value for m in Measure],
    "has_dispute_settlement_clause": ["true", "false"],
    "ascending": ["true", "false"],
}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def template_csv(kind: ImportKind, *, bom: bool = True) -> bytes:
    """UTF-8, by default with a byte-order mark, so Excel on Windows reads "Querétaro" as written."""
    columns = LAYOUTS[kind]
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    writer.writerow([_text(EXAMPLES[kind].get(c.name)) for c in columns])
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def template_xlsx(kind: ImportKind) -> bytes:
    columns = LAYOUTS[kind]
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = workbook.add_worksheet(kind.value)
    bold = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    example = EXAMPLES[kind]
    for position, column in enumerate(columns):
        sheet.write_string(0, position, column.name, bold)
        value = example.get(column.name)
        if value is None:
            pass
        elif isinstance(value, date):
            sheet.write_datetime(1, position, value, day)
        elif isinstance(value, bool):
            sheet.write_boolean(1, position, value)
        elif isinstance(value, int | float):
            sheet.write_number(1, position, value)
        else:
            sheet.write_string(1, position, str(value))
        width = max(len(column.name), min(len(_text(value)), 60)) + 2
        sheet.set_column(position, position, width, day if column.type is Type.date else None)
        if column.name in CHOICES:
            sheet.data_validation(1, position, 50_000, position, {"validate": "list", "source": CHOICES[column.name]})
    sheet.freeze_panes(1, 0)
    workbook.close()
    return out.getvalue()
