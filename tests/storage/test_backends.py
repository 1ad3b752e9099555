"""EvidenceStorage on both real backends: a local folder and an S3 bucket on moto's standalone server.

Every behaviour is checked through the same test on both backends. "Nothing left behind" is judged
from outside the storage class: the files in the folder, or the bucket's objects and pending
multipart uploads as S3 itself lists them.
"""

import hashlib
import random
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from app.storage import CHUNK, DigestMismatch, EvidenceStorage, TooLarge, content_key
from tests.conftest import MakeKey, MakeOrg
from tests.conftest import test_settings as settings_with
from tests.factories import TODAY, assert_problem, create_agreement, iso, make_world, pin_today

MOTO_SERVER = Path(sys.executable).with_name("moto_server")
PREFIX = "pacta"
MiB = 1024 * 1024
# obstore buffers 10 MiB before it starts an S3 multipart upload: "large" goes past that point.
SMALL = 300 * 1024
LARGE = 12 * MiB


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start_moto() -> tuple[subprocess.Popen[bytes], str]:
    """moto's standalone S3 server in its own process (its warnings stay out of this one)."""
    for _ in range(5):
        port = _free_port()
        process = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
            [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx2.get(f"{endpoint}/moto-api/", timeout=1).status_code == 200:
                    return process, endpoint
            except httpx2.TransportError:
                time.sleep(0.1)
        process.terminate()
        process.wait(timeout=10)
    raise RuntimeError("moto_server did not start")


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible server on 127.0.0.1, with test credentials set only while it runs."""
    process, endpoint = _start_moto()
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("AWS_ACCESS_KEY_ID", "pacta-test")
            env.setenv("AWS_SECRET_ACCESS_KEY", "pacta-test-secret")
            for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
                env.delenv(name, raising=False)
            yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


async def new_bucket(endpoint: str) -> str:
    bucket = f"pacta-{uuid.uuid4().hex[:12]}"
    async with httpx2.AsyncClient() as http:
        response = await http.put(f"{endpoint}/{bucket}")
    assert response.status_code == 200, response.text
    return bucket


def s3_url(endpoint: str, bucket: str) -> str:
    return f"s3://{bucket}/{PREFIX}?endpoint={endpoint}&region=us-east-1&allow_http=true"


class Backend:
    """One storage location and a way to see everything it physically holds."""

    name: str
    url: str

    def at(self, key: str) -> str:
        """Where an object of the store appears in `contents()`."""
        raise NotImplementedError

    async def contents(self) -> set[str]:
        raise NotImplementedError


class LocalBackend(Backend):
    def __init__(self, folder: Path) -> None:
        self.name, self.folder, self.url = "local", folder, folder.as_uri()

    def at(self, key: str) -> str:
        return key

    async def contents(self) -> set[str]:
        """Every file in the folder, staging files included (directories left empty do not count)."""
        return {p.relative_to(self.folder).as_posix() for p in self.folder.rglob("*") if not p.is_dir()}


_KEY = re.compile(r"<Key>([^<]*)</Key>")


class S3Backend(Backend):
    def __init__(self, endpoint: str, bucket: str) -> None:
        self.name, self.endpoint, self.bucket = "s3", endpoint, bucket
        self.url = s3_url(endpoint, bucket)

    def at(self, key: str) -> str:
        return f"{PREFIX}/{key}"

    async def contents(self) -> set[str]:
        """Every object in the whole bucket, plus every multipart upload begun and never finished
        (S3 keeps, and bills, those parts until they are aborted)."""
        async with httpx2.AsyncClient(base_url=self.endpoint) as http:
            objects = await http.get(f"/{self.bucket}", params={"list-type": "2"})
            uploads = await http.get(f"/{self.bucket}", params={"uploads": ""})
        assert objects.status_code == 200, objects.text
        assert uploads.status_code == 200, uploads.text
        assert "<IsTruncated>true" not in objects.text + uploads.text
        return set(_KEY.findall(objects.text)) | {f"multipart-upload:{k}" for k in _KEY.findall(uploads.text)}


@pytest.fixture(params=["local", "s3"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        return LocalBackend(tmp_path / "evidence")
    endpoint: str = request.getfixturevalue("s3_endpoint")
    return S3Backend(endpoint, await new_bucket(endpoint))


@pytest.fixture
def storage(backend: Backend) -> EvidenceStorage:
    return EvidenceStorage(backend.url)


def payload(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


class Feed:
    """An upload's chunks, as a client sends them; counts what the storage pulled."""

    def __init__(self, data: bytes, sizes: Iterable[int] = (64 * 1024,), *, fail_after: int | None = None) -> None:
        self.data, self.sizes, self.fail_after = data, list(sizes), fail_after
        self.pulled = 0

    async def __call__(self) -> AsyncIterator[bytes]:
        offset, turn = 0, 0
        while offset < len(self.data):
            if self.fail_after is not None and offset >= self.fail_after:
                raise ConnectionResetError("the client went away mid-upload")
            size = self.sizes[turn % len(self.sizes)]
            turn += 1
            chunk = self.data[offset : offset + size]
            offset += len(chunk)
            self.pulled = offset
            yield chunk


async def read_all(storage: EvidenceStorage, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in storage.stream(key, start, end)])


