"""A known data set, loaded through the API, and the dashboard figures it must give.

Two signatories in two states (Guadalajara, MX-JAL; Monterrey, MX-NLE). Evaluated on `TODAY`:

- A1, Guadalajara, signed 2025-01-15, in force, registered; counterparts in PL (twice) and US.
  T1 companies served 0 → 10/25/60: verified 12 (2025-07-01) and 20 (2025-12-01); a reported,
  unverified 40 (2026-02-01) that must count nowhere. T2 investment pipeline, MXN, 0 → 1M/5M/10M:
  verified 1,234,567.5.
- A2, Monterrey, signed 2025-03-01, in force, registration pending; counterpart in US.
  T3 companies served 5 → 15/30/50: verified 9. T4 investment pipeline, USD → 100/200/300:
  verified 250 (meets 6 and 12 months early). T5 qualitative, nothing verified. T6 a descending
  target (response hours 72 → 48/24/12): verified 60.
- A3, Guadalajara, an unsigned draft (private) with a verified 1,000 companies: counts nowhere.
- A4, Guadalajara, signed 2024-01-10, terminated 2025-12-01, registration submitted; counterpart DE.

Milestones fall due on 2025-07-15/2026-01-15/2027-01-15 (A1) and 2025-09-01/2026-03-01/2027-03-01
(A2): on TODAY the 12-month ones of A2 are due that very day, so still scheduled.
"""

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx2

TODAY = date(2026, 3, 1)

AGREEMENTS = "/v1/agreements"


@dataclass
class Dataset:
    agreements: dict[str, str] = field(default_factory=dict)  # A1... -> id
    targets: dict[str, str] = field(default_factory=dict)  # T1... -> id
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> the evidence read
    contents: dict[str, bytes] = field(default_factory=dict)  # evidence name -> its bytes


def counterpart(name: str, country: str) -> dict[str, Any]:
    return {"name": name, "kind": "foreign_government_body", "country": country}


