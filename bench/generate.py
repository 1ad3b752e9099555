"""A realistic data set of any size, written straight into the tables with COPY.

Signatories are real INEGI municipalities drawn by population (one organization per municipality
drawn) and the 32 state governments; counterparts are real foreign cities in countries weighted
like the real sister-city pairs; signature years run 1970-2026, denser in recent decades; the
status mix covers drafts, reviews, clearance, signature, force, expiry, suspension, withdrawal and
termination. Legal reviews and registrations are dated consistently with the signature, and the
agreement's `legal_stage` and `registration_state` are computed from them by the same rules as
app/legal_reviews/service.py and app/registrations/service.py (checked on a sample by calling
those very functions, see `verify_sample`).

Bulk-loaded rows get no transparency-log entries (the log is only written through the API), so
`pacta log verify` on a bench database reports them; the bench database is disposable.
"""

import asyncio
import json
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from app import catalogs
from app.legal_reviews.service import legal_stage
from app.models import LegalReview, Registration
from app.models.agreements import (
    AgreementStatus,
    CounterpartKind,
    Instrument,
    LegalStage,
    RegistrationState,
    Registry,
    ReviewKind,
    ReviewOutcome,
    SubjectArea,
)
from app.registrations.service import registration_state
from bench.vocabulary import (
    AREA_ES,
    AREA_WEIGHTS,
    CLOSINGS,
    COUNTRIES,
    INSTRUMENT_WEIGHTS,
    INTERNATIONAL_ORGANIZATIONS,
    MIDDLES,
    OPENINGS,
    REVIEWERS,
    TERMINATION_REASONS,
    TITLES,
)

GENERATOR_VERSION = 1
BATCH = 10_000
FIRST_YEAR = 1970
LSCT_YEAR = 1992  # Ley sobre la Celebración de Tratados: SRE dictamen and registry from then on
BACKFILL_FROM = date(2019, 1, 1)  # older agreements entered the registry as a backfill

# Share of agreements per status as of the generation day (sums to 100).
STATUS_WEIGHTS: dict[AgreementStatus, int] = {
    AgreementStatus.draft: 5,
    AgreementStatus.under_review: 7,
    AgreementStatus.not_viable: 1,
    AgreementStatus.cleared_for_signature: 3,
    AgreementStatus.signed: 2,
    AgreementStatus.in_force: 50,
    AgreementStatus.expired: 17,
    AgreementStatus.terminated: 8,
    AgreementStatus.suspended: 3,
    AgreementStatus.withdrawn: 4,
}
STATE_SIGNATORY_SHARE = 0.07

ORG_COLUMNS = ("id", "name", "kind", "country", "subdivision", "inegi_code", "website", "created_at", "updated_at")
AGREEMENT_COLUMNS = (
    "id",
    "signatory_org_id",
    "title",
    "instrument",
    "summary",
    "subject_areas",
    "counterparts",
    "languages",
    "has_dispute_settlement_clause",
    "signed_on",
    "signed_place",
    "entry_into_force_on",
    "expires_on",
    "suspended_on",
    "terminated_on",
    "termination_reason",
    "withdrawn_on",
    "external_ref",
    "legal_stage",
    "registration_state",
    "created_at",
    "updated_at",
)
PARTICIPANT_COLUMNS = ("agreement_id", "organization_id")
REVIEW_COLUMNS = (
    "id",
    "agreement_id",
    "kind",
    "requested_on",
    "decided_on",
    "outcome",
    "reference",
    "reviewer",
    "observations",
    "checks",
    "document_id",
    "created_at",
    "updated_at",
)
REGISTRATION_COLUMNS = (
    "id",
    "agreement_id",
    "registry_kind",
    "status",
    "submitted_on",
    "registered_on",
    "registry_number",
    "observations",
    "document_id",
    "created_at",
    "updated_at",
)
FAVORABLE = (ReviewOutcome.favorable.value, ReviewOutcome.favorable_with_observations.value)


@dataclass(frozen=True, slots=True)
class Org:
    id: uuid.UUID
    name: str
    kind: str
    subdivision: str
    inegi_code: str | None
    display: str  # how a title names it
    seat: str

    def row(self, at: datetime) -> tuple[Any, ...]:
        return (self.id, self.name, self.kind, "MX", self.subdivision, self.inegi_code, None, at, at)


