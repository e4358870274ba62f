"""A cycle's execution graph as server-rendered SVG: one column per wave, coloured by state.

Each node is one agent execution (its role and priority); an edge runs from every node
to each node it depends on (planner before builder, builder before reviewer). Colours
come from the stylesheet (classes `n-<state>`), so the page's CSP needs no inline style.
"""

from __future__ import annotations

from collections import defaultdict

from markupsafe import Markup, escape

from agentdeck.web.schemas.stack_board import NodeOut

NODE_W = 150
NODE_H = 40
GAP_X = 60
GAP_Y = 12
PAD = 14


def cycle_graph_svg(nodes: list[NodeOut]) -> Markup:
    """The SVG of a cycle's nodes by wave (empty when the cycle ran no agent)."""
    if not nodes:
        return Markup("")
    waves: dict[int, list[NodeOut]] = defaultdict(list)
    for node in nodes:
        waves[node.wave].append(node)
    order = sorted(waves)
    where: dict[str, tuple[int, int]] = {}
    for column, wave in enumerate(order):
        for row, node in enumerate(sorted(waves[wave], key=lambda n: -n.priority)):
            where[node.role] = (PAD + column * (NODE_W + GAP_X), PAD + row * (NODE_H + GAP_Y))
    width = PAD * 2 + len(order) * (NODE_W + GAP_X) - GAP_X
    height = PAD * 2 + max(len(m) for m in waves.values()) * (NODE_H + GAP_Y) - GAP_Y
    parts = [
        f'<svg class="cycle-graph" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="Execution graph: {len(nodes)} agents in {len(order)} waves">',
        '<g class="edges">',
    ]
    for node in nodes:
        x2, y2 = where[node.role]
        for need in node.depends_on:
            if need not in where:
                continue
            left, top = where[need]
            x1, y1, y2c = left + NODE_W, top + NODE_H // 2, y2 + NODE_H // 2
            bend = GAP_X // 2
            parts.append(f'<path d="M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2c} {x2},{y2c}"/>')
    parts.append('</g><g class="nodes">')
    for node in nodes:
        x, y = where[node.role]
        tip = f"{node.role}: priority {node.priority}, wave {node.wave + 1}, {node.state}"
        if node.duration_ms is not None:
            tip += f" in {node.duration_ms} ms"
        if node.error:
            tip += f" — {node.error}"
        elif node.result:
            tip += f" — {node.result}"
        parts.append(
            f'<g class="node n-{escape(node.state)}" data-role="{escape(node.role)}">'
            f"<title>{escape(tip)}</title>"
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
            f'<text x="{x + 10}" y="{y + 17}" class="role">{escape(node.role)}</text>'
            f'<text x="{x + 10}" y="{y + 32}" class="meta">p{node.priority} · '
            f"{escape(node.state)}</text></g>"
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))
