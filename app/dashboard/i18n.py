"""The public pages' two languages: texts and code labels come from the message catalogues
(`dashboard.<key>`, `label.<kind>.<code>`), numbers, money and dates are written by Babel as
Mexico (es_MX) and the United States (en_US) write them."""

import gettext
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import pycountry
from babel import numbers
from babel.dates import format_date

from app import catalogs
from app.i18n import BABEL_LOCALE, LANGUAGES, Language, Text, catalogue

DEFAULT_LANGUAGE: Language = LANGUAGES[0]
# Money with its ISO code after it, so "$" never leaves MXN and USD in doubt ($1,234.50 MXN); where
# the locale has no symbol but the code itself (USD in es_MX), the code is written once.
CURRENCY_PATTERN = "¤#,##0.00\u00a0¤¤"
CODE_ONLY_PATTERN = "#,##0.00\u00a0¤¤"


@cache
def _country_names(lang: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang], fallback=True)


@dataclass(frozen=True, slots=True)
class Locale:
    """What templates read texts and numbers through: `t["key"]`, `t.label(kind, code)`, `t.num(x)`."""

    lang: str

    @property
    def babel(self) -> str:
        return BABEL_LOCALE[self.lang]

    def __getitem__(self, key: str) -> str:
        return Text(f"dashboard.{key}").render(self.lang)

    def text(self, key: str, **params: Any) -> str:
        """`t["key"]` with values in its sentence (numbers already written with `t.num`)."""
        return Text(f"dashboard.{key}", **params).render(self.lang)

    def label(self, kind: str, code: str | None) -> str:
        """A code's name for people; a code the catalogue does not know is shown as it is (data)."""
        if code is None:
            return "—"
        return catalogue(self.lang).get(f"label.{kind}.{code}", str(code))

    def country(self, code: str) -> str:
        found = pycountry.countries.get(alpha_2=code)
        if found is None:
            return code
        return _country_names(self.lang).gettext(str(found.name))

    def num(self, value: float | int | None, decimals: int = 2) -> str:
        """1,234.5 in both (Mexico groups like the US); no trailing zeros."""
        if value is None:
            return "—"
        return numbers.format_decimal(round(value, decimals), locale=self.babel, decimal_quantization=False)

    def pct(self, fraction: float | None, decimals: int = 1) -> str:
        """A share as a percentage, as the locale writes it (98.3 % / 98.3%)."""
        if fraction is None:
            return "—"
        return numbers.format_percent(round(fraction, decimals + 2), locale=self.babel, decimal_quantization=False)

    def amount(self, value: float | None, unit: str | None) -> str:
        """A value in its unit: money with its symbol and code ($1,234.50 MXN), others number and unit."""
        if value is None or not unit:
            return self.num(value)
        if catalogs.is_currency(unit):
            symbol = numbers.get_currency_symbol(unit, locale=self.babel)
            pattern = CODE_ONLY_PATTERN if symbol == unit else CURRENCY_PATTERN
            return numbers.format_currency(value, unit, pattern, locale=self.babel, currency_digits=True)
        return f"{self.num(value)} {unit}"

    def date(self, value: date | None) -> str:
        """1 de enero de 2023 / January 1, 2023."""
        if value is None:
            return "—"
        return format_date(value, format="long", locale=self.babel)

    def size(self, size_bytes: int) -> str:
        if size_bytes < 1024:
            return f"{self.num(size_bytes)} B"
        if size_bytes < 1024 * 1024:
            return f"{self.num(size_bytes / 1024, 1)} KB"
        return f"{self.num(size_bytes / (1024 * 1024), 1)} MB"
