"""The compliance API: the rule catalogue, findings (filters, keyset pages, CSV), the summary by
state or organization, and who may see which findings."""

import base64
import csv
import io
import json
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI

from tests.compliance.factories import COMPLIANCE, FINDINGS, LEGAL_BASIS, RULE_CODES, SIGNED, Registry
from tests.conftest import MakeKey, MakeOrg
from tests.factories import TODAY, World, assert_problem, counterpart, make_world, pin_today, walk

CSV_COLUMNS = [
    "rule",
    "severity",
    "title",
    "legal_basis",
    "agreement_id",
    "agreement_title",
    "signatory_org_id",
    "state",
    "subject_type",
    "subject_id",
    "detail",
]


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


@pytest.fixture
def registry(client: httpx2.AsyncClient, app: FastAPI, world: World) -> Registry:
    pin_today(app, TODAY)
    return Registry(client, app, world)


@dataclass(frozen=True, slots=True)
class Landscape:
    """Agreements of two municipalities in two states, some clean, most with findings."""

    jalisco: list[str]  # Guadalajara's (MX-JAL)
    nuevo_leon: list[str]  # Monterrey's (MX-NLE)
    clean: list[str]  # drafts: no finding
    findings: list[dict[str, Any]]  # everything, as an auditor reads it


@pytest.fixture
async def landscape(registry: Registry) -> Landscape:
    gdl_plain = await registry.agreement()
    gdl_private = await registry.agreement(
        counterparts=[counterpart(), counterpart(name="Acme Logistics LLC", country="US", kind="private_entity")]
    )
    gdl_targets = await registry.agreement(signed_on=date(2024, 1, 15))
    await registry.target(gdl_targets, baseline=None)
    gdl_draft = await registry.agreement(signed_on=None)
    mty_clause = await registry.agreement(actor="other_editor", has_dispute_settlement_clause=True)
    mty_reviewed = await registry.agreement(actor="other_editor")
    await registry.review(
        mty_reviewed, "sre_dictamen", SIGNED, decided_on=SIGNED, outcome="favorable", actor="other_editor"
    )
    mty_draft = await registry.agreement(actor="other_editor", signed_on=None)
    findings = await walk(registry.client, FINDINGS, registry.headers("auditor"), {"limit": 200}, limit=200)
    return Landscape(
        jalisco=[gdl_plain, gdl_private, gdl_targets, gdl_draft],
        nuevo_leon=[mty_clause, mty_reviewed, mty_draft],
        clean=[gdl_draft, mty_draft],
        findings=findings,
    )


def keys(findings: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(f["rule"], f["agreement_id"], f["subject_id"]) for f in findings]


# --- the rule catalogue --------------------------------------------------------------------------


async def test_rules_lists_the_twelve_with_severity_and_legal_basis(client: httpx2.AsyncClient, world: World) -> None:
    response = await client.get(f"{COMPLIANCE}/rules", headers=world.headers("auditor"))
    assert response.status_code == 200, response.text
    rules = response.json()
    assert [r["code"] for r in rules] == list(RULE_CODES)
    for rule in rules:
        assert set(rule) >= {"code", "title", "severity", "legal_basis", "description"}
        assert rule["severity"] in ("high", "medium", "low")
        assert rule["title"]
        assert rule["description"]
        assert LEGAL_BASIS.get(rule["code"], "") in rule["legal_basis"]
    by_code = {r["code"]: r for r in rules}
    # The registration deadline is a setting, not a statutory figure (DOMAIN.md).
    assert "PACTA_REGISTRATION_GRACE_DAYS" in by_code["not_registered"]["legal_basis"]
    assert "PACTA_DORMANCY_MONTHS" in by_code["dormant"]["legal_basis"]
    assert by_code["sre_not_informed_before_signature"]["severity"] == "high"


@pytest.mark.parametrize("path", ["rules", "findings", "summary"])
async def test_anonymous_callers_get_401(client: httpx2.AsyncClient, path: str) -> None:
    assert_problem(await client.get(f"{COMPLIANCE}/{path}"), 401)


