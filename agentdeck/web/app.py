"""create_app(deck): the ASGI application; it reads and commands the engine through the Deck."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from agentdeck import __version__
from agentdeck.deck import Deck


def create_app(deck: Deck) -> FastAPI:
    app = FastAPI(
        title="agentdeck",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.deck = deck

    @app.get("/api/health", tags=["system"])
    async def health() -> dict[str, Any]:
        """Database reachability, workers alive and the version."""
        return await deck.health()

    return app