# --- ingest -----------------------------------------------------------------------------------------


async def test_ingest_streams_the_content_and_reports_its_sha256_and_size(
    backend: Backend, storage: EvidenceStorage
) -> None:
    data = payload(2 * CHUNK + 12345)
    # Uneven chunks, an empty one among them, as a network delivers them.
    stored = await storage.ingest(Feed(data, [1, 0, 65536, CHUNK + 7, 333])(), max_bytes=10 * MiB)

    sha = hashlib.sha256(data).hexdigest()
    assert (stored.sha256, stored.size) == (sha, len(data))
    assert stored.key == content_key(sha) == f"sha256/{sha[:2]}/{sha}"
    assert await backend.contents() == {backend.at(stored.key)}
    assert await read_all(storage, stored.key) == data


async def test_a_declared_sha256_that_matches_is_accepted(backend: Backend, storage: EvidenceStorage) -> None:
    data = payload(SMALL, seed=2)
    sha = hashlib.sha256(data).hexdigest()
    stored = await storage.ingest(Feed(data)(), max_bytes=MiB, expected_sha256=sha)
    assert stored.sha256 == sha
    assert await backend.contents() == {backend.at(stored.key)}


async def test_identical_content_is_stored_once(backend: Backend, storage: EvidenceStorage) -> None:
    data = payload(SMALL, seed=3)
    first = await storage.ingest(Feed(data, [1000])(), max_bytes=MiB)
    second = await storage.ingest(Feed(data, [77777])(), max_bytes=MiB)
    other = await storage.ingest(Feed(payload(SMALL, seed=4))(), max_bytes=MiB)

    assert second == first
    assert other.key != first.key
    assert await backend.contents() == {backend.at(first.key), backend.at(other.key)}
    assert await read_all(storage, first.key) == data


async def test_byte_ranges_are_start_inclusive_and_end_exclusive(storage: EvidenceStorage) -> None:
    data = payload(2 * CHUNK + 100, seed=5)
    key = (await storage.ingest(Feed(data)(), max_bytes=10 * MiB)).key

    assert await read_all(storage, key, 0, 10) == data[:10]
    assert await read_all(storage, key, 10, 11) == data[10:11]
    assert await read_all(storage, key, CHUNK - 5, CHUNK + 5) == data[CHUNK - 5 : CHUNK + 5]
    assert await read_all(storage, key, 100, 100 + CHUNK + 1) == data[100 : 100 + CHUNK + 1]
    # Open-ended: from an offset to the end.
    assert await read_all(storage, key, 10) == data[10:]
    assert await read_all(storage, key, len(data) - 1) == data[-1:]
    assert await read_all(storage, key) == data


# --- refusals leave nothing ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["small", "past-the-write-buffer"])
async def test_a_declared_sha256_that_does_not_match_raises_and_keeps_nothing(
    backend: Backend, storage: EvidenceStorage, size: int
) -> None:
    data = payload(size, seed=6)
    declared = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(DigestMismatch) as caught:
        await storage.ingest(Feed(data, [MiB])(), max_bytes=64 * MiB, expected_sha256=declared)

    assert (caught.value.declared, caught.value.actual) == (declared, hashlib.sha256(data).hexdigest())
    assert await backend.contents() == set()
    assert not await storage.exists(content_key(hashlib.sha256(data).hexdigest()))


