"""/api/tokens: the admin creates, lists and revokes scoped API tokens.

Scoped tokens themselves are refused here (web/auth.py): a token cannot mint another.
"""

from __future__ import annotations

from fastapi import APIRouter

from agentdeck.web.dependencies import DeckDep
from agentdeck.web.errors import responses
from agentdeck.web.schemas.api_tokens import TokenCreatedOut, TokenIn, TokenOut

router = APIRouter(tags=["tokens"])


@router.post("/api/tokens", status_code=201, responses=responses(401, 403, 422))
async def create_token(deck: DeckDep, body: TokenIn) -> TokenCreatedOut:
    """Create a token; its secret is in this answer and never again."""
    created = await deck.api_tokens.create(body.name, body.scopes)
    out = TokenOut.of(created.token)
    return TokenCreatedOut(**out.model_dump(), secret=created.secret)


@router.get("/api/tokens", responses=responses(401, 403))
async def list_tokens(deck: DeckDep) -> list[TokenOut]:
    """Every scoped token, revoked ones included, newest first; never a secret."""
    return [TokenOut.of(t) for t in await deck.api_tokens.list()]


@router.delete("/api/tokens/{token_id}", responses=responses(401, 403, 404, 422))
async def revoke_token(deck: DeckDep, token_id: str) -> TokenOut:
    """Revoke a token: from now on it is answered 401. Revoking twice is harmless."""
    return TokenOut.of(await deck.api_tokens.revoke(token_id))