@dataclass(slots=True)
class Batch:
    agreements: list[tuple[Any, ...]] = field(default_factory=list)
    participants: list[tuple[Any, ...]] = field(default_factory=list)
    reviews: list[tuple[Any, ...]] = field(default_factory=list)
    registrations: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass(slots=True)
class Plan:
    """Everything decided before the batches: who signs each agreement, and the organizations."""

    signatories: list[Org]
    organizations: list[Org]
    participant_pool: dict[str, list[Org]]  # subdivision -> universities, chambers
    today: date
    now: datetime
    seed: int


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def make_plan(count: int, *, seed: int, today: date) -> Plan:
    rng = random.Random(seed)
    municipalities = sorted(catalogs.municipalities().values(), key=lambda m: m.inegi_code)
    names: dict[tuple[str, str], int] = {}
    for m in municipalities:
        names[(m.name, m.state_name)] = names.get((m.name, m.state_name), 0) + 1
    drawn = rng.choices(municipalities, weights=[m.population_2020 for m in municipalities], k=count)
    by_code: dict[str, Org] = {}
    state_pop: dict[str, int] = {}
    state_name: dict[str, str] = {}
    for m in municipalities:
        state_pop[m.subdivision] = state_pop.get(m.subdivision, 0) + m.population_2020
        state_name[m.subdivision] = m.state_name
    for m in sorted({m.inegi_code: m for m in drawn}.values(), key=lambda m: m.inegi_code):
        suffix = f" ({m.inegi_code})" if names[(m.name, m.state_name)] > 1 else ""
        by_code[m.inegi_code] = Org(
            id=_uuid(rng),
            name=f"Municipio de {m.name}{suffix}, {m.state_name}",
            kind="municipality",
            subdivision=m.subdivision,
            inegi_code=m.inegi_code,
            display=f"el Municipio de {m.name}, {m.state_name}",
            seat=m.seat_name or m.name,
        )
    states = {
        sub: Org(
            id=_uuid(rng),
            name=f"Gobierno del Estado de {name}",
            kind="state",
            subdivision=sub,
            inegi_code=None,
            display=f"el Gobierno del Estado de {name}",
            seat=name,
        )
        for sub, name in sorted(state_name.items())
    }
    state_subs = sorted(states)
    state_weights = [state_pop[s] for s in state_subs]
    signatories = [
        states[rng.choices(state_subs, weights=state_weights)[0]]
        if rng.random() < STATE_SIGNATORY_SHARE
        else by_code[m.inegi_code]
        for m in drawn
    ]
    pool: dict[str, list[Org]] = {}
    extra: list[Org] = []
    for sub, name in sorted(state_name.items()):
        members = [
            Org(_uuid(rng), f"Universidad Autónoma de {name} (bench)", "university", sub, None, "", ""),
            Org(_uuid(rng), f"Cámara de Comercio de {name} (bench)", "business_chamber", sub, None, "", ""),
            Org(_uuid(rng), f"Consejo Ciudadano de {name} (bench)", "civil_society", sub, None, "", ""),
        ]
        pool[sub] = members
        extra.extend(members)
    organizations = [*by_code.values(), *states.values(), *extra]
    now = datetime.now(UTC).replace(microsecond=0)
    return Plan(signatories, organizations, pool, today, now, seed)


