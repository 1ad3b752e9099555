"""The standalone third-party verifier (verifier/pacta_verify.py) against the real server.

The server runs as a subprocess (uvicorn) on a database of its own; evidence is uploaded and
accepted over HTTP; the verifier is then run exactly as a third party would: a separate process
that knows the base URL, the log's public key and an evidence id, and nothing of Pacta's code.
"""

import ast
import asyncio
import base64
import hashlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.api_keys import service as key_service
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.log.signing import new_seed
from app.models import OrganizationKind, Role
from app.models.organizations import PLATFORM_ORG_ID
from app.organizations import service as org_service
from app.organizations.schemas import OrganizationCreate
from tests import conftest
from tests.db import drop_database
from tests.test_cli import ROOT, _free_port, clean_env

pytestmark = pytest.mark.slow

VERIFIER = ROOT / "verifier" / "pacta_verify.py"
SIGNED_TEXT = (
    "ACUERDO DE HERMANAMIENTO entre el Municipio de Guadalajara y la Ciudad de Kraków.\n"
    "Cláusula primera: «cooperación cultural y académica». \U0001f335\n"
).encode()


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def public_key_of(seed: str) -> str:
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed))
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


@dataclass(frozen=True, slots=True)
class Server:
    base: str
    public_key: str
    storage: Path
    editor: dict[str, str]
    contributor: dict[str, str]
    agreement_id: str
    accepted_id: str  # accepted: public, provable
    submitted_id: str  # still under review: not public


@dataclass(frozen=True, slots=True)
class Cast:
    municipality: uuid.UUID
    university: uuid.UUID
    editor: dict[str, str]
    contributor: dict[str, str]


async def make_cast(url: str) -> Cast:
    """Organizations and keys, made as `pacta orgs create` and `pacta keys create` make them."""
    engine = make_engine(url, pool_size=1)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            municipality = await org_service.create_organization(
                session,
                OrganizationCreate(
                    kind=OrganizationKind.municipality, name="Municipio de Guadalajara", inegi_code="14039"
                ),
                actor_org_id=PLATFORM_ORG_ID,
            )
            university = await org_service.create_organization(
                session,
                OrganizationCreate(kind=OrganizationKind.university, name="Universidad de Guadalajara"),
                actor_org_id=PLATFORM_ORG_ID,
            )
            _, editor = await key_service.issue_key(
                session, municipality, role=Role.editor, name=None, expires_at=None, actor_org_id=PLATFORM_ORG_ID
            )
            _, contributor = await key_service.issue_key(
                session, university, role=Role.contributor, name=None, expires_at=None, actor_org_id=PLATFORM_ORG_ID
            )
            return Cast(municipality.id, university.id, conftest.bearer(editor), conftest.bearer(contributor))
    finally:
        await engine.dispose()