async def _post(client: httpx2.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(url, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    created: dict[str, Any] = response.json()
    return created


async def _agreement(
    client: httpx2.AsyncClient, headers: dict[str, str], signatory: uuid.UUID, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Acuerdo",
        "instrument": "sister_city",
        "signatory_org_id": str(signatory),
        "counterparts": [counterpart("Kraków", "PL")],
        "subject_areas": ["culture"],
        "languages": ["es"],
    }
    body.update(fields)
    return await _post(client, AGREEMENTS, headers, body)


async def _target(
    client: httpx2.AsyncClient, headers: dict[str, str], agreement_id: str, **fields: Any
) -> dict[str, Any]:
    return await _post(client, f"{AGREEMENTS}/{agreement_id}/targets", headers, fields)


async def _evidence(
    client: httpx2.AsyncClient,
    headers: dict[str, str],
    data: Dataset,
    name: str,
    agreement_id: str,
    *,
    accept: bool | None,
    document_type: str = "progress_report",
    target_id: str | None = None,
    title: str | None = None,
) -> str:
    content = f"Informe {name} del acuerdo {agreement_id}: evidencia sintética de prueba.\n".encode()
    form = {"title": title or f"Informe {name}", "document_type": document_type}
    if target_id is not None:
        form["target_id"] = target_id
    response = await client.post(
        f"{AGREEMENTS}/{agreement_id}/evidence",
        files={"file": (f"{name.lower()}.txt", content, "text/plain")},
        data=form,
        headers=headers,
    )
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    assert document["sha256"] == hashlib.sha256(content).hexdigest()
    if accept is not None:
        decision = "accepted" if accept else "rejected"
        document = await _post(client, f"/v1/evidence/{document['id']}/review", headers, {"decision": decision})
    data.evidence[name] = document
    data.contents[name] = content
    return str(document["id"])


async def _measure(
    client: httpx2.AsyncClient,
    headers: dict[str, str],
    target_id: str,
    as_of: str,
    value: float | None,
    evidence_ids: list[str],
    *,
    verify: bool = True,
) -> dict[str, Any]:
    measurement = await _post(
        client,
        f"/v1/targets/{target_id}/measurements",
        headers,
        {"as_of": as_of, "value": value, "evidence_ids": evidence_ids},
    )
    if verify:
        measurement = await _post(
            client, f"/v1/measurements/{measurement['id']}/verification", headers, {"decision": "verified"}
        )
    return measurement


def _milestones(*pairs: tuple[int, float]) -> list[dict[str, Any]]:
    return [{"months": m, "target_value": v} for m, v in pairs]


async def build(
    client: httpx2.AsyncClient, admin: dict[str, str], *, jalisco: uuid.UUID, nuevo_leon: uuid.UUID
) -> Dataset:
    """Load the data set through the API with an admin key; `jalisco` and `nuevo_leon` are two
    municipalities (the signatories)."""
    data = Dataset()

    a1 = await _agreement(
        client,
        admin,
        jalisco,
        title="Hermanamiento Guadalajara - Kraków",
        counterparts=[counterpart("Kraków", "PL"), counterpart("Łódź", "PL"), counterpart("San Antonio", "US")],
        subject_areas=["culture", "trade"],
        signed_on="2025-01-15",
        signed_place="Guadalajara, Jalisco",
    )
    data.agreements["A1"] = a1["id"]
    await _post(
        client,
        f"{AGREEMENTS}/{a1['id']}/registrations",
        admin,
        {
            "registry": "sre",
            "status": "registered",
            "submitted_on": "2025-02-01",
            "registered_on": "2025-03-01",
            "registry_number": "SRE-AI-2025-0001",
        },
    )
    t1 = await _target(
        client,
        admin,
        a1["id"],
        indicator="companies_served",
        title="Empresas jaliscienses atendidas en Polonia",
        measure="count",
        baseline={"value": 0, "on": "2025-01-15"},
        milestones=_milestones((6, 10), (12, 25), (24, 60)),
    )
    t2 = await _target(
        client,
        admin,
        a1["id"],
        indicator="investment_pipeline",
        title="Cartera de inversión polaca",
        measure="currency",
        unit="MXN",
        baseline={"value": 0},
        milestones=_milestones((6, 1_000_000), (12, 5_000_000), (24, 10_000_000)),
    )
    data.targets |= {"T1": t1["id"], "T2": t2["id"]}
    e1 = await _evidence(
        client, admin, data, "E1", a1["id"], accept=True, target_id=t1["id"], title="Lista de empresas atendidas"
    )
    e1b = await _evidence(client, admin, data, "E1B", a1["id"], accept=True, title="Informe semestral de empresas")
    e2 = await _evidence(
        client, admin, data, "E2", a1["id"], accept=True, document_type="agreement_text", title="Texto firmado"
    )
    e3 = await _evidence(client, admin, data, "E3", a1["id"], accept=None, title="Carta de intención de inversión")
    await _measure(client, admin, t1["id"], "2025-07-01", 12, [e1])
    await _measure(client, admin, t1["id"], "2025-12-01", 20, [e1b])
    await _measure(client, admin, t1["id"], "2026-02-01", 40, [e1], verify=False)
    await _measure(client, admin, t2["id"], "2025-06-01", 1_234_567.5, [e3])
    assert e2  # the signed text backs no target: the page lists it apart

    a2 = await _agreement(
        client,
        admin,
        nuevo_leon,
        title="Hermanamiento Monterrey - Austin",
        counterparts=[counterpart("Austin", "US")],
        subject_areas=["education", "trade"],
        signed_on="2025-03-01",
    )
    data.agreements["A2"] = a2["id"]
    t3 = await _target(
        client,
        admin,
        a2["id"],
        indicator="companies_served",
        title="Empresas regiomontanas atendidas",
        measure="count",
        baseline={"value": 5},
        milestones=_milestones((6, 15), (12, 30), (24, 50)),
    )
    t4 = await _target(
        client,
        admin,
        a2["id"],
        indicator="investment_pipeline",
        title="Inversión texana anunciada",
        measure="currency",
        unit="USD",
        milestones=_milestones((6, 100), (12, 200), (24, 300)),
    )
    t5 = await _target(
        client,
        admin,
        a2["id"],
        indicator="public_service_improvements",
        title="Protocolo de movilidad adoptado",
        measure="qualitative",
    )
    t6 = await _target(
        client,
        admin,
        a2["id"],
        indicator="public_service_improvements",
        title="Horas de respuesta a reportes",
        measure="count",
        unit="hours",
        ascending=False,
        baseline={"value": 72},
        milestones=_milestones((6, 48), (12, 24), (24, 12)),
    )
    data.targets |= {"T3": t3["id"], "T4": t4["id"], "T5": t5["id"], "T6": t6["id"]}
    e4 = await _evidence(client, admin, data, "E4", a2["id"], accept=True, target_id=t3["id"])
    e5 = await _evidence(client, admin, data, "E5", a2["id"], accept=False, target_id=t4["id"])
    e6 = await _evidence(client, admin, data, "E6", a2["id"], accept=True)
    await _measure(client, admin, t3["id"], "2025-08-01", 9, [e4])
    assert e5  # rejected: neither cited nor shown
    await _measure(client, admin, t4["id"], "2025-08-15", 250, [e6])
    await _measure(client, admin, t6["id"], "2025-08-01", 60, [e6])

    a3 = await _agreement(client, admin, jalisco, title="Borrador privado con Tokio", subject_areas=["energy"])
    data.agreements["A3"] = a3["id"]
    t7 = await _target(
        client,
        admin,
        a3["id"],
        indicator="companies_served",
        title="Empresas (borrador)",
        measure="count",
        milestones=_milestones((6, 1), (12, 2), (24, 3)),
    )
    data.targets["T7"] = t7["id"]
    e7 = await _evidence(client, admin, data, "E7", a3["id"], accept=True, target_id=t7["id"])
    await _measure(client, admin, t7["id"], "2025-06-01", 1000, [e7])

    a4 = await _agreement(
        client,
        admin,
        jalisco,
        title="Cooperación turística Guadalajara - Köln",
        instrument="cooperation",
        counterparts=[counterpart("Köln", "DE")],
        subject_areas=["tourism"],
        signed_on="2024-01-10",
        terminated_on="2025-12-01",
        termination_reason="Sin actividad desde 2024.",
    )
    data.agreements["A4"] = a4["id"]
    await _post(
        client,
        f"{AGREEMENTS}/{a4['id']}/registrations",
        admin,
        {"registry": "sre", "status": "submitted", "submitted_on": "2024-02-01"},
    )
    return data


# What /v1/dashboard/summary gives on TODAY, unfiltered.
EXPECTED: dict[str, Any] = {
    "as_of": TODAY.isoformat(),
    "agreements": 3,
    "by_status": {"signed": 0, "in_force": 2, "suspended": 0, "expired": 0, "withdrawn": 0, "terminated": 1},
    "by_registration_status": {"pending": 1, "submitted": 1, "registered": 1, "rejected": 0},
    "subject_areas_nonzero": {"culture": 1, "trade": 2, "education": 1, "tourism": 1},
    "by_counterpart_country": {"US": 2, "DE": 1, "PL": 1},
    "by_state": [
        {"state": "MX-JAL", "name": "Jalisco", "agreements": 2},
        {"state": "MX-NLE", "name": "Nuevo León", "agreements": 1},
    ],
    "key_indicators": [
        {"indicator": "companies_served", "measure": "count", "unit": None, "total": 29.0, "targets": 2},
        {"indicator": "investment_pipeline", "measure": "currency", "unit": "MXN", "total": 1234567.5, "targets": 1},
        {"indicator": "investment_pipeline", "measure": "currency", "unit": "USD", "total": 250.0, "targets": 1},
        {"indicator": "public_service_improvements", "measure": "count", "unit": "hours", "total": 60.0, "targets": 1},
    ],
    "milestones": {
        "by_status": {"scheduled": 9, "met": 4, "partially_met": 4, "not_met": 1},
        "milestones": 18,
        "due": 8,
        # 12/10, 20/25, 1234567.5/1e6, 1234567.5/5e6, (9-5)/(15-5), 250/100, (60-72)/(48-72): 7 numeric due
        "mean_attainment": round((1.2 + 0.8 + 1.2345675 + 0.2469135 + 0.4 + 2.5 + 0.5) / 7, 4),
        "attainment_milestones": 7,
    },
}