class _Agreements:
    """Generates one batch; each batch has its own random stream so batches can run in any thread."""

    def __init__(self, plan: Plan, batch_no: int) -> None:
        self.plan = plan
        self.rng = random.Random(f"{plan.seed}:{batch_no}")
        self.today = plan.today.toordinal()
        self.now = plan.now
        self.batch_no = batch_no
        countries = sorted(COUNTRIES)
        self.countries = countries
        self.country_cum = _cumulative([COUNTRIES[c][0] for c in countries])
        self.instruments = list(INSTRUMENT_WEIGHTS)
        self.instrument_cum = _cumulative(list(INSTRUMENT_WEIGHTS.values()))
        self.statuses = list(STATUS_WEIGHTS)
        self.status_cum = _cumulative(list(STATUS_WEIGHTS.values()))
        self.years = list(range(FIRST_YEAR, plan.today.year + 1))
        self.year_cum = _cumulative([(y - FIRST_YEAR + 5) ** 1.6 for y in self.years])
        self.areas = {i: (list(w), _cumulative(list(w.values()))) for i, w in AREA_WEIGHTS.items()}

    # -- small helpers --------------------------------------------------------------------
    def pick_year(self, latest: int) -> int:
        while True:
            year = self.rng.choices(self.years, cum_weights=self.year_cum)[0]
            if year <= latest:
                return year

    def day_in(self, year: int, *, not_after: int) -> int:
        start = date(year, 1, 1).toordinal()
        end = min(date(year, 12, 31).toordinal(), not_after)
        return self.rng.randint(start, max(start, end))

    def moment(self, day: int) -> datetime:
        """A working-hours instant on that day (Mexico City is UTC-6), never after now."""
        at = datetime.combine(date.fromordinal(day), datetime.min.time(), UTC) + timedelta(
            seconds=self.rng.randint(14 * 3600, 24 * 3600 - 1), microseconds=self.rng.randint(0, 999_999)
        )
        return min(at, self.now - timedelta(seconds=1, microseconds=self.rng.randint(0, 999_999)))

    # -- one agreement ---------------------------------------------------------------------
    def agreement(self, signatory: Org, batch: Batch, refs: dict[uuid.UUID, int]) -> None:
        rng = self.rng
        agreement_id = _uuid(rng)
        status = rng.choices(self.statuses, cum_weights=self.status_cum)[0]
        instrument = rng.choices(self.instruments, cum_weights=self.instrument_cum)[0]
        if signatory.kind == "state" and instrument is Instrument.sister_city:
            instrument = Instrument.cooperation
        area_names, area_cum = self.areas[instrument]
        areas = list(dict.fromkeys(rng.choices(area_names, cum_weights=area_cum, k=rng.choice((1, 2, 2, 3, 3, 4)))))
        counterparts, languages, foreign_city = self.counterparts(signatory)
        facts = self.dates(status)
        signed = facts["signed_on"]
        reviews = self.reviews(agreement_id, signatory, status, signed)
        registrations = self.registrations(agreement_id, signed)
        created = self.created_at(signed, reviews)
        stamped_reviews = [(*r, at, at) for r in reviews for at in (self.child_moment(created, r[4] or r[3]),)]
        stamped_registrations = [
            (*r, at, at) for r in registrations for at in (self.child_moment(created, r[5] or r[4]),)
        ]
        batch.reviews.extend(stamped_reviews)
        batch.registrations.extend(stamped_registrations)
        children = [r[-1] for r in stamped_reviews] + [r[-1] for r in stamped_registrations]
        updated = max([created, *children]) + timedelta(
            seconds=rng.randint(0, 3600), microseconds=rng.randint(0, 999_999)
        )
        updated = min(updated, self.now)
        stage = _legal_stage(stamped_reviews)
        reg_state = _registration_state(stamped_registrations)
        area_text = AREA_ES[areas[0]]
        title = rng.choice(TITLES[instrument]).format(mx=signatory.display, foreign=foreign_city, area=area_text)
        a2 = AREA_ES[areas[1]] if len(areas) > 1 else AREA_ES[rng.choice(list(SubjectArea))]
        summary = " ".join(
            s
            for s in (
                rng.choice(OPENINGS).format(a1=area_text, a2=a2),
                rng.choice(MIDDLES),
                rng.choice(MIDDLES) if rng.random() < 0.4 else "",
                rng.choice(CLOSINGS),
            )
            if s
        )
        ref = None
        if rng.random() < 0.7:
            refs[signatory.id] = refs.get(signatory.id, 0) + 1
            ref = f"RI/{self.batch_no:02d}{refs[signatory.id]:05d}/{(signed or date.fromordinal(self.today)).year}"
        place = None
        if signed is not None:
            place = signatory.seat if rng.random() < 0.6 else foreign_city.split(", ")[0].removeprefix("la Ciudad de ")
        batch.agreements.append(
            (
                agreement_id,
                signatory.id,
                title,
                instrument.value,
                summary,
                [a.value for a in areas],
                json.dumps(counterparts, ensure_ascii=False),
                languages,
                rng.choices((True, False, None), weights=(25, 55, 20))[0],
                signed,
                place,
                facts["entry_into_force_on"],
                facts["expires_on"],
                facts["suspended_on"],
                facts["terminated_on"],
                rng.choice(TERMINATION_REASONS) if facts["terminated_on"] else None,
                facts["withdrawn_on"],
                ref,
                stage,
                reg_state,
                created,
                updated,
            )
        )
        if rng.random() < 0.18:
            pool = self.plan.participant_pool[signatory.subdivision]
            for org in rng.sample(pool, rng.choice((1, 1, 2))):
                batch.participants.append((agreement_id, org.id))

    def counterparts(self, signatory: Org) -> tuple[list[dict[str, Any]], list[str], str]:
        rng = self.rng
        parties: list[dict[str, Any]] = []
        languages: list[str] = []
        first_name = ""
        for i in range(2 if rng.random() < 0.08 else 1):
            roll = rng.random()
            if roll < 0.03:
                name, country = rng.choice(INTERNATIONAL_ORGANIZATIONS)
                kind, region = CounterpartKind.international_organization, None
                langs: tuple[str, ...] = ("es",)
                shown = name
            else:
                country = rng.choices(self.countries, cum_weights=self.country_cum)[0]
                _, template, langs, cities = COUNTRIES[country]
                city, region_name = rng.choice(cities)
                region = region_name
                if roll < 0.07:
                    kind = CounterpartKind.private_entity
                    name = f"Cámara de Comercio de {city}"
                elif signatory.kind == "state":
                    kind = CounterpartKind.foreign_government_body
                    name = f"Gobierno de {region_name}"
                else:
                    kind = CounterpartKind.foreign_government_body
                    name = template.format(city=city)
                shown = f"la Ciudad de {city}, {region_name}" if signatory.kind != "state" else f"{region_name}"
            parties.append({"name": name, "kind": kind.value, "country": country, "region": region})
            languages.extend(langs)
            if i == 0:
                first_name = shown
        return parties, list(dict.fromkeys(languages)), first_name

    def dates(self, status: AgreementStatus) -> dict[str, date | None]:
        rng, today = self.rng, self.today
        out: dict[str, date | None] = dict.fromkeys(
            ("signed_on", "entry_into_force_on", "expires_on", "suspended_on", "terminated_on", "withdrawn_on")
        )
        unsigned = (
            AgreementStatus.draft,
            AgreementStatus.under_review,
            AgreementStatus.not_viable,
            AgreementStatus.cleared_for_signature,
        )
        if status in unsigned:
            return out
        if status is AgreementStatus.signed:
            signed = today - rng.randint(0, 120)
            out["signed_on"] = date.fromordinal(signed)
            out["entry_into_force_on"] = date.fromordinal(today + rng.randint(10, 200))
            return out
        latest = date.fromordinal(today).year - (2 if status is AgreementStatus.expired else 0)
        signed = self.day_in(self.pick_year(latest), not_after=today - 40)
        force = signed if rng.random() < 0.6 else min(signed + rng.randint(1, 90), today - 35)
        force = max(force, signed)
        out["signed_on"] = date.fromordinal(signed)
        out["entry_into_force_on"] = None if force == signed and rng.random() < 0.7 else date.fromordinal(force)
        if status is AgreementStatus.expired:
            term = force + 365 * rng.choice((2, 3, 5, 10))
            out["expires_on"] = date.fromordinal(term if term < today else rng.randint(force + 1, today - 1))
            return out
        if rng.random() < 0.35:
            term = force + 365 * rng.choice((5, 10, 20, 30))
            if term > today:
                out["expires_on"] = date.fromordinal(term)
        if status is AgreementStatus.terminated:
            out["terminated_on"] = date.fromordinal(rng.randint(force, today))
        elif status is AgreementStatus.suspended:
            out["suspended_on"] = date.fromordinal(rng.randint(force, today))
        elif status is AgreementStatus.withdrawn:
            out["withdrawn_on"] = date.fromordinal(rng.randint(force, today))
        return out

    def reviews(
        self, agreement_id: uuid.UUID, signatory: Org, status: AgreementStatus, signed: date | None
    ) -> list[tuple[Any, ...]]:
        """Rows without their timestamps: (id, agreement, kind, requested, decided, outcome, ...)."""
        rng, today = self.rng, self.today
        out: list[tuple[Any, ...]] = []

        def add(kind: ReviewKind, requested: int, decided: int | None, outcome: str) -> None:
            requested = min(requested, today)
            if decided is not None and decided > today:
                decided, outcome = None, ReviewOutcome.pending.value
            if decided is not None:
                decided = max(decided, requested)
            checks = {
                "foreign_party_is_governmental": True,
                "within_competence": True if decided is not None else None,
                "is_not_a_treaty": True if decided is not None else None,
                "dispute_clause_compliant": rng.choice((True, None)),
            }
            reviewer = rng.choice(REVIEWERS)
            office = "DGCP" if kind is ReviewKind.sre_dictamen else "OF"
            reference = f"{office}-{rng.randint(100, 9999)}/{date.fromordinal(requested).year}"
            observations = "Sin observaciones de fondo." if outcome == ReviewOutcome.favorable.value else None
            if outcome in (ReviewOutcome.favorable_with_observations.value, ReviewOutcome.returned_for_changes.value):
                observations = (
                    "Se recomienda precisar que el instrumento no genera obligaciones regidas por el derecho "
                    "internacional."
                )
            out.append(
                (
                    _uuid(rng),
                    agreement_id,
                    kind.value,
                    date.fromordinal(requested),
                    None if decided is None else date.fromordinal(decided),
                    outcome,
                    reference,
                    reviewer,
                    observations,
                    json.dumps(checks),
                    None,
                )
            )

        municipal = signatory.kind == "municipality"
        if signed is not None:
            s = signed.toordinal()
            if signed.year < LSCT_YEAR and rng.random() > 0.3:
                return out
            if municipal and rng.random() < 0.85:
                req = s - rng.randint(60, 150)
                add(ReviewKind.council_approval, req, req + rng.randint(5, 40), ReviewOutcome.favorable.value)
            if rng.random() < 0.6:
                req = s - rng.randint(90, 200)
                add(ReviewKind.internal_legal, req, req + rng.randint(5, 60), rng.choice(FAVORABLE))
            if not municipal and rng.random() < 0.5:
                req = s - rng.randint(60, 120)
                add(ReviewKind.state_congress, req, req + rng.randint(10, 50), ReviewOutcome.favorable.value)
            if signed.year >= LSCT_YEAR:
                roll = rng.random()
                if roll < 0.08:
                    req = s - rng.randint(150, 260)
                    add(
                        ReviewKind.sre_dictamen,
                        req,
                        req + rng.randint(15, 40),
                        ReviewOutcome.returned_for_changes.value,
                    )
                if roll < 0.75:
                    req = s - rng.randint(40, 100)
                    add(ReviewKind.sre_dictamen, req, min(req + rng.randint(10, 35), s - 1), rng.choice(FAVORABLE))
                elif roll < 0.8:  # informed only after signing: a compliance finding, not an error
                    req = s + rng.randint(1, 60)
                    add(ReviewKind.sre_dictamen, req, req + rng.randint(10, 60), ReviewOutcome.favorable.value)
            return out
        if status is AgreementStatus.draft:
            return out
        start = today - rng.randint(20, 900)
        if municipal and rng.random() < 0.7:
            add(ReviewKind.council_approval, start, start + rng.randint(5, 40), ReviewOutcome.favorable.value)
        if status is AgreementStatus.under_review:
            if rng.random() < 0.7:
                decided = None if rng.random() < 0.5 else start + 3 + rng.randint(5, 60)
                outcome = ReviewOutcome.pending.value if decided is None else ReviewOutcome.favorable.value
                add(ReviewKind.internal_legal, start + 3, decided, outcome)
            if rng.random() < 0.5 or not out:
                returned = rng.random() < 0.5
                decided = start + 10 + rng.randint(15, 60) if returned else None
                outcome = ReviewOutcome.returned_for_changes.value if returned else ReviewOutcome.pending.value
                add(ReviewKind.sre_dictamen, start + 10, decided, outcome)
            return out
        add(ReviewKind.internal_legal, start, start + rng.randint(5, 30), rng.choice(FAVORABLE))
        final = ReviewOutcome.unfavorable.value if status is AgreementStatus.not_viable else rng.choice(FAVORABLE)
        add(ReviewKind.sre_dictamen, start + 5, start + rng.randint(10, 19), final)
        return out

    def registrations(self, agreement_id: uuid.UUID, signed: date | None) -> list[tuple[Any, ...]]:
        """Rows without their timestamps: (id, agreement, registry, status, submitted, registered, ...)."""
        rng, today = self.rng, self.today
        out: list[tuple[Any, ...]] = []
        if signed is None or (signed.year < LSCT_YEAR and rng.random() > 0.3):
            return out
        s = max(signed.toordinal(), date(LSCT_YEAR + 1, 1, 1).toordinal() if signed.year < LSCT_YEAR else 0)

        def add(registry: Registry, state: RegistrationState, submitted: int, registered: int | None) -> None:
            number = None
            if state is RegistrationState.registered:
                assert registered is not None
                number = f"SRE-AI-{date.fromordinal(registered).year}-{rng.randint(1, 99999):05d}"
            observations = (
                "Falta la versión firmada en el idioma de la contraparte."
                if state is RegistrationState.rejected
                else None
            )
            out.append(
                (
                    _uuid(rng),
                    agreement_id,
                    registry.value,
                    state.value,
                    date.fromordinal(submitted),
                    None if registered is None else date.fromordinal(registered),
                    number,
                    observations,
                    None,
                )
            )

        submitted = s + rng.randint(5, 240)
        if submitted > today:
            return out
        roll = rng.random()
        if roll < 0.58:
            registered = submitted + rng.randint(10, 150)
            if registered > today:
                add(Registry.sre, RegistrationState.submitted, submitted, None)
            else:
                add(Registry.sre, RegistrationState.registered, submitted, registered)
        elif roll < 0.72:
            add(Registry.sre, RegistrationState.submitted, submitted, None)
        elif roll < 0.8:
            add(Registry.sre, RegistrationState.rejected, submitted, None)
            again = submitted + rng.randint(30, 200)
            if rng.random() < 0.5 and again + 150 < today:
                add(Registry.sre, RegistrationState.registered, again, again + rng.randint(10, 150))
        if rng.random() < 0.05:
            add(Registry.state, RegistrationState.submitted, min(submitted + rng.randint(0, 30), today), None)
        return out

    def created_at(self, signed: date | None, reviews: Sequence[tuple[Any, ...]]) -> datetime:
        first_event = min([r[3].toordinal() for r in reviews], default=None)
        if signed is not None and signed < BACKFILL_FROM:
            return self.moment(self.rng.randint(BACKFILL_FROM.toordinal(), self.today))
        start = (
            first_event
            if first_event is not None
            else (signed.toordinal() - 30 if signed else self.today - self.rng.randint(0, 700))
        )
        return self.moment(max(min(start - self.rng.randint(0, 20), self.today), BACKFILL_FROM.toordinal()))

    def child_moment(self, created: datetime, on: date) -> datetime:
        at = max(created + timedelta(seconds=self.rng.randint(1, 3 * 86400)), self.moment(on.toordinal()))
        return min(at, self.now - timedelta(microseconds=self.rng.randint(1, 999_999)))