@pytest.mark.parametrize("path", ["findings", "summary"])
@pytest.mark.parametrize("actor", ["participant", "outsider"])
async def test_contributors_get_403(client: httpx2.AsyncClient, world: World, path: str, actor: str) -> None:
    assert_problem(await client.get(f"{COMPLIANCE}/{path}", headers=world.headers(actor)), 403)


# --- findings and their filters ---------------------------------------------------------------


async def test_findings_describe_the_agreement_and_its_signatory(landscape: Landscape, world: World) -> None:
    findings = landscape.findings
    assert len(findings) == len(set(keys(findings))), "a finding is listed once"
    assert {f["agreement_id"] for f in findings} == set(landscape.jalisco + landscape.nuevo_leon) - set(landscape.clean)
    states = {str(world.signatory.id): "MX-JAL", str(world.other.id): "MX-NLE"}
    for finding in findings:
        assert finding["state"] == states[finding["signatory_org_id"]]
        assert finding["agreement_title"].startswith("Hermanamiento")
        assert finding["subject_type"] in ("agreement", "target", "measurement")
        if finding["subject_type"] == "agreement":
            assert finding["subject_id"] == finding["agreement_id"]
    assert keys(findings) == sorted(keys(findings)), "ordered by rule, agreement, subject"


def expected(findings: list[dict[str, Any]], **match: Any) -> list[tuple[str, str, str]]:
    """The findings a filter should keep, chosen here from the unfiltered list."""
    kept = []
    for finding in findings:
        ok = True
        for name, wanted in match.items():
            ok = ok and (finding[name] in wanted if isinstance(wanted, set) else finding[name] == wanted)
        if ok:
            kept.append(finding)
    return keys(kept)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        pytest.param({"rule": "no_signed_text"}, {"rule": "no_signed_text"}, id="one-rule"),
        pytest.param(
            [("rule", "private_counterpart"), ("rule", "dispute_clause_not_reviewed")],
            {"rule": {"private_counterpart", "dispute_clause_not_reviewed"}},
            id="rule-repeated",
        ),
        pytest.param({"severity": "high"}, {"severity": "high"}, id="severity-high"),
        pytest.param({"severity": "low"}, {"severity": "low"}, id="severity-low"),
        pytest.param({"state": "MX-NLE"}, {"state": "MX-NLE"}, id="state"),
        pytest.param(
            {"state": "MX-JAL", "severity": "medium"},
            {"state": "MX-JAL", "severity": "medium"},
            id="state-and-severity",
        ),
        pytest.param(
            {"rule": "no_favorable_dictamen_before_signature", "severity": "low"},
            {"rule": "none"},
            id="rule-not-of-severity",
        ),
    ],
)
async def test_findings_filters(registry: Registry, landscape: Landscape, params: Any, match: dict[str, Any]) -> None:
    query = [*(params.items() if isinstance(params, dict) else params), ("limit", "200")]
    response = await registry.client.get(FINDINGS, params=query, headers=registry.headers("auditor"))
    assert response.status_code == 200, response.text
    got = keys(response.json()["items"])
    assert got == expected(landscape.findings, **match)
    if match.get("rule") != "none":
        assert got, "the filter should keep something in this landscape"
        assert len(got) < len(landscape.findings)


async def test_findings_filtered_by_signatory(registry: Registry, landscape: Landscape, world: World) -> None:
    for org in (world.signatory, world.other):
        got = await registry.findings(signatory_org_id=str(org.id))
        assert keys(got) == expected(landscape.findings, signatory_org_id=str(org.id))
        assert got
    assert await registry.findings(signatory_org_id=str(world.participant.id)) == []


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"rule": "not_a_rule"}, id="unknown-rule"),
        pytest.param({"severity": "critical"}, id="unknown-severity"),
        pytest.param({"state": "Jalisco"}, id="state-not-iso-3166-2"),
        pytest.param({"signatory_org_id": "gdl"}, id="signatory-not-a-uuid"),
        pytest.param({"limit": "0"}, id="limit-0"),
        pytest.param({"limit": "201"}, id="limit-201"),
    ],
)
async def test_bad_filters_are_422(client: httpx2.AsyncClient, world: World, params: dict[str, str]) -> None:
    assert_problem(await client.get(FINDINGS, params=params, headers=world.headers("auditor")), 422)


