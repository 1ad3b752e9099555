"""Shared helpers for the target and measurement tests.

Everything goes through the API on real PostgreSQL, with the cast of `tests.factories`
(one key per role, "today" pinned). The agreement lives from `SIGNED_ON`, so its milestones fall
due on 2025-07-15 (6 months), 2026-01-15 (12) and 2027-01-15 (24).
"""

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import httpx2
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import AGREEMENTS, World, count, create_agreement, pin_today

TARGETS = "/v1/targets"
MEASUREMENTS = "/v1/measurements"

SIGNED_ON = date(2025, 1, 15)
DUE_6, DUE_12, DUE_24 = date(2025, 7, 15), date(2026, 1, 15), date(2027, 1, 15)
# Late enough that every measurement a test reports is in the past: reports happen on this day,
# reads are then evaluated on whichever day the test pins.
LATE = date(2027, 6, 1)


def targets_of(agreement_id: str) -> str:
    return f"{AGREEMENTS}/{agreement_id}/targets"


def measurements_of(target_id: str) -> str:
    return f"{TARGETS}/{target_id}/measurements"


async def make_agreement(client: httpx2.AsyncClient, world: World, scenario: str = "public") -> dict[str, Any]:
    """The signatory's agreement listing the participant; "public" is signed on SIGNED_ON,
    "private" is an unsigned draft."""
    fields: dict[str, Any] = {"participant_org_ids": [str(world.participant.id)]}
    if scenario == "public":
        fields["signed_on"] = SIGNED_ON.isoformat()
    return await create_agreement(client, world.headers("editor"), world.signatory.id, **fields)


def target_body(**fields: Any) -> dict[str, Any]:
    """Companies served, from 0 to 10, 25 and 60 at 6, 12 and 24 months; `fields` override."""
    body: dict[str, Any] = {
        "indicator": "companies_served",
        "title": "Empresas atendidas",
        "measure": "count",
        "baseline": {"value": 0, "on": SIGNED_ON.isoformat(), "comment": "Sin atención previa"},
        "milestones": [
            {"months": 6, "target_value": 10},
            {"months": 12, "target_value": 25},
            {"months": 24, "target_value": 60},
        ],
    }
    body.update(fields)
    return body


def qualitative_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "indicator": "public_service_improvements",
        "title": "Protocolo de recolección de residuos adoptado",
        "measure": "qualitative",
    }
    body.update(fields)
    return body


def descending_body(**fields: Any) -> dict[str, Any]:
    """A response time to bring down from 72 hours to 48, 24 and 12."""
    body: dict[str, Any] = {
        "indicator": "public_service_improvements",
        "title": "Tiempo de respuesta a reportes ciudadanos",
        "measure": "count",
        "unit": "hours",
        "ascending": False,
        "baseline": {"value": 72},
        "milestones": [
            {"months": 6, "target_value": 48},
            {"months": 12, "target_value": 24},
            {"months": 24, "target_value": 12},
        ],
    }
    body.update(fields)
    return body


async def create_target(
    client: httpx2.AsyncClient, headers: dict[str, str], agreement_id: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await client.post(targets_of(agreement_id), json=body or target_body(), headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def pdf(tag: str | None = None) -> bytes:
    """A small PDF whose content (so its hash) is unique to this call."""
    marker = (tag or uuid.uuid4().hex).encode()
    return b"%PDF-1.4\n%" + marker + b"\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


async def upload_evidence(
    client: httpx2.AsyncClient, headers: dict[str, str], agreement_id: str, *, title: str = "Lista de asistencia"
) -> dict[str, Any]:
    response = await client.post(
        f"{AGREEMENTS}/{agreement_id}/evidence",
        files={"file": ("lista.pdf", pdf(), "application/pdf")},
        data={"title": title, "document_type": "attendance_list"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def review_evidence(
    client: httpx2.AsyncClient, headers: dict[str, str], evidence_id: str, decision: str
) -> dict[str, Any]:
    response = await client.post(f"/v1/evidence/{evidence_id}/review", json={"decision": decision}, headers=headers)
    assert response.status_code == 200, response.text
    reviewed: dict[str, Any] = response.json()
    return reviewed


async def report(
    client: httpx2.AsyncClient,
    headers: dict[str, str],
    target_id: str,
    *,
    as_of: date,
    value: float | None,
    evidence_ids: Sequence[str] = (),
    **fields: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"as_of": as_of.isoformat(), "value": value, "evidence_ids": list(evidence_ids), **fields}
    response = await client.post(measurements_of(target_id), json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def decide(
    client: httpx2.AsyncClient, headers: dict[str, str], measurement_id: str, decision: str = "verified"
) -> dict[str, Any]:
    response = await client.post(
        f"{MEASUREMENTS}/{measurement_id}/verification", json={"decision": decision}, headers=headers
    )
    assert response.status_code == 200, response.text
    decided: dict[str, Any] = response.json()
    return decided


class Progress:
    """Reports measurements as the participant, cites one evidence document, decides as the
    signatory's editor; reports are made on `LATE` so any as_of up to then is accepted."""

    def __init__(self, client: httpx2.AsyncClient, app: FastAPI, world: World, agreement_id: str) -> None:
        self.client, self.app, self.world, self.agreement_id = client, app, world, agreement_id
        self._evidence: str | None = None

    async def evidence(self) -> str:
        if self._evidence is None:
            self._evidence = (await upload_evidence(self.client, self.world.headers("participant"), self.agreement_id))[
                "id"
            ]
        return self._evidence

    async def add(self, target_id: str, as_of: date, value: float | None, decision: str | None = "verified") -> str:
        """One measurement, left reported (decision None), verified or rejected; returns its id."""
        pin_today(self.app, LATE)
        measurement = await report(
            self.client,
            self.world.headers("participant"),
            target_id,
            as_of=as_of,
            value=value,
            evidence_ids=[await self.evidence()],
        )
        if decision is not None:
            await decide(self.client, self.world.headers("editor"), measurement["id"], decision)
        identifier: str = measurement["id"]
        return identifier


async def read_target(
    client: httpx2.AsyncClient, app: FastAPI, target_id: str, on: date, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The target as evaluated on `on` (anonymous unless `headers`)."""
    pin_today(app, on)
    response = await client.get(f"{TARGETS}/{target_id}", headers=headers or {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def summary(target: dict[str, Any]) -> list[tuple[int, str, float | None, float | None]]:
    """Each milestone as (months, status, actual_value, attainment)."""
    return [(m["months"], m["status"], m["actual_value"], m["attainment"]) for m in target["milestones"]]


async def snapshot(session: AsyncSession) -> tuple[int, int, int, int]:
    """Rows that any target or measurement write would add to: proves a refusal wrote nothing."""
    return (
        await count(session, "targets"),
        await count(session, "measurements"),
        await count(session, "measurement_evidence"),
        await count(session, "log_entries"),
    )


async def log_tail(session: AsyncSession, n: int) -> list[dict[str, Any]]:
    """The last `n` log entries, oldest first, with the agreement they are filed under and the
    document they recorded."""
    rows = (
        await session.execute(
            text(
                "SELECT e.index, e.action, e.resource_type, e.resource_id, e.actor_org_id, d.agreement_id, d.document "
                "FROM log_entries e JOIN log_details d ON d.index = e.index ORDER BY e.index DESC LIMIT :n"
            ),
            {"n": n},
        )
    ).mappings()
    entries = [dict(r) for r in rows]
    await session.commit()
    return entries[::-1]
