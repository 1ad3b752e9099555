"""A badge's SVG: two boxes (the site's name and the message), sized from the text, with a
<title> and an aria-label so a screen reader reads what the picture says. Dark text on light
colours and white on dark ones keep a contrast of at least 4.5:1."""

from functools import cache

import jinja2

# Verdana 11 px averages a little over 6 px a character; a little wide beats cut-off text.
CHAR_WIDTH = 6.4
PADDING = 12
# White text on these backgrounds is above 4.5:1.
COLOURS = {"good": "#1a6b35", "mixed": "#8a4b00", "bad": "#a12626", "neutral": "#3d4b5c"}


@cache
def _template() -> jinja2.Template:
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{{ width }}" height="20" role="img" '
        'aria-label="{{ title }}" lang="{{ lang }}">'
        "<title>{{ title }}</title>"
        '<rect width="{{ left }}" height="20" fill="#24292f"/>'
        '<rect x="{{ left }}" width="{{ right }}" height="20" fill="{{ colour }}"/>'
        '<g fill="#ffffff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" aria-hidden="true">'
        '<text x="{{ left / 2 }}" y="14" text-anchor="middle">{{ label }}</text>'
        '<text x="{{ left + right / 2 }}" y="14" text-anchor="middle">{{ message }}</text>'
        "</g></svg>"
    )


def _width(text: str) -> int:
    return round(len(text) * CHAR_WIDTH) + PADDING


def badge_svg(*, label: str, message: str, title: str, tone: str, lang: str) -> bytes:
    left, right = _width(label), _width(message)
    return (
        _template()
        .render(
            width=left + right,
            left=left,
            right=right,
            label=label,
            message=message,
            title=title,
            colour=COLOURS[tone],
            lang=lang,
        )
        .encode("utf-8")
    )


def tone_of(share: float | None) -> str:
    if share is None:
        return "neutral"
    if share >= 0.75:
        return "good"
    return "mixed" if share >= 0.4 else "bad"
