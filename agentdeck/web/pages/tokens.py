"""The tokens page (`/tokens`): scoped API tokens, created (secret shown once) and revoked."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from agentdeck.domain.errors import InvalidInput
from agentdeck.web.pages.templating import PageRoute, deck_of, page, redirect
from agentdeck.web.schemas.api_tokens import TokenOut
from agentdeck.web.sessions import FormDep, first, require_sign_in

router = APIRouter(
    tags=["dashboard"],
    include_in_schema=False,
    route_class=PageRoute,
    dependencies=[Depends(require_sign_in)],
)


class TokensPageOut(BaseModel):
    """The JSON twin of `/tokens` (the same items as `GET /api/tokens`)."""

    tokens: list[TokenOut]
    workflows: list[str] = Field(description="Names a `start:<workflow>` scope may take.")


async def _render(
    request: Request,
    *,
    secret: str | None = None,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    deck = deck_of(request)
    data = TokensPageOut(
        tokens=[TokenOut.of(t) for t in await deck.api_tokens.list()],
        workflows=[w.name for w in deck.registry.list()],
    )
    context = {
        "page_key": "tokens",
        "secret": secret,
        "values": values or {"name": "", "scopes": "read"},
        "error": error,
        "admin_token_set": deck.settings.token is not None,
    }
    return page(request, "tokens.html", data, context, status)


@router.get("/tokens")
async def tokens_page(request: Request) -> Response:
    """Every scoped token with its scopes, when it was created and last used."""
    return await _render(request)


@router.post("/tokens")
async def create_token(request: Request, form: FormDep) -> Response:
    """Create a token and show its secret on this answer only; bad input returns the form."""
    values = {"name": first(form, "name"), "scopes": first(form, "scopes")}
    try:
        created = await deck_of(request).api_tokens.create(values["name"], values["scopes"])
    except InvalidInput as error:
        return await _render(request, values=values, error=str(error), status=422)
    return await _render(request, secret=created.secret)


@router.post("/tokens/{token_id}/revoke")
async def revoke_token(request: Request, token_id: str, form: FormDep) -> Response:
    """Revoke the token: the API answers it 401 from now on."""
    await deck_of(request).api_tokens.revoke(token_id)
    return redirect(request, "/tokens")
