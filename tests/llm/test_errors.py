"""Which failures are transient, and how failures are described without their secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_ai.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelHTTPError,
    ModelQuotaExceededError,
    ModelRateLimitError,
    ModelRequestRejectedError,
    ModelServerError,
    UnexpectedModelBehavior,
    UserError,
)

from agentdeck.llm.errors import describe, is_transient
from agentdeck.llm.keys import KeyRing, Redactor
from agentdeck.llm.providers import MissingKey


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (529, True),
        (408, True),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (422, False),
    ],
)
def test_http_errors_are_transient_for_429_and_5xx_only(status: int, transient: bool) -> None:
    assert is_transient(ModelHTTPError(status, "m")) is transient


@pytest.mark.parametrize(
    ("category", "status", "transient"),
    [
        (ModelRateLimitError, 429, True),
        (ModelServerError, 500, True),
        (ModelAuthenticationError, 401, False),
        (ModelRequestRejectedError, 400, False),
        (ModelQuotaExceededError, 402, False),
    ],
)
def test_categorised_http_errors_as_the_sdks_raise_them(
    category: type[ModelAPIError], status: int, transient: bool
) -> None:
    error = ModelHTTPError.for_category(category, status_code=status, model_name="m")  # type: ignore[arg-type]
    assert is_transient(error) is transient


def test_connection_timeout_and_garbled_answers_are_transient() -> None:
    assert is_transient(ModelConnectionError("m", "refused"))
    assert is_transient(TimeoutError())
    assert is_transient(ModelAPIError("m", "Failed to decode response as JSON"))
    assert is_transient(UnexpectedModelBehavior("empty answer"))


def test_configuration_errors_are_permanent() -> None:
    assert not is_transient(MissingKey("no key"))
    assert not is_transient(UserError("bad setting"))
    assert not is_transient(ValueError("a bug"))


def test_describe_redacts_known_keys_and_credential_shapes() -> None:
    redactor = KeyRing(env_file=None, environ={"OPENAI_API_KEY": "abc-secret-12345678"}).redactor
    error = ModelHTTPError(
        401,
        "gpt",
        body={"error": {"message": "bad key abc-secret-12345678 (Bearer sk-other-98765432)"}},
    )
    failure = describe(error, redactor)
    assert failure.status == 401
    assert not failure.transient
    assert "abc-secret" not in failure.message
    assert "sk-other" not in failure.message
    assert failure.message.count("[redacted]") == 2
    assert failure.error_class == "ModelHTTPError"


def test_describe_cuts_long_messages() -> None:
    failure = describe(RuntimeError("x" * 5000), Redactor())
    assert len(failure.message) <= 300


def test_redactor_catches_keys_it_was_never_told_about() -> None:
    text = Redactor().redact(
        "sk-ant-api03-abcdefgh gsk_abcdefghij AIzaSyA1234567890abcdef api_key=hunter22hunter"
    )
    assert "abcdefgh" not in text
    assert "hunter22" not in text
    assert "AIza" not in text


def test_the_keyring_reads_a_dotenv_file_after_the_environment(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("ANTHROPIC_API_KEY=from-file-123456\nGROQ_API_KEY=file-groq-123456\n")
    keys = KeyRing(env_file=env, environ={"GROQ_API_KEY": "env-groq-123456"})
    assert keys.key_for("anthropic") == "from-file-123456"
    assert keys.key_for("groq") == "env-groq-123456"
    assert keys.key_for("openai") is None
    assert "from-file-123456" not in keys.redactor.redact("key from-file-123456")
