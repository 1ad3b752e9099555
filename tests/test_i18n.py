"""Spanish first: every text for people in Spanish (Mexico) and English, chosen by Accept-Language
(PACTA_DEFAULT_LANGUAGE otherwise), from catalogues that hold every key in both languages; machine
fields (type, status, loc, error types, codes) never change with the language."""

import ast
import importlib
import pkgutil
import re
import string
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI

import app
from app.compliance.rules import RULES
from app.errors import AppError
from app.i18n import LANGUAGES, Text, catalogue, negotiate
from app.main import create_app
from tests.compliance.factories import Registry
from tests.conftest import MakeKey, MakeOrg
from tests.conftest import test_settings as settings_with
from tests.factories import TODAY, World, assert_problem, make_world, pin_today

APP_DIR = Path(app.__file__).parent
EN = {"Accept-Language": "en-US,en;q=0.9"}
ES = {"Accept-Language": "es-MX"}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _all_subclasses(cls: type[AppError]) -> list[type[AppError]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_all_subclasses(sub)]
    return found


def _literal_keys() -> set[str]:
    """Every catalogue key the code names literally: Text("key", ...)."""
    keys = set()
    for path in APP_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Text"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                keys.add(str(node.args[0].value))
    return keys


# --- the catalogues --------------------------------------------------------------------------------


def test_every_key_is_in_both_languages_with_the_same_placeholders() -> None:
    spanish, english = catalogue("es"), catalogue("en")
    assert set(spanish) == set(english)
    for key, text in spanish.items():
        assert _placeholders(text) == _placeholders(english[key]), key


def test_every_key_the_code_names_is_in_the_catalogues() -> None:
    keys = _literal_keys()
    assert len(keys) > 100
    for lang in LANGUAGES:
        assert not keys - set(catalogue(lang)), lang


def test_every_app_error_has_its_title_in_both_languages() -> None:
    # Import every module so every subclass (including those defined beside a service) is known.
    for module in pkgutil.walk_packages([str(APP_DIR)], "app."):
        if not module.name.startswith(("app.demo", "app.openapi_dump")):
            importlib.import_module(module.name)
    subclasses = _all_subclasses(AppError)
    assert len(subclasses) > 20
    classes: list[type[AppError]] = [AppError, *subclasses]
    for cls in classes:
        for lang in LANGUAGES:
            assert cls.title_text().key in catalogue(lang), (cls, lang)


def test_every_rule_has_title_legal_basis_description_and_detail_in_both_languages() -> None:
    for rule in RULES:
        for part in ("title", "legal_basis", "description"):
            key = f"compliance.rule.{rule.code}.{part}"
            assert catalogue("es")[key] != catalogue("en")[key] or part == "title", key
        for lang in LANGUAGES:
            assert f"compliance.finding.{rule.code}" in catalogue(lang)


def test_texts_are_filled_in_and_a_missing_value_stays_visible() -> None:
    assert Text("log.size", size=3).render("es") == "El registro tiene 3 entradas."
    assert Text("log.size", size=3).render("en") == "The log holds 3 entries."
    assert Text("log.size").render("es") == "El registro tiene {size} entradas."


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "es"),
        ("", "es"),
        ("es", "es"),
        ("es-MX", "es"),
        ("es-419", "es"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("en-GB", "en"),
        ("fr-FR,en;q=0.5,es;q=0.8", "es"),
        ("es;q=0.2, en;q=0.9", "en"),
        ("en;q=0, es", "es"),
        ("en;q=0", "es"),
        ("fr, de", "es"),
        ("*", "es"),
        ("de;q=1, *;q=0.5", "es"),
        ("en;q=bogus, es;q=0.1", "es"),
    ],
)
def test_negotiation(header: str | None, expected: str) -> None:
    assert negotiate(header, "es") == expected


def test_negotiation_falls_back_to_the_configured_default() -> None:
    assert negotiate(None, "en") == "en"
    assert negotiate("fr", "en") == "en"
    assert negotiate("es-MX", "en") == "es"


# --- problems --------------------------------------------------------------------------------------


def _same_machine_fields(spanish: dict[str, Any], english: dict[str, Any]) -> None:
    assert spanish["type"] == english["type"]
    assert spanish["status"] == english["status"]
    assert spanish["instance"] == english["instance"]
    if "errors" in spanish:
        assert [(e["loc"], e["type"]) for e in spanish["errors"]] == [(e["loc"], e["type"]) for e in english["errors"]]