# --- keyset pages, cursors, CSV -----------------------------------------------------------------


async def test_pages_of_two_walk_every_finding_once(registry: Registry, landscape: Landscape) -> None:
    walked = await walk(registry.client, FINDINGS, registry.headers("auditor"), limit=2)
    assert len(walked) > 4
    assert keys(walked) == keys(landscape.findings)
    assert len(set(keys(walked))) == len(walked)
    filtered = await walk(registry.client, FINDINGS, registry.headers("auditor"), {"state": "MX-JAL"}, limit=2)
    assert keys(filtered) == expected(landscape.findings, state="MX-JAL")


def encode_cursor(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def tampered_cursors(cursor: str) -> list[str]:
    raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return [
        "not-a-cursor",
        cursor[:-3],
        encode_cursor({**raw, "s": "agreements"}),  # another list's cursor
        encode_cursor({**raw, "v": raw["v"][:2]}),  # a key too short
        encode_cursor({**raw, "v": [raw["v"][0], "not-a-uuid", raw["v"][2]]}),
    ]


async def test_a_tampered_cursor_is_422(registry: Registry, landscape: Landscape) -> None:
    first = await registry.client.get(FINDINGS, params={"limit": 2}, headers=registry.headers("auditor"))
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"]
    assert cursor
    assert 'rel="next"' in first.headers["link"]
    for bad in tampered_cursors(cursor):
        response = await registry.client.get(
            FINDINGS, params={"limit": 2, "cursor": bad}, headers=registry.headers("auditor")
        )
        assert_problem(response, 422)


def parse_csv(response: httpx2.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == CSV_COLUMNS
    return [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]]


async def test_findings_as_csv(registry: Registry, landscape: Landscape) -> None:
    headers = {**registry.headers("auditor"), "Accept": "text/csv"}
    rows = parse_csv(await registry.client.get(FINDINGS, headers=headers))
    assert [(r["rule"], r["agreement_id"], r["subject_id"]) for r in rows] == keys(landscape.findings)
    for row, finding in zip(rows, landscape.findings, strict=True):
        for column in ("severity", "legal_basis", "agreement_title", "signatory_org_id", "state", "detail"):
            assert row[column] == finding[column]
    filtered = parse_csv(await registry.client.get(FINDINGS, params={"rule": "no_signed_text"}, headers=headers))
    assert [r["agreement_id"] for r in filtered] == [
        a for _, a, _ in expected(landscape.findings, rule="no_signed_text")
    ]


@pytest.mark.slow
async def test_csv_streams_every_page(registry: Registry) -> None:
    """More findings than one CSV page (500): every one of them, once."""
    for _ in range(90):  # each signed, bare municipal agreement raises six findings
        await registry.agreement()
    everything = await walk(registry.client, FINDINGS, registry.headers("auditor"), {"limit": 200}, limit=200)
    assert len(everything) > 500
    rows = parse_csv(await registry.client.get(FINDINGS, headers={**registry.headers("auditor"), "Accept": "text/csv"}))
    assert [(r["rule"], r["agreement_id"], r["subject_id"]) for r in rows] == keys(everything)


# --- summary ----------------------------------------------------------------------------------


def summary_expected(landscape: Landscape, group_of: dict[str, str]) -> dict[str, tuple[int, int, dict[str, int]]]:
    """group -> (agreements, agreements without findings, findings per rule)."""
    result: dict[str, tuple[int, int, dict[str, int]]] = {}
    flagged = {f["agreement_id"] for f in landscape.findings}
    for group in set(group_of.values()):
        members = [a for a, g in group_of.items() if g == group]
        per_rule = Counter(f["rule"] for f in landscape.findings if group_of[f["agreement_id"]] == group)
        result[group] = (len(members), len([a for a in members if a not in flagged]), dict(per_rule))
    return result


async def summary(registry: Registry, actor: str = "auditor", **params: str) -> list[dict[str, Any]]:
    response = await registry.client.get(f"{COMPLIANCE}/summary", params=params, headers=registry.headers(actor))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["group_by"] == params.get("group_by", "state")
    groups: list[dict[str, Any]] = body["groups"]
    return groups


def check_groups(groups: list[dict[str, Any]], wanted: dict[str, tuple[int, int, dict[str, int]]]) -> None:
    assert {g["key"] for g in groups} == set(wanted)
    for group in groups:
        agreements, clean, per_rule = wanted[group["key"]]
        assert group["agreements"] == agreements
        assert group["agreements_without_findings"] == clean
        assert group["share_without_findings"] == round(clean / agreements, 4)
        assert group["findings_by_rule"] == per_rule


@pytest.mark.parametrize("params", [{"group_by": "state"}, {}], ids=["state", "default"])
async def test_summary_by_state(registry: Registry, landscape: Landscape, params: dict[str, str]) -> None:
    group_of = dict.fromkeys(landscape.jalisco, "MX-JAL") | dict.fromkeys(landscape.nuevo_leon, "MX-NLE")
    groups = await summary(registry, **params)
    check_groups(groups, summary_expected(landscape, group_of))
    assert {g["key"]: g["label"] for g in groups} == {"MX-JAL": "Jalisco", "MX-NLE": "Nuevo León"}


async def test_summary_by_organization(registry: Registry, landscape: Landscape, world: World) -> None:
    gdl, mty = str(world.signatory.id), str(world.other.id)
    group_of = dict.fromkeys(landscape.jalisco, gdl) | dict.fromkeys(landscape.nuevo_leon, mty)
    groups = await summary(registry, group_by="organization")
    check_groups(groups, summary_expected(landscape, group_of))
    assert {g["key"]: g["label"] for g in groups} == {gdl: world.signatory.name, mty: world.other.name}


async def test_summary_of_one_rule(registry: Registry, landscape: Landscape) -> None:
    groups = {g["key"]: g for g in await summary(registry, rule="private_counterpart")}
    assert groups["MX-JAL"]["findings_by_rule"] == {"private_counterpart": 1}
    assert groups["MX-JAL"]["agreements_without_findings"] == len(landscape.jalisco) - 1
    assert groups["MX-NLE"]["findings_by_rule"] == {}
    assert groups["MX-NLE"]["share_without_findings"] == 1.0


async def test_summary_refuses_an_unknown_grouping(client: httpx2.AsyncClient, world: World) -> None:
    response = await client.get(
        f"{COMPLIANCE}/summary", params={"group_by": "country"}, headers=world.headers("auditor")
    )
    assert_problem(response, 422, loc=["query", "group_by"])


# --- who sees what ------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["auditor", "admin"])
async def test_auditors_and_admins_see_every_finding(registry: Registry, landscape: Landscape, actor: str) -> None:
    assert keys(await registry.findings(actor=actor)) == keys(landscape.findings)
    assert {g["key"] for g in await summary(registry, actor)} == {"MX-JAL", "MX-NLE"}


@pytest.mark.parametrize(
    ("actor", "state"), [("editor", "MX-JAL"), ("legal_reviewer", "MX-JAL"), ("other_editor", "MX-NLE")]
)
async def test_an_editor_sees_only_its_organization(
    registry: Registry, landscape: Landscape, world: World, actor: str, state: str
) -> None:
    own = str(world.org_of(actor))
    mine = await registry.findings(actor=actor)
    assert mine
    assert keys(mine) == expected(landscape.findings, signatory_org_id=own)
    # Asking for another organization's findings shows nothing, rather than leaking them.
    other = str(world.other.id if own == str(world.signatory.id) else world.signatory.id)
    assert await registry.findings(actor=actor, signatory_org_id=other) == []
    csv_rows = parse_csv(await registry.client.get(FINDINGS, headers={**registry.headers(actor), "Accept": "text/csv"}))
    assert {r["signatory_org_id"] for r in csv_rows} == {own}
    groups = await summary(registry, actor)
    assert [g["key"] for g in groups] == [state]
    assert sum(sum(g["findings_by_rule"].values()) for g in groups) == len(mine)
