"""Texts for people in Spanish (Mexico) first and English, looked up by key in the message
catalogues (`messages/es.po`, `messages/en.po`, gettext files read at runtime: no compile step),
and the one place that decides a request's language.

Code names a text with `Text("key", name=value)`; it is written in a language only when the
response is, so a text raised deep in a service is still answered in the caller's language.
"""

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal

from babel.messages.pofile import read_po
from fastapi import Depends, Query, Request

Language = Literal["es", "en"]
LANGUAGES: tuple[Language, ...] = ("es", "en")
# What Content-Language says: the Spanish is Mexico's, the English (and its number formats) the US's.
CONTENT_LANGUAGE: dict[str, str] = {"es": "es-MX", "en": "en-US"}
BABEL_LOCALE: dict[str, str] = {"es": "es_MX", "en": "en_US"}


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every message of one language, by key."""
    source = resources.files("app.i18n").joinpath("messages", f"{lang}.po")
    with source.open("rb") as file:
        po = read_po(file)
    return {str(m.id): str(m.string) for m in po if m.id and m.string}


class _Missing(dict[str, Any]):
    """A placeholder the caller did not give stays visible instead of failing the response."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def translate(lang: str, key: str, params: Mapping[str, Any] | None = None) -> str:
    """The text of `key` in `lang`, its `{placeholders}` filled in. An unknown key reads as itself
    (a test makes sure every key used in code is in both catalogues)."""
    text = catalogue(lang if lang in LANGUAGES else LANGUAGES[0]).get(key, key)
    if not params:
        return text
    values = _Missing({k: v.render(lang) if isinstance(v, Text) else v for k, v in params.items()})
    return string.Formatter().vformat(text, (), values)


@dataclass(frozen=True, slots=True, init=False)
class Text:
    """A text for people, not yet written in a language: a catalogue key and its values."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __init__(self, key: str, **params: Any) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "params", params)

    def render(self, lang: str) -> str:
        return translate(lang, self.key, self.params)

    def __str__(self) -> str:
        # Logs and tracebacks are read by the operators, in English.
        return self.render("en")


class TextError(ValueError):
    """A validator's refusal whose message is a catalogue text (pydantic keeps it in ctx.error)."""

    def __init__(self, text: Text) -> None:
        super().__init__(str(text))
        self.text = text


def negotiate(accept_language: str | None, default: str) -> Language:
    """The best of our languages for an Accept-Language header (RFC 9110 §12.5.4): es, es-MX and
    es-419 all read Spanish, any en-* English; q-values order them, q=0 refuses; `*` or nothing we
    speak gives the default."""
    fallback: Language = "en" if default == "en" else "es"
    choices: list[tuple[float, int, Language]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, rest = item.strip().partition(";")
        quality = 1.0
        for parameter in rest.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        chosen: Language | None = (
            fallback if primary == "*" else "es" if primary == "es" else "en" if primary == "en" else None
        )
        if chosen is not None and quality > 0:
            choices.append((-quality, position, chosen))
    return min(choices)[2] if choices else fallback


def request_language(request: Request) -> Language:
    """The language of this API response, from Accept-Language (PACTA_DEFAULT_LANGUAGE otherwise).
    Remembered on the request so the response says which it is (Content-Language, Vary)."""
    state = request.scope.setdefault("state", {})
    lang: Language | None = state.get("language")
    if lang is None:
        default = getattr(request.app.state.settings, "default_language", "es")
        lang = negotiate(request.headers.get("accept-language"), default)
        state["language"] = lang
    return lang


async def page_language(
    request: Request, lang: Annotated[str | None, Query(max_length=10, include_in_schema=False)] = None
) -> Language:
    """A page's language: `?lang=es|en` (a link keeps it), else as for the API."""
    wanted = (lang or "").strip().lower()
    if wanted in LANGUAGES:
        request.scope.setdefault("state", {})["language"] = wanted
        return "en" if wanted == "en" else "es"
    return request_language(request)


async def request_language_dependency(request: Request) -> Language:
    """request_language as a dependency: async, so FastAPI calls it in place (a plain function
    dependency runs in a worker thread, a hop that costs more than the function)."""
    return request_language(request)


LanguageDep = Annotated[Language, Depends(request_language_dependency)]
PageLanguageDep = Annotated[Language, Depends(page_language)]
