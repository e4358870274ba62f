"""The loop workflow: a producer drafts, an evaluator scores, a reviser revises, until it passes.

Attempt 1 is the producer's draft; every later attempt is the reviser's revision of the
one before, using the evaluator's feedback. Each attempt leaves two artifacts,
`attempt-N.md` (the draft) and `attempt-N.eval.json` (score, feedback, criteria). The run
succeeds with verdict `passed` as soon as a score reaches `pass_threshold`; after
`max_attempts` it fails with verdict `failed`, naming its best attempt.

Steps (stable keys, so a resumed run skips what it finished): `llm:produce:1`,
`draft:1`, `llm:evaluate:1`, `evaluation:1`, then per attempt N >= 2 `llm:revise:N`,
`draft:N`, `llm:evaluate:N`, `evaluation:N`; `llm:evaluate:N:again` when the evaluator's
answer could not be read and it is asked once more. The evaluator is asked for structured
output (`EvaluationOut`). Events: `stage.changed` (stage, attempt, agent), `score`
(attempt, score, threshold, passed, criteria), `evaluation.unreadable`, `error` (stage,
attempt, error), `attempt.best` and `verdict`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from agentdeck.agents import AgentReply, runner_of
from agentdeck.domain.errors import AgentdeckError, LeaseLost
from agentdeck.domain.retry import NO_RETRY
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.workflows.loop.evaluation import (
    EvaluationOut,
    EvaluationUnreadable,
    parse_evaluation,
)

NAME = "loop"
AgentName = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
        json_schema_extra={"x-agentdeck-kind": "agent"},
    ),
]


class Stage(StrEnum):
    PRODUCING = "producing"
    EVALUATING = "evaluating"
    REVISING = "revising"


class Verdict(StrEnum):
    PASSED = "passed"
    FAILED = "failed"


class LoopInputs(BaseModel):
    """Inputs of a loop run. One agent may hold several roles."""

    model_config = ConfigDict(extra="forbid", title="Producer → Evaluator → Reviser loop")

    producer: AgentName = Field(
        "producer", title="Producer", description="The agent that writes the first draft."
    )
    evaluator: AgentName = Field(
        "evaluator",
        title="Evaluator",
        description="The agent that scores each attempt from 0 to 1 and gives feedback.",
    )
    reviser: AgentName = Field(
        "reviser",
        title="Reviser",
        description="The agent that revises the latest attempt using the feedback.",
    )
    task: dict[str, Any] = Field(
        default_factory=dict,
        title="Task",
        description="What to produce, as any JSON object (e.g. topic, audience, length, "
        "constraints). Every agent sees it.",
        examples=[{"topic": "Durable execution for AI agents", "audience": "engineers"}],
    )
    max_attempts: int = Field(
        3,
        ge=1,
        le=20,
        title="Max attempts",
        description="Attempts (the draft and its revisions) before the run fails.",
    )
    pass_threshold: float = Field(
        0.8,
        ge=0,
        le=1,
        title="Pass threshold",
        description="The run passes when an attempt scores at least this (0 to 1).",
    )
    budget_usd: float | None = Field(
        None,
        ge=0,
        title="Budget (USD)",
        description="The most the run may spend on model calls; a person is asked to raise "
        "it when a call would exceed it. Empty: no run budget.",
    )


class LoopFailed(AgentdeckError):
    """No attempt reached the pass threshold within max_attempts."""


@dataclass(frozen=True)
class Attempt:
    """One attempt: its draft, its evaluation, and their artifacts."""

    number: int
    draft: str
    score: float
    feedback: str
    evaluation: dict[str, Any]
    draft_artifact: str
    evaluation_artifact: str

    def summary(self, threshold: float) -> dict[str, Any]:
        return {
            "attempt": self.number,
            "score": self.score,
            "passed": self.score >= threshold,
            "draft_artifact": self.draft_artifact,
            "evaluation_artifact": self.evaluation_artifact,
        }


async def loop(ctx: RunContext, raw: dict[str, Any]) -> dict[str, Any]:
    """Producer → Evaluator → Reviser, until a score reaches the threshold or attempts run out."""
    inputs = LoopInputs.model_validate(raw)
    attempts: list[Attempt] = []
    for n in range(1, inputs.max_attempts + 1):
        if n == 1:
            draft = await _stage(ctx, Stage.PRODUCING, 1, inputs.producer, _produce_prompt(inputs))
        else:
            prompt = _revise_prompt(inputs, attempts[-1])
            draft = await _stage(
                ctx, Stage.REVISING, n, inputs.reviser, prompt, score=attempts[-1].score
            )
        draft_artifact = await _save_draft(ctx, n, draft.text)
        reply = await _stage(
            ctx, Stage.EVALUATING, n, inputs.evaluator, _evaluate_prompt(inputs, n, draft.text)
        )
        reply = await _readable(ctx, inputs, n, draft.text, reply)
        evaluation = await _save_evaluation(ctx, inputs, n, reply)
        attempt = Attempt(
            n,
            draft.text,
            evaluation["score"],
            evaluation["feedback"],
            evaluation,
            draft_artifact,
            evaluation["artifact"],
        )
        attempts.append(attempt)
        if attempt.score >= inputs.pass_threshold:
            return await _passed(ctx, inputs, attempts)
    raise await _failed(ctx, inputs, attempts)


# --- stages ----------------------------------------------------------------------


async def _stage(
    ctx: RunContext,
    stage: Stage,
    attempt: int,
    agent: str,
    prompt: str,
    score: float | None = None,
) -> AgentReply:
    """One agent call of a stage, announced once: a replayed call is not announced again."""
    key = f"{_VERB[stage]}:{attempt}"
    if not ctx.is_replayed(f"llm:{key}"):  # the runner journals a call as step llm:<key>
        ctx.emit(
            "stage.changed",
            f"attempt {attempt}: {stage} ({agent})",
            stage=stage.value,
            attempt=attempt,
            agent=agent,
        )
        progress: dict[str, Any] = {"stage": stage.value, "attempt": attempt}
        if score is not None:
            progress["score"] = score
        # set_progress does not wait: it commits while the agent works
        await ctx.set_progress(**progress)
    try:
        # runner_of(ctx).run is run_agent without importing pydantic-ai with this module
        output = EvaluationOut if stage == Stage.EVALUATING else None
        reply = await runner_of(ctx).run(
            ctx, agent, prompt, key=key, role=_ROLE[stage], output=output
        )
    except LeaseLost:
        raise
    except Exception as error:
        _emit_error(ctx, stage, attempt, error)
        raise
    return reply


_VERB = {Stage.PRODUCING: "produce", Stage.EVALUATING: "evaluate", Stage.REVISING: "revise"}
_ROLE = {Stage.PRODUCING: "producer", Stage.EVALUATING: "evaluator", Stage.REVISING: "reviser"}


async def _readable(
    ctx: RunContext, inputs: LoopInputs, attempt: int, draft: str, reply: AgentReply
) -> AgentReply:
    """The evaluator's reply, or, when it cannot be read, its answer to being asked once
    more with the reason (step `llm:evaluate:N:again`); a second unreadable answer fails
    the run when it is saved."""
    try:
        parse_evaluation(reply.text)
        return reply
    except EvaluationUnreadable as error:
        problem = str(error)
    key = f"evaluate:{attempt}:again"
    if not ctx.is_replayed(f"llm:{key}"):
        ctx.emit(
            "evaluation.unreadable",
            f"attempt {attempt}: the evaluator's answer could not be read; asking once more: "
            f"{problem}",
            attempt=attempt,
            error=problem[:2000],
        )
    prompt = (
        _evaluate_prompt(inputs, attempt, draft)
        + f"\n\n## Your previous answer could not be read\n\n{problem}\n\n"
        "Answer again with one JSON object only, its score a number from 0 to 1."
    )
    try:
        return await runner_of(ctx).run(
            ctx, inputs.evaluator, prompt, key=key, role="evaluator", output=EvaluationOut
        )
    except LeaseLost:
        raise
    except Exception as failed:
        _emit_error(ctx, Stage.EVALUATING, attempt, failed)
        raise


def _emit_error(ctx: RunContext, stage: Stage, attempt: int, error: Exception) -> None:
    text = f"{type(error).__name__}: {error}"
    ctx.emit(
        "error",
        f"attempt {attempt}: {stage} failed: {text}",
        stage=stage.value,
        attempt=attempt,
        error=text[:2000],
    )


async def _save_draft(ctx: RunContext, attempt: int, text: str) -> str:
    """Store attempt N's draft as `attempt-N.md`, once; returns the artifact's id."""

    async def save() -> str:
        return await ctx.artifact(
            f"attempt-{attempt}.md", text, media_type="text/markdown", attempt=attempt
        )

    return await ctx.step(f"draft:{attempt}", save, retry=NO_RETRY)


async def _save_evaluation(
    ctx: RunContext, inputs: LoopInputs, attempt: int, reply: AgentReply
) -> dict[str, Any]:
    """Read the evaluator's answer and store it as `attempt-N.eval.json`, once.

    An answer with no score fails this step (and so the run) with what came back.
    """

    async def save() -> dict[str, Any]:
        evaluation = parse_evaluation(reply.text)
        passed = evaluation.score >= inputs.pass_threshold
        record = {
            "attempt": attempt,
            **evaluation.as_json(),
            "passed": passed,
            "threshold": inputs.pass_threshold,
            "evaluator": reply.agent,
            "model": reply.model_id,
        }
        artifact = await ctx.artifact(
            f"attempt-{attempt}.eval.json",
            json.dumps(record, ensure_ascii=False),
            media_type="application/json",
            attempt=attempt,
        )
        relation = "reaches" if passed else "is below"
        ctx.emit(
            "score",
            f"attempt {attempt} scored {evaluation.score:.2f}, "
            f"which {relation} the threshold {inputs.pass_threshold:.2f}",
            attempt=attempt,
            score=evaluation.score,
            threshold=inputs.pass_threshold,
            passed=passed,
            criteria=evaluation.criteria,
        )
        return {**record, "artifact": artifact}

    try:
        return await ctx.step(f"evaluation:{attempt}", save, retry=NO_RETRY)
    except LeaseLost:
        raise
    except Exception as error:
        _emit_error(ctx, Stage.EVALUATING, attempt, error)
        raise


# --- verdicts ----------------------------------------------------------------------


async def _passed(ctx: RunContext, inputs: LoopInputs, attempts: list[Attempt]) -> dict[str, Any]:
    last = attempts[-1]
    ctx.emit(
        "verdict",
        f"passed at attempt {last.number} with score {last.score:.2f}",
        verdict=Verdict.PASSED.value,
        attempt=last.number,
        score=last.score,
        threshold=inputs.pass_threshold,
    )
    await ctx.set_progress(
        stage=None, attempt=last.number, score=last.score, verdict=Verdict.PASSED.value
    )
    return _result(Verdict.PASSED, inputs, attempts, last)


async def _failed(ctx: RunContext, inputs: LoopInputs, attempts: list[Attempt]) -> LoopFailed:
    """Mark the best attempt (the earliest of the top score); the error that fails the run."""
    best = max(attempts, key=lambda a: (a.score, -a.number))
    ctx.emit(
        "attempt.best",
        f"best attempt: {best.number} with score {best.score:.2f}",
        **best.summary(inputs.pass_threshold),
    )
    message = (
        f"did not pass within {len(attempts)} attempt(s): best score {best.score:.2f} "
        f"at attempt {best.number}, below the threshold {inputs.pass_threshold:.2f}"
    )
    ctx.emit(
        "verdict",
        f"failed: {message}",
        verdict=Verdict.FAILED.value,
        attempt=attempts[-1].number,
        score=best.score,
        best_attempt=best.number,
        threshold=inputs.pass_threshold,
    )
    # the run's score is its best attempt's: what a list of failed runs should show
    await ctx.set_progress(
        stage=None,
        attempt=attempts[-1].number,
        score=best.score,
        verdict=Verdict.FAILED.value,
    )
    return LoopFailed(message)


def _result(
    verdict: Verdict, inputs: LoopInputs, attempts: list[Attempt], best: Attempt
) -> dict[str, Any]:
    return {
        "verdict": verdict.value,
        "score": best.score,
        "attempt": attempts[-1].number,
        "best_attempt": best.number,
        "artifact": best.draft_artifact,
        "pass_threshold": inputs.pass_threshold,
        "max_attempts": inputs.max_attempts,
        "attempts": [a.summary(inputs.pass_threshold) for a in attempts],
    }


# --- prompts -----------------------------------------------------------------------


def _task_json(inputs: LoopInputs) -> str:
    # compact: the C encoder (indent= falls back to the pure-Python one, 10x slower)
    return json.dumps(inputs.task, ensure_ascii=False)


def _produce_prompt(inputs: LoopInputs) -> str:
    return (
        f"## Task\n\n{_task_json(inputs)}\n\n"
        "## What to do\n\n"
        "Write a complete markdown draft that fulfils the task above. "
        "Answer with the draft only."
    )


def _evaluate_prompt(inputs: LoopInputs, attempt: int, draft: str) -> str:
    return (
        f"## Task\n\n{_task_json(inputs)}\n\n"
        f"## Draft (attempt {attempt})\n\n{draft}\n\n"
        "## What to do\n\n"
        "Score how well the draft fulfils the task, from 0 (not at all) to 1 (perfectly). "
        "Answer with JSON only, no code fence:\n"
        '{"score": <0..1>, "feedback": "<what to improve, concretely>", '
        '"criteria": {"<criterion>": <0..1>}}'
    )


def _revise_prompt(inputs: LoopInputs, previous: Attempt) -> str:
    evaluation = {
        "score": previous.score,
        "feedback": previous.feedback,
        "criteria": previous.evaluation.get("criteria", {}),
    }
    # The draft comes before the feedback heading: readers (and the offline simulator)
    # take everything up to "## Feedback" as the draft to revise.
    return (
        f"## Task\n\n{_task_json(inputs)}\n\n"
        f"## Draft (attempt {previous.number})\n\n{previous.draft}\n\n"
        f"## Feedback\n\n{json.dumps(evaluation, ensure_ascii=False)}\n\n"
        "## What to do\n\n"
        "Revise the draft so that it addresses every point of the feedback; keep what was "
        "good. Answer with the complete revised markdown draft only."
    )


def register(registry: Registry) -> None:
    """Add the loop workflow to `registry`."""
    registry.workflow(
        NAME,
        inputs=LoopInputs,
        description="Producer → Evaluator → Reviser: draft, score and revise until the score "
        "reaches the pass threshold or the attempts run out.",
        agents=lambda i: [i["producer"], i["evaluator"], i["reviser"]],
    )(loop)
