"""Artifacts and other model output as safe HTML: markdown, JSON, diffs and plain text.

Anything a model wrote is hostile until proven otherwise. Markdown is rendered with raw
HTML switched off and the result is cleaned again by nh3 with a short allow-list: no
script, no event handlers, no `javascript:` or other foreign URL schemes, and no image
that would be fetched from another origin (only `data:image/...` and same-origin paths
load; any other image becomes a visible, inert note). JSON is pretty-printed and
coloured, diffs are coloured line by line, everything else is escaped text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup, escape

from agentdeck.domain.json_values import bounded

MAX_RENDERED_CHARS = 300_000  # larger artifacts are shown cut, with a link to the raw text

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p",
    "pre", "s", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th",
    "thead", "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
_URL_SCHEMES = {"http", "https", "mailto", "data"}
_CLASSES = {"span": {"blocked-image"}, "code": {f"language-{n}" for n in ("json", "diff", "py")}}


def _safe_image(src: str) -> bool:
    """Images load only from this origin or from the document itself: never a third party."""
    src = src.strip()
    if src.lower().startswith("data:image/"):
        return True
    return src.startswith("/") and not src.startswith("//") and "\\" not in src


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if _safe_image(value) else None
    if tag == "a" and attribute == "href" and value.strip().lower().startswith("data:"):
        return None  # data: is for images only
    return value


def clean_html(html: str) -> str:
    """The allow-list cleaner every rendered fragment goes through last."""
    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags={"script", "style"},
        attributes=_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes=_URL_SCHEMES,
        allowed_classes=_CLASSES,
        link_rel="noopener noreferrer nofollow",
    )


def _render_image(
    renderer: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    """A remote image becomes a note naming it; it is never fetched."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = renderer.renderInlineAsText(token.children or [], options, env)
    if _safe_image(src):
        return f'<img src="{escape(src)}" alt="{escape(alt)}">'
    label = f"image not loaded: {alt} ({src})" if alt else f"image not loaded: {src}"
    return f'<span class="blocked-image">{escape(label)}</span>'


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("image", _render_image)
    return md


_MD = _markdown()


_COMMENT = re.compile(r"^[ \t]*<!--.*?-->[ \t]*$\n?", re.DOTALL | re.MULTILINE)  # whole lines


def markdown_html(text: str) -> Markup:
    """Markdown as clean HTML: raw HTML shows as text; comment lines (invisible anyway) go."""
    return Markup(clean_html(_MD.render(_COMMENT.sub("", text))))


# --- JSON -----------------------------------------------------------------------------


def _span(kind: str, text: str) -> str:
    return f'<span class="j-{kind}">{escape(text)}</span>'


def _json_parts(value: Any, indent: int, out: list[str]) -> None:
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        out.append("{\n")
        for n, (key, item) in enumerate(value.items()):
            out.append(pad + "  " + _span("key", json.dumps(str(key), ensure_ascii=False)) + ": ")
            _json_parts(item, indent + 1, out)
            out.append(",\n" if n < len(value) - 1 else "\n")
        out.append(pad + "}")
    elif isinstance(value, list):
        if not value:
            out.append("[]")
            return
        out.append("[\n")
        for n, item in enumerate(value):
            out.append(pad + "  ")
            _json_parts(item, indent + 1, out)
            out.append(",\n" if n < len(value) - 1 else "\n")
        out.append(pad + "]")
    elif isinstance(value, str):
        out.append(_span("str", json.dumps(value, ensure_ascii=False)))
    elif isinstance(value, bool) or value is None:
        out.append(_span("lit", json.dumps(value)))
    else:
        out.append(_span("num", json.dumps(value)))


def json_html(value: Any) -> Markup:
    """A JSON value pretty-printed with its keys, strings, numbers and literals coloured.

    Whatever lies deeper than json_values.MAX_DEPTH is shown as a note: stored values may
    nest deeper than a recursive printer (or a reader's eye) can follow.
    """
    out: list[str] = []
    _json_parts(bounded(value), 0, out)
    return Markup('<pre class="json">' + "".join(out) + "</pre>")


def json_text_html(text: str) -> Markup:
    """JSON text pretty-printed; text that is not JSON, or nested too deep to read, as it is."""
    try:
        return json_html(json.loads(text))
    except (ValueError, RecursionError):
        return text_html(text)


# --- diffs and text --------------------------------------------------------------------


def _diff_class(line: str) -> str:
    if line.startswith(("+++", "---", "diff ", "index ")):
        return "d-meta"
    if line.startswith("@@"):
        return "d-hunk"
    if line.startswith("+"):
        return "d-add"
    if line.startswith("-"):
        return "d-del"
    return "d-ctx"


def diff_html(text: str) -> Markup:
    """A unified diff with added, removed, hunk and header lines coloured."""
    lines = "".join(
        f'<span class="{_diff_class(line)}">{escape(line)}\n</span>' for line in text.splitlines()
    )
    return Markup(f'<pre class="diff">{lines}</pre>')


def text_html(text: str) -> Markup:
    return Markup(f'<pre class="text">{escape(text)}</pre>')


_DIFF_NAME = re.compile(r"\.(diff|patch)$", re.IGNORECASE)


def kind_of(name: str, media_type: str) -> str:
    """How an artifact is shown: markdown, json, diff or text."""
    media = media_type.split(";")[0].strip().lower()
    if media in ("text/x-diff", "text/x-patch") or _DIFF_NAME.search(name):
        return "diff"
    if media == "application/json" or media.endswith("+json") or name.lower().endswith(".json"):
        return "json"
    if media == "text/markdown" or name.lower().endswith((".md", ".markdown")):
        return "markdown"
    return "text"


def artifact_html(name: str, media_type: str, content: str) -> Markup:
    """An artifact rendered by its kind; very large ones are cut (the raw link has it all)."""
    text = content[:MAX_RENDERED_CHARS]
    kind = kind_of(name, media_type)
    if kind == "markdown":
        body = markdown_html(text)
    elif kind == "json":
        body = json_text_html(content) if len(content) <= MAX_RENDERED_CHARS else text_html(text)
    elif kind == "diff":
        body = diff_html(text)
    else:
        body = text_html(text)
    if len(content) > MAX_RENDERED_CHARS:
        body += Markup('<p class="muted">Cut at {:,} characters.</p>').format(MAX_RENDERED_CHARS)
    return body
