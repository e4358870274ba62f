"""Pieces every area's shapes share: NUL refusal, errors, pages."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


WorkerStatus = Literal["alive", "stopped", "lost"]


def reject_nul(value: Any, where: str) -> Any:
    """Raise ValueError if a NUL character hides anywhere in `value` (PostgreSQL refuses it)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{where} contains a NUL character (\\u0000), which cannot be stored")
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_nul(key, where)
            reject_nul(item, where)
    elif isinstance(value, list):
        for item in value:
            reject_nul(item, where)
    return value


# --- errors ------------------------------------------------------------------


class ErrorBody(BaseModel):
    message: str = Field(description="What went wrong and what to do about it.")
    field: str | None = Field(description="The input to fix, e.g. `inputs.topic`, if one.")


class ErrorOut(BaseModel):
    """Every error the API answers with."""

    error: ErrorBody


class PageOut(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` as `cursor` for the next (null: no more)."""

    items: list[T]
    next_cursor: str | None
