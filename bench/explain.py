"""EXPLAIN (ANALYZE, BUFFERS) of the list endpoint's own SQL, built by list_statement."""

from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable


class Explain(Executable, ClauseElement):
    """`EXPLAIN (ANALYZE, BUFFERS) <statement>`, its parameters bound exactly as the service binds them."""

    inherit_cache = False

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement


@compiles(Explain)
def _compile_explain(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN (ANALYZE, BUFFERS) " + compiler.process(element.statement, **kw)


async def explain(engine: AsyncEngine, statement: Select[Any]) -> list[str]:
    async with engine.connect() as conn:
        # Run twice: the first run warms the cache and the prepared statement, the second is shown.
        await conn.execute(Explain(statement))
        result = await conn.execute(Explain(statement))
        return [str(row[0]) for row in result]


def execution_ms(plan: list[str]) -> float:
    for line in plan:
        if line.startswith("Execution Time:"):
            return float(line.split()[2])
    return float("nan")


def index_names(plan: list[str]) -> list[str]:
    """The indexes a plan reads, in order of appearance."""
    names: list[str] = []
    for line in plan:
        for marker in (" using ", " on "):
            if ("Index" in line and "Scan" in line) and marker in line:
                name = line.split(marker, 1)[1].split()[0]
                if name not in names and (marker == " using " or "Bitmap Index Scan" in line):
                    names.append(name)
    return names
