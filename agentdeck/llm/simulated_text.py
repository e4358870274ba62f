"""What the offline simulator reads in a prompt: its subject, audience, nouns and sections.

The simulator's answers are built from these, so a draft about "sourdough baking" talks
about sourdough baking and a plan for "a website for my bakery" is a bakery's website.
Everything here is a pure function of the prompt's text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

SUBJECT_KEYS = ("topic", "title", "goal", "subject", "task", "idea", "request", "brief", "name")
# The headings the workflows' prompts use; a draft's own headings stay inside its section.
_HEADING = re.compile(
    r"^##\s+(task|goal|draft(?: \(attempt \d+\))?|feedback|what to do|results of its "
    r"prerequisites|a person's note for this attempt|your previous plan was refused)\s*$",
    re.MULTILINE | re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
# Words that carry no subject: articles, pronouns, auxiliaries, and the prompts' own words.
_STOP = """a an the and or but nor for with without from into onto over under about above after
    before between through during to of in on at by as is are was were be been being it its
    this that these those there their they them we our us you your i my me he she his her
    will would should could can may might must shall do does did done have has had not no
    so than then too very just also only more most some any each every all both few many
    much such own same other which what who whom whose when where why how while if else
    up down out off again further once here make made get got want wants need needs like
    new good great small big tiny simple please help using use used way ways thing things
    task tasks goal draft attempt score feedback criteria answer markdown json plan write
    writing complete what_to_do carry outcome result results prerequisites note person
    agents agent part"""
STOPWORDS = frozenset(_STOP.split())


@dataclass(frozen=True)
class Reading:
    """What a prompt is about: its subject, who it is for, its other words, its fields."""

    subject: str
    audience: str | None
    nouns: tuple[str, ...]
    fields: dict[str, object]
    sections: dict[str, str]


def read(prompt: str) -> Reading:
    """The subject (a task field, a goal, or the first line), audience, nouns and sections."""
    sections = sections_of(prompt)
    fields = first_json_object(sections.get("task", "")) or first_json_object(prompt) or {}
    subject = _subject(fields, sections, prompt)
    audience = fields.get("audience")
    # Short values (a length, a tone) are settings, not subject matter.
    texts = [subject, *(v for k, v in fields.items() if isinstance(v, str) and len(v) > 24)]
    if "goal" in sections:
        texts.append(sections["goal"])
    return Reading(
        subject=inline(subject),
        audience=audience if isinstance(audience, str) and audience.strip() else None,
        nouns=tuple(nouns_of(" ".join(texts))),
        fields=fields,
        sections=sections,
    )


def sections_of(prompt: str) -> dict[str, str]:
    """Markdown sections by lower-cased heading ("draft (attempt 2)" is also "draft")."""
    out: dict[str, str] = {}
    found = list(_HEADING.finditer(prompt))
    for i, match in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(prompt)
        name = match.group(1).strip().lower()
        body = prompt[match.end() : end].strip()
        out.setdefault(name, body)
        out.setdefault(name.split(" (")[0], body)
    return out


def nouns_of(text: str, limit: int = 8) -> list[str]:
    """The content words of `text`, in order of first appearance, without repeats."""
    seen: list[str] = []
    for word in _WORD.findall(text):
        lowered = word.lower().strip("'-")
        if len(lowered) < 4 or lowered in STOPWORDS or lowered in seen:
            continue
        seen.append(lowered)
        if len(seen) == limit:
            break
    return seen


def first_json_object(text: str) -> dict[str, object] | None:
    return next(json_objects(text), None)


def json_objects(text: str) -> Iterator[dict[str, object]]:
    """Every JSON object embedded in `text`, in order."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            yield value
        start = text.find("{", end)


def clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def first_sentence(text: str) -> str:
    """The text up to its first full stop or line break, without a trailing stop."""
    text = text.strip()
    cut = re.search(r"(?<=[a-z0-9)])[.!?](\s|$)|\n", text)
    return (text[: cut.start()] if cut else text).strip(" .")


def inline(text: str) -> str:
    """A title as it reads inside a sentence: 'Sourdough baking' -> 'sourdough baking'."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def joined(items: list[str] | tuple[str, ...], word: str = "and") -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def pick(options: tuple[str, ...], d: bytes, i: int = 0) -> str:
    """One of `options`, chosen by the prompt's digest: varied, yet the same for one prompt."""
    return options[d[i % len(d)] % len(options)]


_IRREGULAR = {
    "build": "built",
    "write": "wrote",
    "make": "made",
    "set": "set",
    "put": "put",
    "run": "ran",
    "send": "sent",
    "find": "found",
    "choose": "chose",
    "draw": "drew",
    "take": "took",
    "give": "gave",
    "hold": "held",
    "buy": "bought",
    "get": "got",
    "do": "did",
    "go": "went",
    "lay": "laid",
    "pay": "paid",
    "test": "tested",
    "plan": "planned",
    "ship": "shipped",
    "map": "mapped",
}


def past_tense(title: str) -> str:
    """'Build the pages' -> 'Built the pages'; a title not starting with a verb is kept."""
    first, _, rest = title.partition(" ")
    verb = first.lower()
    if not verb.isalpha() or verb in STOPWORDS - {"write", "make", "plan", "use", "get"}:
        return f"Worked on: {title}"
    if verb in _IRREGULAR:
        done = _IRREGULAR[verb]
    elif verb.endswith("e"):
        done = verb + "d"
    elif verb.endswith("y") and verb[-2:-1] not in "aeiou":
        done = verb[:-1] + "ied"
    else:
        done = verb + "ed"
    return f"{capitalised(done)} {rest}".strip()


def _subject(fields: dict[str, object], sections: dict[str, str], prompt: str) -> str:
    for key in SUBJECT_KEYS:
        value = fields.get(key)
        if isinstance(value, str) and value.strip():
            return clip(value.strip(), 100)
    if sections.get("goal"):
        return clip(first_sentence(sections["goal"]), 100)
    for line in prompt.splitlines():
        line = line.strip(" #*-\t")
        if line and not line.startswith(("<!--", "{", "[", "_")):
            return clip(first_sentence(line), 100)
    return "the request"
