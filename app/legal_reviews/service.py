"""Rules for legal reviews, and the legal stage they give their agreement."""

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.agreements import service as agreement_service
from app.agreements.schemas import AgreementRead
from app.errors import Issues, changes_of
from app.evidence import repository as evidence_repository
from app.http.etag import check_if_match
from app.http.pagination import PageParams, make_page
from app.i18n import Text
from app.legal_reviews import repository
from app.legal_reviews.errors import LegalReviewNotFound
from app.legal_reviews.schemas import LegalReviewCreate, LegalReviewRead, LegalReviewUpdate
from app.log import registry as log_registry
from app.log import service as log_service
from app.models import LegalReview
from app.models.agreements import LegalStage, ReviewKind, ReviewOutcome
from app.principal import Principal

RESOURCE = "legal_review"
log_registry.register_table(RESOURCE, LegalReview)
REFUSAL = Text("legal_reviews.change_forbidden")
FAVORABLE = (ReviewOutcome.favorable, ReviewOutcome.favorable_with_observations)


def legal_stage(reviews: Sequence[LegalReview]) -> LegalStage:
    """The latest SRE dictamen decides (LSCT art. 7); any review at all means under review."""
    dictamens = [r for r in reviews if r.kind == ReviewKind.sre_dictamen]
    if dictamens:
        latest = max(dictamens, key=lambda r: (r.decided_on or r.requested_on, r.created_at))
        if latest.outcome == ReviewOutcome.unfavorable:
            return LegalStage.not_viable
        if latest.outcome in FAVORABLE:
            return LegalStage.cleared_for_signature
    return LegalStage.under_review if reviews else LegalStage.none


async def _check(session: AsyncSession, facts: dict[str, Any], today: date, *, agreement_id: uuid.UUID) -> None:
    issues = Issues()
    add = issues.add_field

    requested, decided, outcome = facts["requested_on"], facts.get("decided_on"), ReviewOutcome(facts["outcome"])
    if requested > today:
        add("requested_on", Text("validation.not_future", field="requested_on"))
    if decided is not None and decided > today:
        add("decided_on", Text("validation.not_future", field="decided_on"))
    if decided is not None and decided < requested:
        add("decided_on", Text("validation.not_before", field="decided_on", other="requested_on"))
    if outcome is ReviewOutcome.pending and decided is not None:
        add("outcome", Text("legal_reviews.decided_needs_outcome"))
    if outcome is not ReviewOutcome.pending and decided is None:
        add("decided_on", Text("legal_reviews.outcome_needs_date", outcome=outcome.value))
    document_id = facts.get("document_id")
    if document_id is not None and not await evidence_repository.of_agreement(session, agreement_id, [document_id]):
        add("document_id", Text("common.no_evidence_on_agreement"))
    issues.raise_if_any()


def to_read(review: LegalReview, *, private: bool) -> LegalReviewRead:
    read = LegalReviewRead.model_validate(review)
    return read if private else read.model_copy(update={"observations": None})


def _derived(reviews: Sequence[LegalReview]) -> dict[str, Any]:
    """What the agreement takes from its reviews (written with its touch)."""
    return {"legal_stage": legal_stage(reviews).value}


async def create_review(
    session: AsyncSession, agreement_id: uuid.UUID, data: LegalReviewCreate, *, principal: Principal, today: date
) -> LegalReviewRead:
    locked = await agreement_service.lock_for_change(
        session, agreement_id, principal=principal, today=today, may=access.can_review, refusal=REFUSAL
    )
    facts = data.model_dump(mode="python")
    await _check(session, facts, today, agreement_id=locked.row.id)
    facts["checks"] = data.checks.model_dump()
    facts["kind"], facts["outcome"] = data.kind.value, data.outcome.value
    review = LegalReview(agreement_id=locked.row.id, **facts)
    await repository.add(session, review)
    await agreement_service.write_child(
        session,
        locked,
        resource_type=RESOURCE,
        resource_id=review.id,
        resource=review,
        action=log_service.Action.create,
        principal=principal,
        today=today,
        derived=_derived(await repository.all_for(session, locked.row.id)),
    )
    return to_read(review, private=True)


async def read_review(
    session: AsyncSession, review_id: uuid.UUID, *, principal: Principal | None, today: date
) -> LegalReviewRead:
    """The review as the caller may read it: its private fields only for the agreement's owners."""
    review, agreement = await agreement_service.visible_child(
        session, repository.get, review_id, principal=principal, today=today, not_found=LegalReviewNotFound()
    )
    return to_read(review, private=access.is_owner(principal, agreement.signatory_org_id))


async def lock_review(
    session: AsyncSession, review_id: uuid.UUID, *, principal: Principal, today: date
) -> tuple[LegalReview, agreement_service.Locked, list[LegalReview]]:
    """The review locked for change, with its agreement and all the agreement's reviews."""
    return await agreement_service.lock_child(
        session,
        LegalReview,
        review_id,
        principal=principal,
        today=today,
        not_found=LegalReviewNotFound(),
        may=access.can_review,
        refusal=REFUSAL,
        siblings=True,
    )


async def change_review(
    session: AsyncSession,
    review_id: uuid.UUID,
    data: LegalReviewUpdate,
    *,
    if_match: str | None,
    principal: Principal,
    today: date,
) -> LegalReviewRead:
    """PATCH: lock the review with its agreement, check If-Match against it as it stands, change it."""
    review, locked, siblings = await lock_review(session, review_id, principal=principal, today=today)
    check_if_match(if_match, to_read(review, private=True))
    return await update_review(session, review, locked, siblings, data, principal=principal, today=today)


async def update_review(
    session: AsyncSession,
    review: LegalReview,
    locked: agreement_service.Locked,
    siblings: list[LegalReview],
    data: LegalReviewUpdate,
    *,
    principal: Principal,
    today: date,
) -> LegalReviewRead:
    changes = changes_of(data, not_null=("kind", "requested_on", "outcome", "checks"))
    facts = {k: getattr(review, k) for k in LegalReviewUpdate.model_fields} | changes
    await _check(session, facts, today, agreement_id=locked.row.id)
    for field, value in changes.items():
        setattr(review, field, value.value if hasattr(value, "value") else value)
    review.updated_at = datetime.now(UTC)
    await repository.add(session, review)
    await agreement_service.write_child(
        session,
        locked,
        resource_type=RESOURCE,
        resource_id=review.id,
        resource=review,
        action=log_service.Action.update,
        principal=principal,
        today=today,
        derived=_derived(siblings),
    )
    return to_read(review, private=True)


async def list_reviews(
    session: AsyncSession, agreement: AgreementRead, params: PageParams, *, principal: Principal | None
) -> tuple[list[LegalReviewRead], str | None]:
    rows = await repository.list_page(session, agreement.id, params)
    items, cursor = make_page(rows, repository.BY_CREATED, params, lambda r: (r.created_at, r.id))
    private = access.is_owner(principal, agreement.signatory_org_id)
    return [to_read(r, private=private) for r in items], cursor
