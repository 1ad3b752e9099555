import httpx2


async def test_healthz(client: httpx2.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_create_and_read_organization(client: httpx2.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.post(
        "/v1/organizations",
        json={"name": "Municipio de Zapopan", "kind": "municipality", "inegi_code": "14120"},
        headers=admin_headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["subdivision"] == "MX-JAL"
    read = await client.get(response.headers["location"], headers=admin_headers)
    assert read.status_code == 200
    assert read.headers["etag"] == response.headers["etag"]
