"""Printing: progress lines stamped with elapsed time, and plain aligned tables."""

import time
from collections.abc import Sequence


class Log:
    """Progress lines, each stamped with the seconds since the bench started."""

    def __init__(self) -> None:
        self._t0 = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def __call__(self, message: str) -> None:
        print(f"[{self.elapsed():6.1f}s] {message}", flush=True)


def heading(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 96 - len(title)), flush=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Left-aligned first column, right-aligned figures."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        line = "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        print("  " + line)
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))
    print(flush=True)
