"""API keys from the environment or a `.env` file, and the redaction that keeps them out of text.

Keys live only here and in the provider clients built from them: never in settings
dumps, events, logs, artifacts or error messages. Every text that leaves the LLM
layer about a failure goes through `Redactor.redact` first.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from dotenv import dotenv_values

# The conventional variables each native provider's key is read from, first found wins.
PROVIDER_KEY_VARS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "google": ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
    "groq": ("GROQ_API_KEY",),
}

# Variables whose values are treated as secrets wherever they appear, even if no
# provider uses them: anything named like a key, token, secret or password.
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)$", re.IGNORECASE)
_MIN_SECRET_LENGTH = 8
# Shapes of credentials that must not leak even if they were never configured here.
_SECRET_SHAPES = re.compile(
    r"(?:sk-[A-Za-z0-9_\-]{6,}"
    r"|gsk_[A-Za-z0-9]{6,}"
    r"|AIza[0-9A-Za-z_\-]{10,}"
    r"|(?i:bearer)\s+[A-Za-z0-9._\-~+/=]{6,}"
    r"|(?i:x-api-key|api[_-]?key)[\"']?\s*[:=]\s*[\"']?[^\s\"',}]{6,})"
)
REDACTED = "[redacted]"


class KeyRing:
    """Reads keys from the process environment first, then from a `.env` file."""

    def __init__(
        self, env_file: Path | None = Path(".env"), environ: Mapping[str, str] | None = None
    ) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        self._file: dict[str, str] = {}
        if env_file is not None and env_file.is_file():
            self._file = {k: v for k, v in dotenv_values(env_file).items() if v}
        names = {*self._environ, *self._file}
        self.redactor = Redactor(
            v for n in names if _SECRET_NAME.search(n) and (v := self.get(n)) is not None
        )

    def get(self, name: str) -> str | None:
        """The value of variable `name`, or None when unset or empty."""
        value = self._environ.get(name) or self._file.get(name)
        return value.strip() or None if value else None

    def key_for(self, provider: str) -> str | None:
        """The key of a native provider (openai, anthropic, google, groq), if one is set."""
        for name in PROVIDER_KEY_VARS.get(provider, ()):
            if value := self.get(name):
                return value
        return None


class Redactor:
    """Replaces known secrets and credential-shaped strings in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}
        # longest first, so a key that contains another is replaced whole
        self._secrets = sorted(values, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _SECRET_SHAPES.sub(REDACTED, text)