async def test_not_found_in_spanish_by_default_and_in_english_on_request(client: httpx2.AsyncClient) -> None:
    default = await client.get("/v1/nowhere")
    spanish = assert_problem(default, 404)
    assert spanish["title"] == "No encontrado"
    assert spanish["detail"] == "No hay ningún recurso en /v1/nowhere."
    assert default.headers["content-language"] == "es-MX"
    assert "Accept-Language" in default.headers["vary"]
    answered = await client.get("/v1/nowhere", headers=EN)
    english = assert_problem(answered, 404)
    assert english["title"] == "Not found"
    assert english["detail"] == "No resource at /v1/nowhere."
    assert answered.headers["content-language"] == "en-US"
    _same_machine_fields(spanish, english)


async def test_a_domain_404_in_both_languages(client: httpx2.AsyncClient, admin_headers: dict[str, str]) -> None:
    url = "/v1/agreements/00000000-0000-4000-8000-00000000abcd"
    spanish = assert_problem(await client.get(url, headers=admin_headers), 404)
    english = assert_problem(await client.get(url, headers=admin_headers | EN), 404)
    assert spanish["detail"] == "No hay ningún acuerdo con ese id (o no uno que usted pueda ver)."
    assert english["detail"] == "No agreement with that id (or not one you may see)."
    _same_machine_fields(spanish, english)


async def test_schema_validation_messages_in_both_languages(
    client: httpx2.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {"name": "", "kind": "planet", "unknown": 1}
    spanish = assert_problem(await client.post("/v1/organizations", json=body, headers=admin_headers | ES), 422)
    english = assert_problem(await client.post("/v1/organizations", json=body, headers=admin_headers | EN), 422)
    _same_machine_fields(spanish, english)
    assert spanish["title"] == "La validación falló"
    assert english["title"] == "Validation failed"
    es_msgs = {e["type"]: e["msg"] for e in spanish["errors"]}
    en_msgs = {e["type"]: e["msg"] for e in english["errors"]}
    assert es_msgs["string_too_short"] == "Debe tener al menos 1 caracteres."
    assert en_msgs["string_too_short"] == "String should have at least 1 characters"
    assert es_msgs["extra_forbidden"] == "No se permiten campos adicionales."
    assert es_msgs["enum"].startswith("Debe ser 'platform', 'municipality'")
    assert " o 'auditor'" in es_msgs["enum"]
    assert " or 'auditor'" in en_msgs["enum"]
    assert spanish["detail"].startswith("La solicitud no coincide con el esquema (")


async def test_missing_field_and_rule_violations_in_both_languages(
    client: httpx2.AsyncClient, admin_headers: dict[str, str]
) -> None:
    missing = assert_problem(await client.post("/v1/organizations", json={}, headers=admin_headers), 422)
    assert {e["msg"] for e in missing["errors"]} == {"Campo obligatorio."}
    body = {"name": "Ciudad sin estado", "kind": "state", "country": "MX"}
    spanish = assert_problem(await client.post("/v1/organizations", json=body, headers=admin_headers), 422)
    english = assert_problem(await client.post("/v1/organizations", json=body, headers=admin_headers | EN), 422)
    _same_machine_fields(spanish, english)
    assert spanish["errors"][0]["msg"] == "Un estado necesita su código de subdivisión ISO 3166-2."
    assert english["errors"][0]["msg"] == "A state needs its ISO 3166-2 subdivision code."
    assert spanish["detail"] == spanish["errors"][0]["msg"]


async def test_malformed_json_in_both_languages(client: httpx2.AsyncClient, admin_headers: dict[str, str]) -> None:
    headers = admin_headers | {"Content-Type": "application/json"}
    spanish = assert_problem(await client.post("/v1/organizations", content=b"{", headers=headers), 400)
    english = assert_problem(await client.post("/v1/organizations", content=b"{", headers=headers | EN), 400)
    assert spanish["detail"] == "El cuerpo de la solicitud no es JSON válido."
    assert english["detail"] == "The request body is not valid JSON."


async def test_unauthorized_in_both_languages(client: httpx2.AsyncClient) -> None:
    bad = {"Authorization": "Bearer pacta_000000000000_nope"}
    spanish = assert_problem(await client.get("/v1/organizations", headers=bad), 401)
    english = assert_problem(await client.get("/v1/organizations", headers=bad | EN), 401)
    assert spanish["title"] == "Se requiere autenticación"
    assert spanish["detail"] == "La llave de API no es válida."
    assert english["detail"] == "The API key is not valid."
    _same_machine_fields(spanish, english)
    anonymous = assert_problem(await client.get("/v1/organizations"), 401)
    assert anonymous["detail"].startswith("Este recurso necesita una llave de API")


async def test_method_not_allowed_in_both_languages(client: httpx2.AsyncClient) -> None:
    spanish = await client.put("/v1/organizations")
    english = await client.put("/v1/organizations", headers=EN)
    assert assert_problem(spanish, 405)["detail"] == "PUT no está permitido en /v1/organizations."
    assert assert_problem(english, 405)["detail"] == "PUT is not allowed on /v1/organizations."
    assert spanish.headers["allow"] == english.headers["allow"]


async def test_english_by_default_when_the_registry_is_configured_so(
    sessionmaker: Any, admin_headers: dict[str, str]
) -> None:
    other = create_app(settings_with(default_language="en"))
    other.state.sessionmaker = sessionmaker
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=other), base_url="http://testserver") as c:
        english = assert_problem(await c.get("/v1/nowhere"), 404)
        spanish = assert_problem(await c.get("/v1/nowhere", headers=ES), 404)
    assert english["title"] == "Not found"
    assert spanish["title"] == "No encontrado"


