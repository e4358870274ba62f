"""Workflows the dashboard tests start: one that fails, one with an approval gate, and one
whose events and artifacts carry XSS payloads (script tags, event handlers, `javascript:`
links, remote images). Each payload would set `window.__xss` if it ever ran.
"""

from __future__ import annotations

import json
from typing import Any

from agentdeck.domain.errors import AgentdeckError
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry

REMOTE = "http://example.invalid"

MARKDOWN_PAYLOAD = f"""# Report <script>window.__xss = "script"</script>

<img src="x" onerror="window.__xss = 'onerror'">
<svg onload="window.__xss = 'svg'"><circle r="5"/></svg>
<iframe src="{REMOTE}/frame"></iframe>
<style>body {{ background: url({REMOTE}/style.png) }}</style>

[click me](javascript:window.__xss='markdown-link') and [data](data:text/html,<script>x</script>)
<a href="javascript:window.__xss='raw-link'">raw link</a>

![remote image]({REMOTE}/remote.png)
<img src="{REMOTE}/raw.png">
![protocol relative](//example.invalid/pr.png)

A [plain link]({REMOTE}/page) is fine: it is only followed when clicked.
"""

JSON_PAYLOAD = json.dumps(
    {
        "score": 0.4,
        "feedback": "<img src=x onerror=\"window.__xss='feedback'\"> improve <b>this</b>",
        "criteria": {"<script>window.__xss='criterion'</script>": 0.5},
        "note": "<script>window.__xss = 'json'</script>",
    }
)
HTML_PAYLOAD = f"<script>window.__xss='html'</script><img src='{REMOTE}/h.png' onerror='x()'>"
DIFF_PAYLOAD = (
    "--- a/page.html\n+++ b/page.html\n@@ -1 +1 @@\n"
    f"-<p>old</p>\n+<img src='{REMOTE}/d.png' onerror=\"window.__xss='diff'\">\n"
)
EVENT_PAYLOAD = "<img src=x onerror=\"window.__xss='event'\"><script>window.__xss='ev'</script>"


class Broke(AgentdeckError):
    """The failure the `broken` workflow ends with."""


def register(registry: Registry) -> None:
    """Add broken, approval and xss to `registry`."""

    @registry.workflow("broken", description="Fails at once, to be retried.")
    async def broken(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        await ctx.step("try", lambda: "tried")
        raise Broke(f"it broke ({inputs.get('why', 'on purpose')})")

    @registry.workflow("approval", description="Drafts, then waits at the `publish` gate.")
    async def approval(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        # in a step: a run resumed after the gate replays it instead of writing it again
        async def draft() -> str:
            return await ctx.artifact("draft.md", "# Draft\n\nReady.", attempt=1)

        draft_id: str = await ctx.step("draft", draft)
        decision = await ctx.wait_for_gate("publish")
        ctx.emit("decision", f"publish: {decision.decision.value}", comment=decision.comment)
        return {"decision": decision.decision.value, "comment": decision.comment, "draft": draft_id}

    @registry.workflow("xss", description="Writes hostile content, waits at `go`, then fails.")
    async def xss(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        async def write() -> str:
            ctx.emit("log", EVENT_PAYLOAD, html=EVENT_PAYLOAD)
            await ctx.artifact("attempt-1.md", MARKDOWN_PAYLOAD, attempt=1)
            await ctx.artifact(
                "attempt-1.eval.json", JSON_PAYLOAD, media_type="application/json", attempt=1
            )
            await ctx.artifact("page.html", HTML_PAYLOAD, media_type="text/html")
            await ctx.artifact("change.diff", DIFF_PAYLOAD, media_type="text/x-diff")
            ctx.emit("score", EVENT_PAYLOAD, score=0.4, attempt=1)
            return "written"

        written: str = await ctx.step("write", write)  # replayed, not repeated, after the gate
        await ctx.wait_for_gate("go")
        ctx.emit("log", "after the gate: " + EVENT_PAYLOAD)  # arrives over the live stream
        await ctx.artifact("attempt-2.md", MARKDOWN_PAYLOAD, attempt=2)
        raise Broke(EVENT_PAYLOAD + f" ({written})")
