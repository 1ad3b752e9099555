"""One-page PDF documents for the demo's evidence, written without any dependency.

The demo needs a few dozen small, valid PDFs whose bytes are the same on every run (evidence is
content-addressed, and loading twice must change nothing). A PDF of one page of text in a
standard font is a handful of objects and a cross-reference table, so a PDF library would be a
dependency for forty lines; library writers also stamp creation dates, which breaks determinism.
Text uses Helvetica with WinAnsiEncoding, which covers Spanish (á, é, ñ, ¿, ¡...).
"""

import textwrap

DEMO_NOTICE = "Documento de demostración (demo, datos sintéticos): no es un documento oficial."

_WIDTH, _HEIGHT, _MARGIN = 612, 792, 72
_LEADING = 16
_WRAP = 88


def _literal(text: str) -> bytes:
    """A PDF literal string in WinAnsi (cp1252); characters outside it become '?'."""
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _content(title: str, lines: list[str]) -> bytes:
    wrapped = [piece for line in lines for piece in (textwrap.wrap(line, _WRAP) or [""])]
    ops = [b"BT", b"/F2 14 Tf", f"{_LEADING} TL".encode(), f"{_MARGIN} {_HEIGHT - _MARGIN} Td".encode()]
    ops += [_literal(title) + b" Tj", b"T*", b"/F1 11 Tf", b"T*"]
    ops += [_literal(line) + b" Tj T*" for line in [DEMO_NOTICE, "", *wrapped]]
    ops.append(b"ET")
    return b"\n".join(ops)


def demo_pdf(title: str, lines: list[str]) -> bytes:
    """A one-page PDF: the title, the demo notice in Spanish, then the lines (wrapped)."""
    stream = _content(title, lines)
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> "
        b"/Contents 6 0 R >>" % (_WIDTH, _HEIGHT),
        font % b"Helvetica",
        font % b"Helvetica-Bold",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    # The second line's high bytes tell transfer tools the file is binary (PDF 32000-1, 7.5.2).
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