def _cumulative(weights: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _legal_stage(reviews: Sequence[tuple[Any, ...]]) -> str:
    """app.legal_reviews.service.legal_stage over stamped rows (REVIEW_COLUMNS order)."""
    dictamens = [(r[4] or r[3], r[11], r[5]) for r in reviews if r[2] == ReviewKind.sre_dictamen.value]
    if dictamens:
        outcome = max(dictamens)[2]
        if outcome == ReviewOutcome.unfavorable.value:
            return LegalStage.not_viable.value
        if outcome in FAVORABLE:
            return LegalStage.cleared_for_signature.value
    return LegalStage.under_review.value if reviews else LegalStage.none.value


def _registration_state(registrations: Sequence[tuple[Any, ...]]) -> str | None:
    """app.registrations.service.registration_state over stamped rows (REGISTRATION_COLUMNS order)."""
    sre = [(r[5] or r[4], r[9], r[3]) for r in registrations if r[2] == Registry.sre.value]
    if not sre:
        return None
    state: str = max(sre)[2]
    return state


def generate_batch(plan: Plan, batch_no: int) -> Batch:
    gen = _Agreements(plan, batch_no)
    batch = Batch()
    refs: dict[uuid.UUID, int] = {}
    start = batch_no * BATCH
    for signatory in plan.signatories[start : start + BATCH]:
        gen.agreement(signatory, batch, refs)
    return batch


@dataclass(slots=True)
class LoadReport:
    organizations: int = 0
    agreements: int = 0
    participants: int = 0
    reviews: int = 0
    registrations: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)


