"""Real-world catalogues: ISO 3166-1/-2, ISO 4217, ISO 639-1 (pycountry) and INEGI municipalities."""

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pycountry


@dataclass(frozen=True, slots=True)
class Municipality:
    inegi_code: str
    state_code: str
    subdivision: str
    state_name: str
    name: str
    seat_name: str
    population_2020: int


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("app.catalogs").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def mx_states() -> dict[str, str]:
    """INEGI state code -> ISO 3166-2 code."""
    return {row["inegi_state_code"]: row["iso_3166_2"] for row in _rows("mx_states.csv")}


@cache
def municipalities() -> dict[str, Municipality]:
    states = mx_states()
    return {
        row["inegi_code"]: Municipality(
            inegi_code=row["inegi_code"],
            state_code=row["inegi_state_code"],
            subdivision=states[row["inegi_state_code"]],
            state_name=row["state_name"],
            name=row["municipality_name"],
            seat_name=row["seat_name"],
            population_2020=int(row["population_2020"]),
        )
        for row in _rows("inegi_municipalities.csv")
    }


def municipality(inegi_code: str) -> Municipality | None:
    return municipalities().get(inegi_code)


def is_country(code: str) -> bool:
    return len(code) == 2 and code.isupper() and pycountry.countries.get(alpha_2=code) is not None


def is_subdivision(code: str, *, country: str | None = None) -> bool:
    found = pycountry.subdivisions.get(code=code)  # type: ignore[no-untyped-call]
    if found is None:
        return False
    return country is None or found.country_code == country


def subdivision_name(code: str | None) -> str | None:
    """An ISO 3166-2 code's name ("MX-JAL" -> "Jalisco"); an unknown code stands for itself."""
    found = None if code is None else pycountry.subdivisions.get(code=code)  # type: ignore[no-untyped-call]
    return code if found is None else str(found.name)


def is_currency(code: str) -> bool:
    return len(code) == 3 and code.isupper() and pycountry.currencies.get(alpha_3=code) is not None


def is_language(code: str) -> bool:
    return len(code) == 2 and code.islower() and pycountry.languages.get(alpha_2=code) is not None
