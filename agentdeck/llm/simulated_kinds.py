"""Kinds of work the offline simulator's planner knows, each with its usual steps.

A step's title and detail say `{s}` where the goal's subject goes ("the {s} website" is
"the bakery website").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One task of a kind of work: its title ({s} = the subject), role, prerequisites."""

    title: str
    detail: str
    role: str
    after: tuple[int, ...]  # 1-based indexes of earlier steps
    phase: str


@dataclass(frozen=True)
class Kind:
    """A kind of work: the words that reveal it, its noun, its steps, where features go."""

    name: str
    words: tuple[str, ...]
    noun: str
    steps: tuple[Step, ...]
    feature_after: int  # features are built after this step; the step after them waits for all
    feature_role: str
    owned: bool = False  # the subject is whose it is ("for my bakery"), not the thing itself


_WEBSITE = Kind(
    "website",
    ("website", "web site", "site", "landing page", "homepage", "web page", "webshop", "blog"),
    "website",
    (
        Step(
            "Gather the {s}'s content",
            "Collect what the site must say: what the {s} offers, prices, opening hours or "
            "contact details, and photos.",
            "executor",
            (),
            "Content",
        ),
        Step(
            "Plan the pages of the {s} website",
            "Decide the pages and navigation, from the content gathered.",
            "executor",
            (1,),
            "Content",
        ),
        Step(
            "Design the look of the {s} website",
            "Choose colours, type and a layout that suit the {s}; sketch the home page.",
            "executor",
            (2,),
            "Design",
        ),
        Step(
            "Build the pages of the {s} website",
            "Build every planned page with the design, responsive on phones.",
            "coder",
            (2, 3),
            "Build",
        ),
        Step(
            "Test the {s} website on phones and browsers",
            "Check every page, link and form on a phone and two browsers.",
            "reviewer",
            (4,),
            "Launch",
        ),
        Step(
            "Publish the {s} website",
            "Put the site online under its domain and tell the {s}'s customers.",
            "executor",
            (5,),
            "Launch",
        ),
    ),
    feature_after=4,
    feature_role="coder",
    owned=True,
)
_SOFTWARE = Kind(
    "software",
    (
        "app",
        "application",
        "api",
        "service",
        "tool",
        "cli",
        "bot",
        "library",
        "backend",
        "shortener",
        "script",
        "plugin",
        "extension",
        "program",
        "dashboard",
        "system",
    ),
    "software",
    (
        Step(
            "Write down what the {s} must do",
            "List the {s}'s users, what each needs from it, and what is out of scope.",
            "executor",
            (),
            "Specify",
        ),
        Step(
            "Design the {s}'s data and interfaces",
            "Choose the data the {s} keeps and the interface each user or program calls.",
            "executor",
            (1,),
            "Specify",
        ),
        Step(
            "Implement the core of the {s}",
            "Build the smallest working {s} that does its main job end to end.",
            "coder",
            (2,),
            "Build",
        ),
        Step(
            "Test the {s}",
            "Write tests for the main job, bad input and the limits named in the spec.",
            "reviewer",
            (3,),
            "Check",
        ),
        Step(
            "Document and release the {s}",
            "Write how to install and use the {s}, then release it.",
            "executor",
            (4,),
            "Check",
        ),
    ),
    feature_after=3,
    feature_role="coder",
)
_EVENT = Kind(
    "event",
    (
        "event",
        "party",
        "conference",
        "meetup",
        "wedding",
        "workshop",
        "festival",
        "celebration",
        "dinner",
        "hackathon",
        "offsite",
        "retreat",
    ),
    "event",
    (
        Step(
            "Set the date, budget and guest list for the {s}",
            "Agree when the {s} happens, what it may cost and who is invited.",
            "executor",
            (),
            "Prepare",
        ),
        Step(
            "Book a venue for the {s}",
            "Compare venues that fit the guest list and budget; book one.",
            "executor",
            (1,),
            "Prepare",
        ),
        Step(
            "Plan the programme of the {s}",
            "Write the schedule of the day: arrivals, talks or activities, breaks.",
            "executor",
            (1,),
            "Prepare",
        ),
        Step(
            "Send the invitations for the {s}",
            "Invite the guests with the date, venue and programme; track replies.",
            "communicator",
            (2, 3),
            "Invite",
        ),
        Step(
            "Check everything before the {s}",
            "Confirm the venue, suppliers and replies a week before; list open points.",
            "reviewer",
            (4,),
            "Invite",
        ),
    ),
    feature_after=2,
    feature_role="executor",
)
_RESEARCH = Kind(
    "research",
    (
        "report",
        "research",
        "study",
        "analysis",
        "analyse",
        "analyze",
        "survey",
        "compare",
        "comparison",
        "paper",
        "review of",
        "market",
    ),
    "report",
    (
        Step(
            "Define the questions of the {s}",
            "Write the questions the {s} must answer and how an answer will be judged.",
            "executor",
            (),
            "Frame",
        ),
        Step(
            "Collect sources for the {s}",
            "Find data, articles and people that answer the questions; note each source.",
            "executor",
            (1,),
            "Gather",
        ),
        Step(
            "Analyse what was found for the {s}",
            "Compare the sources, answer each question and say how sure the answer is.",
            "executor",
            (2,),
            "Gather",
        ),
        Step(
            "Write the {s}",
            "Write the findings, with the answer to each question first.",
            "executor",
            (3,),
            "Write",
        ),
        Step(
            "Review the {s}",
            "Check every claim against its source; fix what does not hold.",
            "reviewer",
            (4,),
            "Write",
        ),
    ),
    feature_after=3,
    feature_role="executor",
)
_CAMPAIGN = Kind(
    "campaign",
    (
        "campaign",
        "marketing",
        "launch",
        "newsletter",
        "social media",
        "promote",
        "promotion",
        "advert",
        "announcement",
    ),
    "campaign",
    (
        Step(
            "Define the audience and message of the {s}",
            "Say who the {s} speaks to and the one thing they should remember.",
            "executor",
            (),
            "Message",
        ),
        Step(
            "Write the copy for the {s}",
            "Write the texts for each channel from the message.",
            "communicator",
            (1,),
            "Message",
        ),
        Step(
            "Prepare the visuals for the {s}",
            "Make the images and layouts that go with the copy.",
            "executor",
            (1,),
            "Material",
        ),
        Step(
            "Schedule the {s} on its channels",
            "Plan what goes out where and when; schedule it.",
            "executor",
            (2, 3),
            "Run",
        ),
        Step(
            "Measure the results of the {s}",
            "Track the numbers that say whether the message landed; report them.",
            "reviewer",
            (4,),
            "Run",
        ),
    ),
    feature_after=3,
    feature_role="executor",
)
ANYTHING = Kind(
    "work",
    (),
    "work",
    (
        Step(
            'Clarify what "{s}" must achieve',
            "Write down the expected result, who it is for and how success is judged.",
            "executor",
            (),
            "Prepare",
        ),
        Step(
            'Gather what "{s}" needs',
            "Collect the information, material and people the work depends on.",
            "executor",
            (1,),
            "Prepare",
        ),
        Step(
            'Do the work of "{s}"',
            "Do the main work, following what was clarified and gathered.",
            "executor",
            (2,),
            "Do",
        ),
        Step(
            'Check the result of "{s}"',
            "Compare the result with what was to be achieved; fix the gaps.",
            "reviewer",
            (3,),
            "Do",
        ),
    ),
    feature_after=2,
    feature_role="executor",
)
KINDS = (_WEBSITE, _EVENT, _CAMPAIGN, _RESEARCH, _SOFTWARE)