# Secondary indexes are dropped during the load and built once afterwards: a sorted build (and a
# GIN build from scratch) is several times faster than maintaining them row by row.
_INDEX_TABLES = ("agreements", "agreement_participants", "legal_reviews", "registrations")


async def _drop_secondary_indexes(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        """
        SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
        FROM pg_index i
        JOIN pg_class t ON t.oid = i.indrelid
        WHERE t.relname = ANY($1::text[]) AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1
        """,
        list(_INDEX_TABLES),
    )
    for row in rows:
        await conn.execute(f"DROP INDEX {row['name']}")
    return [row["definition"] for row in rows]


async def load(url: str, count: int, *, seed: int, today: date) -> LoadReport:
    """Fill an empty, migrated database. Returns what was written and how long it took."""
    report = LoadReport()
    started = time.perf_counter()
    plan = make_plan(count, seed=seed, today=today)
    report.phases["plan"] = time.perf_counter() - started
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET maintenance_work_mem = '256MB'; SET synchronous_commit = off")
        async with conn.transaction():
            definitions = await _drop_secondary_indexes(conn)
            await conn.copy_records_to_table(
                "organizations", records=[o.row(plan.now) for o in plan.organizations], columns=ORG_COLUMNS
            )
            report.organizations = len(plan.organizations)
            batches = (count + BATCH - 1) // BATCH
            copy_seconds = 0.0
            if batches:
                pending = asyncio.to_thread(generate_batch, plan, 0)
                batch = await pending
                for n in range(batches):
                    # Generate the next batch in a thread while PostgreSQL ingests this one.
                    following = (
                        asyncio.ensure_future(asyncio.to_thread(generate_batch, plan, n + 1))
                        if n + 1 < batches
                        else None
                    )
                    t0 = time.perf_counter()
                    await _copy(conn, batch, report)
                    copy_seconds += time.perf_counter() - t0
                    if following is not None:
                        batch = await following
            report.phases["generate+copy"] = time.perf_counter() - started - report.phases["plan"]
            t0 = time.perf_counter()
            for definition in definitions:
                await conn.execute(definition)
            report.phases["indexes"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        await conn.execute("ANALYZE")
        report.phases["analyze"] = time.perf_counter() - t0
    finally:
        await conn.close()
    report.seconds = time.perf_counter() - started
    return report


async def _copy(conn: asyncpg.Connection, batch: Batch, report: LoadReport) -> None:
    await conn.copy_records_to_table("agreements", records=batch.agreements, columns=AGREEMENT_COLUMNS)
    await conn.copy_records_to_table("agreement_participants", records=batch.participants, columns=PARTICIPANT_COLUMNS)
    await conn.copy_records_to_table("legal_reviews", records=batch.reviews, columns=REVIEW_COLUMNS)
    await conn.copy_records_to_table("registrations", records=batch.registrations, columns=REGISTRATION_COLUMNS)
    report.agreements += len(batch.agreements)
    report.participants += len(batch.participants)
    report.reviews += len(batch.reviews)
    report.registrations += len(batch.registrations)


def _chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


async def verify_sample(url: str, *, sample: int = 2000, seed: int = 7) -> int:
    """Recompute legal_stage and registration_state for a sample with the service's own functions.

    Returns the number of mismatches (0 when the generator follows the services' rules).
    """
    conn = await asyncpg.connect(url)
    try:
        ids = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM agreements ORDER BY md5(id::text || $1::text) LIMIT $2", str(seed), sample
            )
        ]
        stored = {
            r["id"]: (r["legal_stage"], r["registration_state"])
            for r in await conn.fetch(
                "SELECT id, legal_stage, registration_state FROM agreements WHERE id = ANY($1::uuid[])", ids
            )
        }
        reviews: dict[uuid.UUID, list[LegalReview]] = {i: [] for i in ids}
        for r in await conn.fetch(
            "SELECT agreement_id, kind, requested_on, decided_on, outcome, created_at FROM legal_reviews "
            "WHERE agreement_id = ANY($1::uuid[])",
            ids,
        ):
            reviews[r["agreement_id"]].append(LegalReview(**dict(r)))
        registrations: dict[uuid.UUID, list[Registration]] = {i: [] for i in ids}
        for r in await conn.fetch(
            "SELECT agreement_id, registry_kind, status, submitted_on, registered_on, created_at FROM registrations "
            "WHERE agreement_id = ANY($1::uuid[])",
            ids,
        ):
            registrations[r["agreement_id"]].append(Registration(**dict(r)))
    finally:
        await conn.close()
    mismatches = 0
    for agreement_id, (stage, state) in stored.items():
        expected_state = registration_state(registrations[agreement_id])
        if (
            legal_stage(reviews[agreement_id]).value != stage
            or (None if expected_state is None else expected_state.value) != state
        ):
            mismatches += 1
    return mismatches