async def test_a_mismatch_on_content_already_stored_keeps_the_stored_object(
    backend: Backend, storage: EvidenceStorage
) -> None:
    data = payload(SMALL, seed=7)
    stored = await storage.ingest(Feed(data)(), max_bytes=MiB)

    with pytest.raises(DigestMismatch):
        await storage.ingest(Feed(data)(), max_bytes=MiB, expected_sha256="0" * 64)

    assert await backend.contents() == {backend.at(stored.key)}
    assert await read_all(storage, stored.key) == data


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["small", "past-the-write-buffer"])
async def test_over_max_bytes_raises_as_soon_as_passed_and_keeps_nothing(
    backend: Backend, storage: EvidenceStorage, size: int
) -> None:
    data = payload(size + 4 * MiB, seed=8)
    feed = Feed(data, [256 * 1024])
    with pytest.raises(TooLarge) as caught:
        await storage.ingest(feed(), max_bytes=size)

    assert caught.value.limit == size
    # Refused on the chunk that crossed the limit: the rest of the upload was never read.
    assert size < feed.pulled <= size + 256 * 1024
    assert await backend.contents() == set()


async def test_exactly_max_bytes_is_accepted(backend: Backend, storage: EvidenceStorage) -> None:
    data = payload(SMALL, seed=9)
    stored = await storage.ingest(Feed(data)(), max_bytes=len(data))
    assert stored.size == len(data)
    assert await backend.contents() == {backend.at(stored.key)}


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["small", "past-the-write-buffer"])
async def test_an_upload_interrupted_mid_stream_keeps_nothing(
    backend: Backend, storage: EvidenceStorage, size: int
) -> None:
    kept = await storage.ingest(Feed(payload(1000, seed=10))(), max_bytes=MiB)
    data = payload(size + 2 * MiB, seed=11)

    with pytest.raises(ConnectionResetError):
        await storage.ingest(Feed(data, [MiB], fail_after=size)(), max_bytes=64 * MiB)

    assert await backend.contents() == {backend.at(kept.key)}
    # The same content sent again in full is stored normally afterwards.
    again = await storage.ingest(Feed(data, [MiB])(), max_bytes=64 * MiB)
    assert await read_all(storage, again.key) == data
    assert await backend.contents() == {backend.at(kept.key), backend.at(again.key)}


# --- the evidence API end to end on S3 ----------------------------------------------------------------

PDF = (
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n"
    + b"% lista de asistencia\n" * 400
    + b"%%EOF\n"
)


@pytest.fixture
async def s3_app(s3_endpoint: str, sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[FastAPI, S3Backend]:
    s3 = S3Backend(s3_endpoint, await new_bucket(s3_endpoint))
    application = create_app(settings_with(storage_url=s3.url))
    application.state.sessionmaker = sessionmaker
    pin_today(application, TODAY)
    return application, s3


async def test_evidence_uploaded_through_the_api_lands_in_the_bucket_and_downloads_back(
    s3_app: tuple[FastAPI, S3Backend], make_org: MakeOrg, make_key: MakeKey
) -> None:
    application, s3 = s3_app
    world = await make_world(make_org, make_key)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=application), base_url="http://testserver"
    ) as client:
        agreement = await create_agreement(
            client,
            world.headers("editor"),
            world.signatory.id,
            participant_org_ids=[str(world.participant.id)],
            signed_on=iso(-30),
        )
        url = f"/v1/agreements/{agreement['id']}/evidence"
        sha = hashlib.sha256(PDF).hexdigest()

        refused = await client.post(
            url,
            files={"file": ("lista.pdf", PDF, "application/pdf")},
            data={"title": "Lista", "document_type": "attendance_list", "sha256": "0" * 64},
            headers=world.headers("participant"),
        )
        assert_problem(refused, 422, loc=["body", "sha256"])
        assert await s3.contents() == set()

        created = await client.post(
            url,
            files={"file": ("lista.pdf", PDF, "application/pdf")},
            data={"title": "Lista", "document_type": "attendance_list", "sha256": sha},
            headers=world.headers("participant"),
        )
        assert created.status_code == 201, created.text
        document: dict[str, Any] = created.json()
        assert (document["sha256"], document["size_bytes"], document["media_type"]) == (
            sha,
            len(PDF),
            "application/pdf",
        )
        assert await s3.contents() == {f"{PREFIX}/sha256/{sha[:2]}/{sha}"}

        review = await client.post(
            f"/v1/evidence/{document['id']}/review", json={"decision": "accepted"}, headers=world.headers("editor")
        )
        assert review.status_code == 200, review.text

        content = await client.get(document["content_url"])
        assert content.status_code == 200
        assert content.content == PDF
        assert content.headers["etag"] == f'"{sha}"'
        assert hashlib.sha256(content.content).hexdigest() == sha

        part = await client.get(document["content_url"], headers={"Range": "bytes=9-30"})
        assert part.status_code == 206
        assert part.content == PDF[9:31]
        assert part.headers["content-range"] == f"bytes 9-30/{len(PDF)}"
