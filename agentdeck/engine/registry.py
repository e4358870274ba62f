"""Workflows by name: the async functions the engine runs, and their input schemas."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from agentdeck.domain.errors import InvalidInput, NotFound
from agentdeck.domain.json_values import refuse_bool_for_number
from agentdeck.engine.input_schemas import model_of

if TYPE_CHECKING:
    from agentdeck.engine.context import RunContext

WorkflowFn = Callable[["RunContext", dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Workflow:
    """A registered workflow: its function, and optionally a pydantic model of its inputs."""

    name: str
    fn: WorkflowFn
    inputs: type[BaseModel] | None = None
    description: str = ""
    # which agents a run of this workflow uses, read from its inputs; runs are
    # listed and filtered by these names
    agents: Callable[[dict[str, Any]], list[str]] | None = None
    # runs whose key (a template over the inputs, e.g. "repo:{inputs.repo}") is the
    # same never exceed `concurrency_limit` running at once; a submit may override both
    concurrency_key: str | None = None
    concurrency_limit: int = 1

    def concurrency_key_of(self, inputs: dict[str, Any]) -> str | None:
        """The key a run with these inputs takes; InvalidInput if the inputs lack a field."""
        if self.concurrency_key is None:
            return None
        return render_key(self.concurrency_key, inputs)

    def agents_of(self, inputs: dict[str, Any]) -> list[str] | None:
        if self.agents is None:
            return None
        return sorted(set(self.agents(inputs)))

    def validate_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Inputs as the workflow will see them; InvalidInput names the first bad field."""
        if self.inputs is None:
            return inputs
        try:
            validated = self.inputs.model_validate(inputs).model_dump(mode="json")
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "inputs"
            raise InvalidInput(f"inputs.{where}: {first['msg']}", field=f"inputs.{where}") from None
        refuse_bool_for_number(inputs, validated, "inputs", [])
        return validated

    def input_schema(self) -> dict[str, Any]:
        """The JSON Schema of the inputs: the form, the API docs and `agentdeck` read it.

        Without declared inputs it says so (`x-agentdeck-undeclared`): the form then offers
        one JSON field for whatever the workflow reads, instead of "takes no inputs".
        """
        if self.inputs is None:
            return {"type": "object", "additionalProperties": True, "x-agentdeck-undeclared": True}
        return self.inputs.model_json_schema()


class Registry:
    """The workflows one process can run."""

    def __init__(self) -> None:
        self._workflows: dict[str, Workflow] = {}

    def add(self, workflow: Workflow) -> None:
        self._workflows[workflow.name] = workflow

    def workflow(
        self,
        name: str,
        *,
        inputs: type[BaseModel] | dict[str, Any] | None = None,
        description: str = "",
        agents: Callable[[dict[str, Any]], list[str]] | None = None,
        concurrency_key: str | None = None,
        concurrency_limit: int = 1,
    ) -> Callable[[WorkflowFn], WorkflowFn]:
        """Decorator: register an `async def fn(ctx, inputs)` under `name`.

        `inputs` declares what a run takes — a pydantic model, or a JSON Schema object
        (see `input_schemas`) — so the start form, the API's validation and the docs
        follow from it; the function still receives a plain dict.
        `concurrency_key` (e.g. "repo:{inputs.repo}") with `concurrency_limit` caps how
        many runs sharing the key run at once, across workers and processes.
        """
        model = model_of(name, inputs) if isinstance(inputs, dict) else inputs
        if concurrency_limit < 1:
            raise ValueError(f"workflow {name!r}: concurrency_limit must be at least 1")

        def register(fn: WorkflowFn) -> WorkflowFn:
            doc = description or (fn.__doc__ or "").strip()
            self.add(Workflow(name, fn, model, doc, agents, concurrency_key, concurrency_limit))
            return fn

        return register

    def load_modules(self, modules: list[str]) -> None:
        """Import each module and call its `register(registry)`."""
        for name in modules:
            module = importlib.import_module(name)
            register = getattr(module, "register", None)
            if not callable(register):
                raise InvalidInput(
                    f"workflow module {name!r} has no register(registry) function",
                    field="workflow_modules",
                )
            register(self)

    def get(self, name: str) -> Workflow:
        try:
            return self._workflows[name]
        except KeyError:
            known = ", ".join(sorted(self._workflows)) or "none"
            raise NotFound(f"unknown workflow {name!r} (known: {known})") from None

    def find(self, name: str) -> Workflow | None:
        return self._workflows.get(name)

    def list(self) -> list[Workflow]:
        return sorted(self._workflows.values(), key=lambda w: w.name)


class _Fields:
    """`{inputs.repo}` in a key template reads the input `repo`."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        value = self._values.get(name)
        if value is None:  # a declared input left out is validated to None
            raise InvalidInput(
                f"the concurrency key reads inputs.{name}, which this run does not have",
                field=f"inputs.{name}",
            )
        return value


def render_key(template: str, inputs: dict[str, Any]) -> str:
    """A concurrency key from its template: `{inputs.NAME}` is replaced by that input."""
    try:
        return template.format(inputs=_Fields(inputs))
    except (KeyError, IndexError, ValueError, AttributeError) as error:
        raise InvalidInput(
            f"concurrency key template {template!r} cannot be filled: {error}; use {{inputs.NAME}}",
            field="concurrency_key",
        ) from None
