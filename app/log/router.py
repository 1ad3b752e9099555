"""/v1/log: the transparency log, public and verifiable (RFC 9162 proofs, signed checkpoints)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.auth.dependencies import optional_principal
from app.db import ReaderDep, SessionDep
from app.http.lean import lean
from app.log import service
from app.log.schemas import Checkpoint, ConsistencyProof, Entries, InclusionProof
from app.log.signing import LogSigner

# Public, but a key that is sent must be valid (401 otherwise), as on every endpoint.
router = APIRouter(prefix="/v1/log", tags=["transparency log"], dependencies=[Depends(optional_principal)])

MAX_ENTRIES = 1000
Index = Annotated[int, Query(ge=0, le=2**62)]


@router.get("/checkpoint")
async def get_checkpoint(session: SessionDep, request: Request) -> Checkpoint:
    """The current tree size and root hash, signed (Ed25519, C2SP signed note)."""
    signer: LogSigner | None = request.app.state.log_signer
    return await service.checkpoint(session, signer)


@router.get("/entries", response_model=Entries)
@lean
async def get_entries(
    reader: ReaderDep,
    start: Index,
    end: Annotated[int, Query(ge=1, le=2**62, description="Exclusive; at most 1000 entries per call.")],
) -> Response:
    """Entries [start, end) with the seven fields exactly as hashed and their leaf hashes."""
    document = await service.entries_json(reader, start, min(end, start + MAX_ENTRIES))
    return Response(content=document.encode(), media_type="application/json")


@router.get("/proofs/inclusion")
async def get_inclusion_proof(
    session: SessionDep, index: Index, tree_size: Annotated[int, Query(ge=1, le=2**62)]
) -> InclusionProof:
    """The audit path proving entry `index` is in the tree of `tree_size` entries."""
    return await service.inclusion_proof(session, index, tree_size)


@router.get("/proofs/consistency")
async def get_consistency_proof(
    session: SessionDep, first: Annotated[int, Query(ge=0, le=2**62)], second: Annotated[int, Query(ge=1, le=2**62)]
) -> ConsistencyProof:
    """The proof that the tree of `first` entries is a prefix of the tree of `second`."""
    return await service.consistency_proof(session, first, second)
