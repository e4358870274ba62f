"""Media types an artifact may carry: a `type/subtype` with simple parameters, ASCII only.

An artifact's media type is sent back as the Content-Type of its raw content; a control
character or a non-Latin-1 letter there cannot even be put into an HTTP header.
"""

from __future__ import annotations

import re

from agentdeck.domain.errors import InvalidInput

_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
PATTERN = rf"^{_TOKEN}/{_TOKEN}(\s*;\s*{_TOKEN}=({_TOKEN}|\"[ !#-\[\]-~]*\"))*$"
MAX_LENGTH = 100
FALLBACK = "application/octet-stream"
_MATCH = re.compile(PATTERN)


def is_valid(media_type: str) -> bool:
    return len(media_type) <= MAX_LENGTH and _MATCH.fullmatch(media_type) is not None


def check(media_type: str, field: str = "media_type") -> str:
    """`media_type` if it is one; InvalidInput saying what one looks like if not."""
    if not isinstance(media_type, str) or not is_valid(media_type):
        shown = repr(media_type)[:120]
        raise InvalidInput(
            f"{field} {shown} is not a media type: send `type/subtype` in ASCII, e.g. "
            "text/markdown or application/json; charset=utf-8 (at most 100 characters)",
            field=field,
        )
    return media_type


def safe(media_type: str) -> str:
    """What to send as Content-Type for a stored media type, valid or not (older rows)."""
    return media_type if is_valid(media_type) else FALLBACK
