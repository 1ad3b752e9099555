"""The one check that a response is an RFC 9457 problem, shared by every test folder."""

from typing import Any

import httpx2

from app.errors import PROBLEM_MEDIA_TYPE

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def assert_problem(
    response: httpx2.Response, status: int, slug: str | None = None, *, loc: list[str | int] | None = None
) -> dict[str, Any]:
    """An application/problem+json document of this status (and kind, and naming this field),
    with a title and detail for people and the request's path as its instance; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_KEYS, body
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    if slug is not None:
        assert body["type"] == f"/problems/{slug}"
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["instance"] == response.request.url.path
    if status == 401:
        assert response.headers["www-authenticate"].lower().startswith("bearer")
    if loc is not None:
        assert loc in [error["loc"] for error in body["errors"]], body
    return body
