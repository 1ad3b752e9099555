"""`pacta import`: the same import from the shell, with a progress bar and an exit code."""

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped]

from tests import conftest
from tests.db import drop_database
from tests.imports.sheets import TARGET_HEADER, agreement_row, csv_bytes, target_row, xlsx_bytes
from tests.test_cli import clean_env, run_cli

pytestmark = pytest.mark.slow

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def env() -> Iterator[dict[str, str]]:
    url = conftest.migrated_database("pacta_import_cli")
    try:
        yield clean_env(PACTA_DATABASE_URL=url)
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def org(env: dict[str, str]) -> str:
    name = f"Municipio de Querétaro {uuid.uuid4().hex[:6]}"
    result = run_cli("orgs", "create", "--name", name, "--kind", "municipality", "--inegi-code", "22014", env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\t")[0]


def test_import_prints_the_counts_and_a_second_run_changes_nothing(
    env: dict[str, str], org: str, tmp_path: Path
) -> None:
    path = tmp_path / "acuerdos.csv"
    path.write_bytes(csv_bytes([agreement_row("CLI-1"), agreement_row("CLI-2")], encoding="cp1252"))
    dry = run_cli("import", str(path), "--kind", "agreements", "--org", org, "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "2 rows read: 2 would be created, 0 would be updated, 0 unchanged (dry run" in dry.stdout
    first = run_cli("import", str(path), "--kind", "agreements", "--org", org, env=env)
    assert first.returncode == 0, first.stderr
    assert "2 rows read: 2 were created, 0 were updated, 0 unchanged" in first.stdout
    again = run_cli("import", str(path), "--kind", "agreements", "--org", org, env=env)
    assert "2 rows read: 0 were created, 0 were updated, 2 unchanged" in again.stdout
    targets = tmp_path / "metas.xlsx"
    targets.write_bytes(xlsx_bytes([target_row("CLI-1", "Empresas atendidas")], header=TARGET_HEADER))
    done = run_cli("import", str(targets), "--kind", "targets", "--org", org, env=env)
    assert done.returncode == 0, done.stderr
    assert "1 rows read: 1 were created" in done.stdout


def test_bad_rows_are_listed_and_the_exit_code_says_so(env: dict[str, str], org: str, tmp_path: Path) -> None:
    path = tmp_path / "malas.csv"
    rows = [agreement_row("BAD-1", signed_on="2019-02-30"), agreement_row("BAD-2", instrument="tratado")]
    path.write_bytes(csv_bytes(rows))
    result = run_cli("import", str(path), "--kind", "agreements", "--org", org, "--lang", "es", env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "row 2, signed_on: «2019-02-30» no es una fecha" in result.stderr
    assert "row 3, instrument:" in result.stderr
    assert "No se guardó nada" in result.stderr
    # Nothing was written: the good-looking run of the same folios still creates them.
    path.write_bytes(csv_bytes([agreement_row("BAD-1")]))
    fixed = run_cli("import", str(path), "--kind", "agreements", "--org", org, env=env)
    assert "1 were created" in fixed.stdout, fixed.stderr


def test_refusals_are_one_line(env: dict[str, str], org: str, tmp_path: Path) -> None:
    missing = run_cli("import", str(tmp_path / "no-such.csv"), "--kind", "agreements", "--org", org, env=env)
    assert missing.returncode == 2
    assert missing.stderr.startswith("pacta: cannot read")
    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes([agreement_row("X-1")]))
    unknown = run_cli("import", str(path), "--kind", "agreements", "--org", "Nadie", env=env)
    assert unknown.returncode == 3
    assert unknown.stderr.startswith("pacta: ")
    path.write_bytes(b"PK\x03\x04not a workbook")
    broken = run_cli("import", str(path), "--kind", "agreements", "--org", org, env=env)
    assert broken.returncode == 3
    assert "could not be read" in broken.stderr


def test_the_progress_bar_is_drawn_on_a_terminal(env: dict[str, str], org: str, tmp_path: Path) -> None:
    path = tmp_path / "muchas.csv"
    path.write_bytes(csv_bytes([agreement_row(f"BAR-{i}") for i in range(30)]))
    result = run_cli("import", str(path), "--kind", "agreements", "--org", org, env={**env, "FORCE_COLOR": "1"})
    assert result.returncode == 0, result.stderr
    assert "importing agreements" in result.stderr
    done, total = map(int, re.findall(r"(\d+)/(\d+)", ANSI.sub("", result.stderr))[-1])
    assert done == total == 30


@pytest.mark.parametrize("far", ["XFD50001", "XFD1048576", "GR1"])
def test_a_sparse_workbook_past_the_bounds_is_refused_not_fatal(
    env: dict[str, str], org: str, tmp_path: Path, far: str
) -> None:
    # calamine would size a grid from the far cell (26 GB for XFD50001) and abort the process.
    workbook = Workbook()
    workbook.active["A1"] = "external_ref"
    workbook.active[far] = "x"
    path = tmp_path / "dispersa.xlsx"
    workbook.save(path)
    result = run_cli("import", str(path), "--kind", "agreements", "--org", org, env=env)
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith("pacta: ")
    assert "at most" in result.stderr


def test_a_real_import_past_the_write_cap_is_refused_but_a_dry_run_reads_it(
    env: dict[str, str], org: str, tmp_path: Path
) -> None:
    path = tmp_path / "grande.csv"
    path.write_bytes(csv_bytes([agreement_row(f"CAP-{i}") for i in range(3)]))
    capped = {**env, "PACTA_IMPORT_MAX_ROWS": "2"}
    refused = run_cli("import", str(path), "--kind", "agreements", "--org", org, env=capped)
    assert refused.returncode == 3, refused.stderr
    assert refused.stderr.startswith("pacta: ")
    assert "split" in refused.stderr
    dry = run_cli("import", str(path), "--kind", "agreements", "--org", org, "--dry-run", env=capped)
    assert dry.returncode == 0, dry.stderr
    assert "3 rows read: 3 would be created" in dry.stdout
