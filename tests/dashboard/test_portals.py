"""What a municipal portal shows: SVG badges, framable widgets, and an organization's public page.

Beside the dashboard tests because they read the same known data set (tests.dashboard.dataset).
"""

import re
import uuid
from datetime import date
from typing import Any

import httpx2
import pytest

from app.badges.render import badge_svg, tone_of
from app.dashboard.i18n import Locale
from tests.dashboard.dataset import TODAY, Dataset
from tests.factories import World


def text_of(fragment: str) -> str:
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


async def met_and_decided(client: httpx2.AsyncClient, agreement_id: str) -> tuple[int, int]:
    """From the API's own targets: milestones met, and those met or past their date."""
    response = await client.get(f"/v1/agreements/{agreement_id}/targets")
    assert response.status_code == 200, response.text
    met = decided = 0
    for target in response.json()["items"]:
        for ms in target["milestones"]:
            is_met = ms["status"] == "met"
            met += is_met
            decided += is_met or (ms["due_on"] is not None and date.fromisoformat(ms["due_on"]) < TODAY)
    return met, decided


# --- badges ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("es", "En vigor · Registrado SRE · {met}/{decided} metas"),
        ("en", "In force · Registered with the SRE · {met}/{decided} milestones"),
    ],
)
async def test_agreement_badge(client: httpx2.AsyncClient, dataset: Dataset, lang: str, expected: str) -> None:
    agreement_id = dataset.agreements["A1"]
    met, decided = await met_and_decided(client, agreement_id)
    assert decided > met > 0  # the data set has both kinds, so the numbers say something
    response = await client.get(f"/badges/agreements/{agreement_id}.svg", params={"lang": lang})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["access-control-allow-origin"] == "*"
    svg = response.text
    message = expected.format(met=met, decided=decided)
    title = re.search(r"<title>(.*?)</title>", svg)
    assert title
    assert text_of(title.group(1)) == f"Hermanamiento Guadalajara - Kraków: {message}"
    assert f'lang="{lang}"' in svg
    assert 'role="img"' in svg
    assert message in text_of(svg)
    assert "<script" not in svg
    assert "href" not in svg  # nothing loaded, nothing to follow


async def test_badge_etag_and_304(client: httpx2.AsyncClient, dataset: Dataset) -> None:
    url = f"/badges/agreements/{dataset.agreements['A1']}.svg"
    first = await client.get(url)
    etag = first.headers["etag"]
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    english = await client.get(url, params={"lang": "en"})
    assert english.headers["etag"] != etag  # another picture, another validator
    assert (await client.get(url, params={"lang": "en"}, headers={"If-None-Match": etag})).status_code == 200
    head = await client.head(url)
    assert head.status_code == 200
    assert head.headers["etag"] == etag
    assert head.headers["content-length"] == first.headers["content-length"]


