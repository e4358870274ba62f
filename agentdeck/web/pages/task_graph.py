"""The task graph of a plan run as server-rendered SVG: layers left to right, coloured by state.

A column per layer (0: no prerequisites), the tasks of a layer in plan order, an edge
from each task to every task it waits for. Colours come from the stylesheet (classes
`t-<status>`), so the page's CSP needs no inline style; each node links to the task in
the tree below the graph and says its key, title and state in a tooltip.
"""

from __future__ import annotations

from collections import defaultdict

from markupsafe import Markup, escape

from agentdeck.domain.plans import TaskGraph
from agentdeck.web.schemas import TaskOut

NODE_W = 132
NODE_H = 26
GAP_X = 56
GAP_Y = 8
PAD = 16
LABEL = 16  # characters of a key shown in a node
MAX_EDGES = 6000  # beyond this, edges are left out: the picture would be solid ink anyway


def task_graph_svg(tasks: list[TaskOut], graph: TaskGraph | None) -> Markup:
    """The SVG of the tasks without subtasks (empty when there are none)."""
    leaves = [t for t in tasks if not t.is_group]
    if not leaves:
        return Markup("")
    columns: dict[int, list[TaskOut]] = defaultdict(list)
    for task in leaves:
        columns[task.layer or 0].append(task)
    where: dict[str, tuple[int, int]] = {}
    for layer, members in columns.items():
        for row, task in enumerate(members):
            x = PAD + layer * (NODE_W + GAP_X)
            where[task.key] = (x, PAD + row * (NODE_H + GAP_Y))
    width = PAD * 2 + (max(columns) + 1) * (NODE_W + GAP_X) - GAP_X
    height = PAD * 2 + max(len(m) for m in columns.values()) * (NODE_H + GAP_Y) - GAP_Y
    parts = [
        f'<svg class="task-graph" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="Task graph: {len(leaves)} tasks in {len(columns)} layers">'
    ]
    edges = _edges(leaves, graph, where)
    if len(edges) <= MAX_EDGES:
        parts.append('<g class="edges">')
        parts += edges
        parts.append("</g>")
    parts.append('<g class="nodes">')
    for task in leaves:
        x, y = where[task.key]
        label = task.key if len(task.key) <= LABEL else task.key[: LABEL - 1] + "…"
        tip = f"{task.key}: {task.title} — {task.status.value}"
        if task.reason:
            tip += f" ({task.reason})"
        parts.append(
            f'<a href="#task-{escape(task.key)}" class="node t-{task.status.value}">'
            f"<title>{escape(tip)}</title>"
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="5"/>'
            f'<text x="{x + 8}" y="{y + NODE_H // 2 + 4}">{escape(label)}</text></a>'
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))


def _edges(
    leaves: list[TaskOut], graph: TaskGraph | None, where: dict[str, tuple[int, int]]
) -> list[str]:
    if graph is None:
        return []
    out = []
    for task in leaves:
        x2, y2 = where[task.key]
        for need in sorted(graph.needs.get(task.key, ())):
            if need not in where:
                continue
            left, top = where[need]
            x1, y1, y2c = left + NODE_W, top + NODE_H // 2, y2 + NODE_H // 2
            bend = GAP_X // 2
            out.append(f'<path d="M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2c} {x2},{y2c}"/>')
    return out