def ok(response: httpx2.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def upload(base: str, headers: dict[str, str], agreement_id: str, content: bytes, **form: str) -> dict[str, Any]:
    return ok(
        httpx2.post(
            f"{base}/v1/agreements/{agreement_id}/evidence",
            files={"file": ("acuerdo firmado.txt", content, "text/plain")},
            data=form,
            headers=headers,
            timeout=30,
        )
    )


def wait_ready(server: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, log.read_text()
        try:
            if httpx2.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not become ready"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    url = conftest.migrated_database("pacta_verifier")
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def server(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("verifier-server")
    seed = new_seed()
    cast = asyncio.run(make_cast(database))
    env = clean_env(
        PACTA_DATABASE_URL=database,
        PACTA_LOG_SIGNING_KEY=seed,
        PACTA_STORAGE_URL=(folder / "evidence").as_uri(),
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = folder / "server.log"
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1"]
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - our own app, fixed arguments
            [*command, "--port", str(port)], env=env, cwd=ROOT, stdout=out, stderr=out
        )
    try:
        wait_ready(process, base, log)
        yield populate(base, seed, cast, folder / "evidence")
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def populate(base: str, seed: str, cast: Cast, storage: Path) -> Server:
    """A signed (so public) agreement, its signed text uploaded by the participant university and
    accepted by the municipality's editor, and a second document left under review."""
    agreement = ok(
        httpx2.post(
            f"{base}/v1/agreements",
            json={
                "title": "Hermanamiento Guadalajara - Kraków",
                "instrument": "sister_city",
                "signatory_org_id": str(cast.municipality),
                "counterparts": [{"name": "Kraków", "kind": "foreign_government_body", "country": "PL"}],
                "participant_org_ids": [str(cast.university)],
                "signed_on": "2025-03-01",
            },
            headers=cast.editor,
            timeout=30,
        )
    )
    accepted = upload(
        base,
        cast.contributor,
        agreement["id"],
        SIGNED_TEXT,
        title="Texto firmado — «Hermanamiento» con Kraków",
        document_type="agreement_text",
        description='Versión en español, con la firma de ambas partes.\n"Original" escaneado 🌵',
        language="es",
        document_date="2025-03-01",
    )
    ok(
        httpx2.post(
            f"{base}/v1/evidence/{accepted['id']}/review",
            json={"decision": "accepted", "note": "Cotejado con el original."},
            headers=cast.editor,
            timeout=30,
        )
    )
    submitted = upload(
        base,
        cast.contributor,
        agreement["id"],
        b"Lista de asistencia, sin revisar.\n",
        title="Lista",
        document_type="attendance_list",
    )
    return Server(
        base=base,
        public_key=public_key_of(seed),
        storage=storage,
        editor=cast.editor,
        contributor=cast.contributor,
        agreement_id=agreement["id"],
        accepted_id=accepted["id"],
        submitted_id=submitted["id"],
    )


def run_verifier(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The verifier as a third party runs it: its own process, isolated from this project's
    environment and working directory."""
    return subprocess.run(  # noqa: S603 - the project's own script
        [sys.executable, "-I", str(VERIFIER), *args],
        cwd=cwd or Path("/"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def verify(
    server: Server, evidence_id: str, *extra: str, public_key: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run_verifier(
        "--url", server.base, "--public-key", public_key or server.public_key, "--evidence", evidence_id, *extra
    )


def assert_verdict(result: subprocess.CompletedProcess[str], verified: bool, reason: str = "") -> None:
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    if verified:
        assert (result.returncode, last) == (0, "VERIFIED"), result.stdout
    else:
        assert result.returncode == 1, result.stdout
        assert last.startswith("NOT VERIFIED: "), result.stdout
        assert reason in last, result.stdout


# --- the verifier's own footprint -----------------------------------------------------------------


def test_verifier_imports_only_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(VERIFIER.read_text(), filename=str(VERIFIER))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports: the script stands alone"
            assert node.module is not None
            imported.add(node.module.split(".")[0])
    assert "cryptography" in imported
    outside = {name for name in imported if name not in sys.stdlib_module_names and name != "cryptography"}
    assert outside == set(), f"the verifier needs more than the standard library and cryptography: {outside}"


def test_verifier_explains_its_usage() -> None:
    result = run_verifier("--help")
    assert result.returncode == 0
    assert "--public-key" in result.stdout
    assert "--evidence" in result.stdout
    missing = run_verifier("--url", "http://127.0.0.1:9")
    assert missing.returncode == 2
    assert "--public-key" in missing.stderr


# --- against the running server --------------------------------------------------------------------


def test_accepted_evidence_is_verified(server: Server) -> None:
    result = verify(server, server.accepted_id)
    assert_verdict(result, verified=True)
    steps = result.stdout.splitlines()[:-1]
    assert [s.split()[1] for s in steps] == ["checkpoint", "content", "log", "inclusion"], steps
    assert all(s.startswith("ok  ") for s in steps)
    checkpoint = ok(httpx2.get(f"{server.base}/v1/log/checkpoint", timeout=10))
    assert checkpoint["public_key"] == server.public_key
    assert f"tree size {checkpoint['tree_size']}, root {checkpoint['root_hash']}" in steps[0]
    assert sha256_hex(SIGNED_TEXT) in steps[1]


def test_a_local_copy_of_the_same_bytes_is_verified(server: Server, tmp_path: Path) -> None:
    copy = tmp_path / "acuerdo.txt"
    copy.write_bytes(SIGNED_TEXT)
    assert_verdict(verify(server, server.accepted_id, "--file", str(copy)), verified=True)


def test_a_local_copy_with_other_bytes_is_not_verified(server: Server, tmp_path: Path) -> None:
    altered = tmp_path / "acuerdo.txt"
    altered.write_bytes(SIGNED_TEXT.replace(b"cultural", b"comercial"))
    result = verify(server, server.accepted_id, "--file", str(altered))
    assert_verdict(result, verified=False, reason=f"the content hashes to {sha256_hex(altered.read_bytes())}")


def test_a_wrong_public_key_is_not_verified(server: Server) -> None:
    result = verify(server, server.accepted_id, public_key=public_key_of(new_seed()))
    assert_verdict(result, verified=False, reason="the checkpoint is not signed by the given key")


@pytest.mark.parametrize("which", ["submitted", "unknown"])
def test_evidence_the_public_cannot_see_is_not_verified(server: Server, which: str) -> None:
    evidence_id = server.submitted_id if which == "submitted" else str(uuid.uuid4())
    result = verify(server, evidence_id)
    assert_verdict(result, verified=False, reason="could not read the registry's answers")


def test_still_verified_after_the_log_grows(server: Server) -> None:
    before = ok(httpx2.get(f"{server.base}/v1/log/checkpoint", timeout=10))["tree_size"]
    for n in range(3):
        upload(
            server.base,
            server.contributor,
            server.agreement_id,
            f"Informe de avance {n}\n".encode(),
            title=f"Informe {n}",
            document_type="progress_report",
        )
    after = ok(httpx2.get(f"{server.base}/v1/log/checkpoint", timeout=10))["tree_size"]
    assert after == before + 3
    result = verify(server, server.accepted_id)
    assert_verdict(result, verified=True)
    assert f"tree size {after}," in result.stdout


def test_content_swapped_in_storage_is_not_verified(server: Server) -> None:
    """Someone with access to the bucket replaces a document's bytes: the download no longer
    matches the hash the log recorded at upload."""
    original = b"Acta de cabildo: se aprueba el hermanamiento.\n"
    document = upload(
        server.base, server.contributor, server.agreement_id, original, title="Acta", document_type="council_minutes"
    )
    ok(
        httpx2.post(
            f"{server.base}/v1/evidence/{document['id']}/review",
            json={"decision": "accepted"},
            headers=server.editor,
            timeout=30,
        )
    )
    assert_verdict(verify(server, document["id"]), verified=True)
    [stored] = [p for p in server.storage.rglob(sha256_hex(original)) if p.is_file()]
    swapped = b"Acta de cabildo: se rechaza el hermanamiento.\n"
    assert len(swapped) == len(original)
    stored.write_bytes(swapped)
    assert_verdict(
        verify(server, document["id"]), verified=False, reason=f"the content hashes to {sha256_hex(swapped)}"
    )