async def test_organization_badge(client: httpx2.AsyncClient, dataset: Dataset, world: World) -> None:
    response = await client.get(f"/badges/organizations/{world.signatory.id}.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    svg = text_of(response.text)
    # Guadalajara: A1 and A4 are public; the draft A3 counts nowhere.
    assert "2 acuerdos públicos" in svg
    assert "de metas cumplidas" in svg
    english = await client.get(f"/badges/organizations/{world.signatory.id}.svg", params={"lang": "en"})
    assert "2 public agreements" in text_of(english.text)


async def test_badges_of_hidden_or_unknown_ids_are_404(
    client: httpx2.AsyncClient, dataset: Dataset, world: World
) -> None:
    for url in (
        f"/badges/agreements/{dataset.agreements['A3']}.svg",  # a draft
        f"/badges/agreements/{uuid.uuid4()}.svg",
        "/badges/agreements/not-a-uuid.svg",
        f"/badges/organizations/{uuid.uuid4()}.svg",
        f"/badges/organizations/{world.participant.id}.svg",  # signed nothing public
    ):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert response.headers["content-type"] == "application/problem+json"
        assert "Borrador" not in response.text


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


@pytest.mark.parametrize("share", [None, 0.0, 0.5, 1.0])
def test_badge_text_contrast_is_at_least_4_5(share: float | None) -> None:
    svg = badge_svg(label="Pacta", message="m", title="t", tone=tone_of(share), lang="es").decode()
    text = re.search(r'<g fill="(#[0-9a-f]{6})"', svg)
    assert text
    for background in re.findall(r'<rect [^>]*fill="(#[0-9a-f]{6})"', svg):
        light, dark = sorted((_luminance(text.group(1)), _luminance(background)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, background


# --- embeds ----------------------------------------------------------------------------------------


def assert_self_contained(response: httpx2.Response) -> str:
    document = response.text
    assert "<script" not in document
    assert "<link" not in document
    assert "url(" not in document
    for attribute in re.findall(r'(?:href|src|action)="([^"]*)"', document):
        assert attribute.startswith("/"), attribute
    return document


@pytest.mark.parametrize("lang", ["es", "en"])
async def test_agreement_embed(client: httpx2.AsyncClient, dataset: Dataset, lang: str) -> None:
    t = Locale(lang)
    response = await client.get(f"/embed/agreements/{dataset.agreements['A1']}", params={"lang": lang})
    assert response.status_code == 200
    document = assert_self_contained(response)
    assert f'<html lang="{lang}">' in document
    assert "<title>Hermanamiento Guadalajara - Kraków · " in document
    # Targets with their three milestones, each bar with its text equivalent.
    target = dataset.targets["T1"]
    assert f'id="target-{target}"' in document
    assert len(re.findall(rf'<section class="card target" id="target-{target}"', document)) == 1
    section = re.search(rf'id="target-{target}".*?</section>', document, re.S)
    assert section
    assert [int(m) for m in re.findall(r'data-months="(\d+)"', section.group(0))] == [6, 12, 24]
    assert len(re.findall(r'<svg class="progress"[^>]*role="img" aria-label="[^"]+"', section.group(0))) == 3
    # The latest verified (accepted) evidence with its hash; not the one still waiting.
    latest = re.search(r'<section class="card" id="latest-evidence".*?</section>', document, re.S)
    assert latest
    assert t["latest_evidence"] in latest.group(0)
    hashes = re.findall(r'<code class="hash sha256">([0-9a-f]{64})</code>', latest.group(0))
    accepted = {e["sha256"] for name, e in dataset.evidence.items() if name in ("E1", "E1B", "E2")}
    assert len(hashes) == 1
    assert hashes[0] in accepted
    assert dataset.evidence["E3"]["sha256"] not in document
    # Links open outside the frame.
    assert '<base target="_blank">' in document


async def test_embeds_may_be_framed_and_nothing_else(
    client: httpx2.AsyncClient, dataset: Dataset, world: World
) -> None:
    for url in (f"/embed/agreements/{dataset.agreements['A1']}", f"/embed/organizations/{world.signatory.id}"):
        response = await client.get(url)
        assert response.status_code == 200, url
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors *" in policy
        assert "default-src 'none'" in policy
        assert "x-frame-options" not in response.headers
    for url in (
        "/dashboard",
        f"/dashboard/agreements/{dataset.agreements['A1']}",
        f"/dashboard/organizations/{world.signatory.id}",
    ):
        response = await client.get(url)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], url


async def test_embed_origins_come_from_the_settings(app: Any, client: httpx2.AsyncClient, dataset: Dataset) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"embed_origins": ["https://portal.guadalajara.gob.mx", "https://jalisco.gob.mx"]}
    )
    response = await client.get(f"/embed/agreements/{dataset.agreements['A1']}")
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors https://portal.guadalajara.gob.mx https://jalisco.gob.mx" in policy


async def test_organization_embed(client: httpx2.AsyncClient, dataset: Dataset, world: World) -> None:
    response = await client.get(f"/embed/organizations/{world.signatory.id}", params={"lang": "en"})
    assert response.status_code == 200
    document = assert_self_contained(response)
    assert '<html lang="en">' in document
    assert "Hermanamiento Guadalajara - Kraków" in document
    assert "Borrador privado" not in document
    assert 'id="milestones"' in document
    # The chart has its words beside it: each status with its count.
    assert re.search(r'<li data-status="met">.*?<strong>\d+</strong>', document)


async def test_embeds_of_hidden_or_unknown_ids_are_404(
    client: httpx2.AsyncClient, dataset: Dataset, world: World
) -> None:
    for url in (
        f"/embed/agreements/{dataset.agreements['A3']}",
        f"/embed/agreements/{uuid.uuid4()}",
        "/embed/agreements/nope",
        f"/embed/organizations/{uuid.uuid4()}",
        f"/embed/organizations/{world.participant.id}",
    ):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert "Borrador privado" not in response.text
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