async def test_responses_without_texts_do_not_vary(client: httpx2.AsyncClient, admin_headers: dict[str, str]) -> None:
    listed = await client.get("/v1/organizations", headers=admin_headers)
    assert listed.status_code == 200
    assert "content-language" not in listed.headers


# --- compliance findings ---------------------------------------------------------------------------


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


async def test_findings_and_rules_in_both_languages(client: httpx2.AsyncClient, app: FastAPI, world: World) -> None:
    pin_today(app, TODAY)
    registry = Registry(client, app, world)
    agreement = await registry.agreement()
    headers = world.headers("auditor")
    url = "/v1/compliance/findings"
    spanish = await client.get(url, params={"rule": "sre_not_informed_before_signature"}, headers=headers)
    english = await client.get(url, params={"rule": "sre_not_informed_before_signature"}, headers=headers | EN)
    assert spanish.status_code == english.status_code == 200
    assert spanish.headers["content-language"] == "es-MX"
    assert english.headers["content-language"] == "en-US"
    assert "Accept-Language" in spanish.headers["vary"]
    es_finding = next(f for f in spanish.json()["items"] if f["agreement_id"] == agreement)
    en_finding = next(f for f in english.json()["items"] if f["agreement_id"] == agreement)
    assert es_finding["legal_basis"] == "Ley sobre la Celebración de Tratados, artículo 7"
    assert en_finding["legal_basis"] == "Law on the Conclusion of Treaties (LSCT), article 7"
    assert es_finding["title"] == "SRE no informada antes de la firma"
    assert en_finding["title"] == "SRE not informed before signature"
    signed = re.search(r"\d{4}-\d{2}-\d{2}", en_finding["detail"])
    assert signed is not None
    assert es_finding["detail"] == f"Firmado el {signed.group(0)} sin dictamen de la SRE solicitado ese día ni antes."
    assert en_finding["detail"] == f"Signed on {signed.group(0)} with no SRE dictamen requested on or before that day."
    # Machine fields are the same in both.
    for field in ("rule", "severity", "agreement_id", "subject_type", "subject_id", "agreement_title"):
        assert es_finding[field] == en_finding[field]
    rules_es = (await client.get("/v1/compliance/rules", headers=headers)).json()
    rules_en = (await client.get("/v1/compliance/rules", headers=headers | EN)).json()
    assert [r["code"] for r in rules_es] == [r["code"] for r in rules_en]
    assert rules_es[0]["description"] != rules_en[0]["description"]
    csv = await client.get(url, headers=headers | {"Accept": "text/csv"})
    assert "Ley sobre la Celebración de Tratados, artículo 7" in csv.text