# --- the organization's page -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["es", "en"])
async def test_organization_page(client: httpx2.AsyncClient, dataset: Dataset, world: World, lang: str) -> None:
    t = Locale(lang)
    response = await client.get(f"/dashboard/organizations/{world.signatory.id}", params={"lang": lang})
    assert response.status_code == 200
    document = assert_self_contained(response)
    assert f'<html lang="{lang}">' in document
    assert f'<h1 id="organization-name">{world.signatory.name}</h1>' in document
    figures = (await client.get("/v1/dashboard/summary", params={"signatory_org_id": str(world.signatory.id)})).json()
    kpi = re.search(r'<div class="kpi" id="kpi-agreements"><span class="value">(\d+)</span>', document)
    assert kpi
    assert int(kpi.group(1)) == figures["agreements"] == 2
    agreements = re.search(r'<ul class="agreements" id="agreements">(.*?)</ul>', document, re.S)
    assert agreements
    assert "Hermanamiento Guadalajara - Kraków" in agreements.group(1)
    assert "Borrador privado" not in document
    assert t["key_indicators"] in document
    assert f'src="/badges/organizations/{world.signatory.id}.svg' in document


async def test_organizations_are_linked_where_the_dashboard_names_them(
    client: httpx2.AsyncClient, dataset: Dataset, world: World
) -> None:
    href = f'href="/dashboard/organizations/{world.signatory.id}"'
    assert href in (await client.get("/dashboard")).text
    assert href in (await client.get(f"/dashboard/agreements/{dataset.agreements['A1']}")).text
    english = (await client.get("/dashboard", params={"lang": "en"})).text
    assert f'href="/dashboard/organizations/{world.signatory.id}?lang=en"' in english


async def test_unknown_or_unpublished_organizations_are_404_pages(
    client: httpx2.AsyncClient, dataset: Dataset, world: World
) -> None:
    for org in (str(uuid.uuid4()), str(world.participant.id), "nope"):
        response = await client.get(f"/dashboard/organizations/{org}")
        assert response.status_code == 404
        assert Locale("es")["not_found_organization"] in response.text


BAR = r'<div class="agreement-progress" data-met="(\d+)" data-decided="(\d+)">(.*?)</div>'
BAR_FILL = r'<svg class="progress"[^>]*aria-hidden="true">.*?<rect class="met"[^>]*width="([\d.]+)"'


@pytest.mark.parametrize(
    ("lang", "sentence"),
    [("es", "{met} de {decided} metas cumplidas"), ("en", "{met} of {decided} milestones met")],
)
async def test_organization_page_shows_each_agreements_progress(
    client: httpx2.AsyncClient, dataset: Dataset, world: World, lang: str, sentence: str
) -> None:
    response = await client.get(f"/dashboard/organizations/{world.signatory.id}", params={"lang": lang})
    assert response.status_code == 200
    items = re.findall(r'<li data-agreement-id="([^"]+)">(.*?)</li>', response.text, re.S)
    # Guadalajara: A1 and A4 are public; the draft A3 is listed nowhere.
    assert {agreement_id for agreement_id, _ in items} == {dataset.agreements["A1"], dataset.agreements["A4"]}
    seen_progress = False
    for agreement_id, item in items:
        met, decided = await met_and_decided(client, agreement_id)
        bar = re.search(BAR, item, re.S)
        assert bar, item
        assert (int(bar.group(1)), int(bar.group(2))) == (met, decided)
        # The bar is drawn for the eye; the sentence beside it says the same in words.
        svg = re.search(BAR_FILL, bar.group(3))
        assert svg
        text = text_of(re.sub(r"<svg.*?</svg>", "", bar.group(3), flags=re.S))
        if decided:
            seen_progress = True
            assert float(svg.group(1)) == round(100 * met / decided, 2)
            assert text == sentence.format(met=met, decided=decided)
        else:
            assert float(svg.group(1)) == 0
            assert text == Locale(lang)["agreement_progress_none"]
    assert seen_progress  # the data set's A1 has milestones met and missed


@pytest.mark.parametrize("kind", ["agreements", "organizations"])
async def test_embeds_answer_with_an_etag_and_304(
    client: httpx2.AsyncClient, dataset: Dataset, world: World, kind: str
) -> None:
    subject = dataset.agreements["A1"] if kind == "agreements" else str(world.signatory.id)
    url = f"/embed/{kind}/{subject}"
    first = await client.get(url)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    # The 304 carries what the 200 would: the portal may still frame what the browser keeps.
    assert again.headers["content-security-policy"] == first.headers["content-security-policy"]
    assert (await client.get(url, headers={"If-None-Match": f'"other", W/{etag}'})).status_code == 304
    english = await client.get(url, params={"lang": "en"})
    assert english.status_code == 200
    assert english.headers["etag"] != etag  # another text, another validator
    assert (await client.get(url, params={"lang": "en"}, headers={"If-None-Match": etag})).status_code == 200
    assert (await client.get(url, headers={"If-None-Match": '"stale"'})).status_code == 200
    head = await client.head(url)
    assert head.status_code == 200
    assert head.headers["etag"] == etag
