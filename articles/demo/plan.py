"""What the demo team did with the sample articles: claims, tags, evidence, relations, reviews.

Claims and evidence spans are found by their exact quote, so this file never holds an offset; a
quote must occur exactly once in its article. Topics are named by their index in TOPICS.
Two annotators tag most claims and mostly agree; the few disagreements give the review queue
and the agreement page something to show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from articles.services import EvidenceInput, TopicInput


class DemoCorpus(TypedDict):
    """corpus_create's fields for the demo corpus (its topics are TOPICS)."""

    slug: str
    name: str
    description: str
    claim_labels: list[str]


CORPUS: DemoCorpus = {
    "slug": "chip-export-oped",
    "name": "Chip export op-eds",
    "description": (
        "Sample op-eds and news reports written for this demo. Every author, outlet, "
        "organisation, quotation and link in them is fictional; the links point to example.org."
    ),
    "claim_labels": ["MajorClaim", "Claim", "Premise"],
}

TOPICS: list[TopicInput] = [
    {
        "label": "US export controls on AI chips are effective",
        "description": (
            "Do US restrictions on exporting advanced AI chips achieve their aim of slowing "
            "rivals' access to frontier AI compute, at a cost worth paying?"
        ),
    },
    {
        "label": "Open-weight AI models should be regulated like dual-use technology",
        "description": (
            "Should publishing the weights of highly capable AI models need a licence and a "
            "pre-release review, as the export of dual-use goods does?"
        ),
    },
]

EXPORT_CONTROLS, OPEN_WEIGHTS = 0, 1


@dataclass(frozen=True)
class Tag:
    """One annotator's annotation of a claim."""

    stance: str
    confidence: int | None = None
    topic: int = EXPORT_CONTROLS
    note: str = ""
    evidence: tuple[EvidenceInput, ...] = ()


@dataclass(frozen=True)
class DemoClaim:
    exact: str
    by: str
    label: str
    tags: dict[str, Tag]
    summary: str = ""


@dataclass(frozen=True)
class DemoArticle:
    file: str
    claims: list[DemoClaim]
    # (source claim index, target claim index, kind, created by)
    relations: list[tuple[int, int, str, str]] = field(default_factory=list)
    submitted_by: tuple[str, ...] = ()
    # claim index -> (decision, gold topic index or None, gold stance, note)
    reviews: dict[int, tuple[str, int | None, str, str]] = field(default_factory=dict)
    # (claim index, author, text), in order
    comments: list[tuple[int, str, str]] = field(default_factory=list)


def span(exact: str, evidence_type: str, role: str = "supports") -> EvidenceInput:
    return {"kind": "span", "exact": exact, "evidence_type": evidence_type, "role": role}


def source(url: str, title: str, quote: str, evidence_type: str) -> EvidenceInput:
    return {
        "kind": "source",
        "url": url,
        "title": title,
        "quote": quote,
        "evidence_type": evidence_type,
    }


def both(
    stance: str, confidence: int | None = None, topic: int = EXPORT_CONTROLS
) -> dict[str, Tag]:
    """The same plain tag from both annotators."""
    return {
        "anna": Tag(stance, confidence, topic),
        "arjun": Tag(stance, confidence, topic),
    }


ARTICLES = [
    DemoArticle(
        file="1-chip-curbs-speed-bump.md",
        claims=[
            DemoClaim(
                exact=(
                    "Restricting chip exports has not stopped Chinese labs from building "
                    "competitive models"
                ),
                by="anna",
                label="Claim",
                tags={
                    "anna": Tag(
                        "oppose",
                        4,
                        evidence=(
                            span(
                                "its engineers said openly that they had trained it on a cluster "
                                "of older, export-legal accelerators",
                                "example",
                            ),
                        ),
                    ),
                    "arjun": Tag("oppose", 4),
                },
            ),
            DemoClaim(
                exact="The controls also leak at every seam",
                by="arjun",
                label="Claim",
                tags={
                    "anna": Tag(
                        "oppose",
                        4,
                        evidence=(
                            span(
                                "cloud capacity in third countries remains largely outside the "
                                "rules",
                                "example",
                            ),
                        ),
                    ),
                    "arjun": Tag(
                        "oppose",
                        5,
                        evidence=(
                            span(
                                "counted more than forty shell companies in Southeast Asia",
                                "statistic",
                            ),
                        ),
                    ),
                },
            ),
            DemoClaim(
                exact="Chips are small, valuable and easy to ship",
                by="anna",
                label="Premise",
                tags={
                    "anna": Tag("oppose", 3),
                    "arjun": Tag(
                        "neutral",
                        2,
                        note="A plain fact about chips; it takes no side on its own.",
                    ),
                },
            ),
            DemoClaim(
                exact=(
                    "the policy has handed Beijing the one thing it could not manufacture for "
                    "itself: political will"
                ),
                by="arjun",
                label="Claim",
                summary="The controls gave China the will to build its own chip industry.",
                tags={
                    "anna": Tag("oppose", 4),
                    "arjun": Tag(
                        "oppose",
                        4,
                        evidence=(
                            span(
                                "An old slogan, 「自力更生」, self-reliance, has returned to "
                                "ministers' speeches",
                                "anecdote",
                            ),
                        ),
                    ),
                },
            ),
            DemoClaim(
                exact="A head start bought by selling less is a head start that shrinks",
                by="anna",
                label="Premise",
                tags=both("oppose", 3),
            ),
            DemoClaim(
                exact=(
                    "Narrow, well-enforced restrictions on chips bound for weapons programs "
                    "make sense"
                ),
                by="arjun",
                label="Claim",
                tags={
                    "anna": Tag("neutral", 3, note="A concession; not about the broad regime."),
                    "arjun": Tag("support", 3),
                },
            ),
            DemoClaim(
                exact="the broad regime we have today promises something it cannot deliver",
                by="arjun",
                label="Claim",
                tags=both("oppose", 4),
            ),
            DemoClaim(
                exact=(
                    "the chip export controls are a tax on our own industry that buys very "
                    "little time"
                ),
                by="anna",
                label="MajorClaim",
                summary="Export controls cost US industry more than the time they buy.",
                tags=both("oppose", 5),
            ),
        ],
        relations=[
            (0, 7, "supports", "anna"),
            (1, 7, "supports", "arjun"),
            (2, 1, "supports", "anna"),
            (3, 7, "supports", "arjun"),
            (4, 7, "supports", "anna"),
            (5, 7, "attacks", "arjun"),
            (6, 7, "rephrases", "arjun"),
        ],
        submitted_by=("anna", "arjun"),
        reviews={
            7: ("accepted", EXPORT_CONTROLS, "oppose", "The thesis of the piece."),
            0: ("accepted", EXPORT_CONTROLS, "oppose", ""),
            2: (
                "rejected",
                None,
                "",
                "Background, not an argument: better as evidence for 'leak at every seam'.",
            ),
            5: (
                "accepted",
                EXPORT_CONTROLS,
                "neutral",
                "A concession about narrow controls; it says nothing on whether the broad "
                "regime works.",
            ),
        },
        comments=[
            (
                2,
                "carmen",
                "I am rejecting this one as a claim: the author uses it as a premise for "
                '"The controls also leak at every seam". Could it go there as evidence?',
            ),
            (2, "anna", "Agreed, I will attach it as evidence on the leak claim next time."),
        ],
    ),
    DemoArticle(
        file="2-cost-of-saying-no.md",
        claims=[
            DemoClaim(
                exact="neither is evidence that export controls on AI chips are working",
                by="arjun",
                label="MajorClaim",
                tags=both("oppose", 5),
            ),
            DemoClaim(
                exact="Cutting off a market of that size is not a free act of statecraft",
                by="anna",
                label="Claim",
                tags={
                    "anna": Tag(
                        "oppose",
                        4,
                        evidence=(
                            span(
                                "it paid for the engineers, the design software and the test "
                                "chips that produce the next generation of products",
                                "example",
                            ),
                        ),
                    ),
                    "arjun": Tag("oppose", 4),
                },
            ),
            DemoClaim(
                exact=(
                    "Export controls create exactly the customer base a new industry needs: "
                    "large, patient and with nowhere else to go"
                ),
                by="arjun",
                label="Claim",
                tags={
                    "anna": Tag("oppose", 4),
                    "arjun": Tag(
                        "oppose",
                        4,
                        evidence=(
                            span(
                                "Fọláṣadé Adébáyọ̀, a trade economist at the Lagos Centre for "
                                "Technology Policy",
                                "expert",
                            ),
                        ),
                    ),
                },
            ),
            DemoClaim(
                exact="Adébáyọ̀'s comparison is apt",
                by="anna",
                label="Premise",
                tags={
                    "anna": Tag("neutral", 2, note="Judges an analogy, not the controls."),
                    "arjun": Tag("oppose", 3),
                },
            ),
            DemoClaim(exact="The gap is real", by="anna", label="Premise", tags=both("support", 3)),
            DemoClaim(
                exact="a policy should be judged by the trend it produces, not by a snapshot",
                by="arjun",
                label="Claim",
                tags=both("oppose", 4),
            ),
            DemoClaim(
                exact=(
                    "a rule that cannot tell a weapons lab from a video-streaming company will "
                    "always be too broad to enforce and too porous to matter"
                ),
                by="anna",
                label="Claim",
                tags=both("oppose", 5),
            ),
        ],
        relations=[
            (1, 0, "supports", "anna"),
            (2, 0, "supports", "arjun"),
            (3, 2, "supports", "anna"),
            (5, 4, "attacks", "arjun"),
            (6, 0, "supports", "anna"),
        ],
    ),
    DemoArticle(
        file="3-controls-are-working.md",
        claims=[
            DemoClaim(
                exact="the evidence that they bite is everywhere once you look for it",
                by="arjun",
                label="Claim",
                tags=both("support", 4),
            ),
            DemoClaim(
                exact="Nobody jokes about waiting for a resource they have in abundance",
                by="anna",
                label="Premise",
                tags={
                    "anna": Tag(
                        "support",
                        3,
                        evidence=(
                            span("queue for the big cluster is three weeks again 🐢", "anecdote"),
                        ),
                    ),
                    "arjun": Tag("support", 3),
                },
            ),
            DemoClaim(
                exact="Domestic alternatives exist, but they are not yet substitutes",
                by="arjun",
                label="Claim",
                tags={
                    "anna": Tag(
                        "support",
                        4,
                        evidence=(
                            span(
                                "manufacturing them at scale depends on lithography equipment "
                                "that China cannot buy and cannot yet build",
                                "other",
                            ),
                        ),
                    ),
                    "arjun": Tag(
                        "support",
                        4,
                        evidence=(
                            source(
                                "https://example.org/compute-monitor/2025/domestic-accelerators",
                                "Compute Monitor: domestic accelerators compared (fictional)",
                                "The best domestic accelerator delivers well under half the "
                                "performance per watt of the best imported part.",
                                "study",
                            ),
                        ),
                    ),
                },
            ),
            DemoClaim(
                exact=(
                    "leaks measured in thousands of chips do not close a gap measured in "
                    "hundreds of thousands"
                ),
                by="anna",
                label="Premise",
                tags=both("support", 4),
            ),
            DemoClaim(
                exact="the right answer to a leaky sieve is a finer mesh, not throwing it away",
                by="arjun",
                label="Claim",
                tags={
                    "anna": Tag("support", 4),
                    "arjun": Tag(
                        "neutral",
                        2,
                        note="About what to do next, not about whether the controls work.",
                    ),
                },
            ),
            DemoClaim(
                exact=(
                    "Impressive models built on scarce compute are a sign that the controls are "
                    "binding, not that they are useless"
                ),
                by="anna",
                label="Claim",
                tags=both("support", 4),
            ),
            DemoClaim(
                exact="By that standard, they are working",
                by="anna",
                label="MajorClaim",
                summary="Judged by their purpose, the chip controls work.",
                tags=both("support", 5),
            ),
        ],
        relations=[
            (0, 6, "supports", "arjun"),
            (1, 0, "supports", "anna"),
            (2, 6, "supports", "arjun"),
            (3, 4, "supports", "anna"),
            (5, 6, "supports", "anna"),
        ],
        submitted_by=("anna", "arjun"),
        reviews={
            6: ("accepted", EXPORT_CONTROLS, "support", "The thesis of the piece."),
            1: ("accepted", EXPORT_CONTROLS, "support", ""),
            4: (
                "accepted",
                EXPORT_CONTROLS,
                "support",
                "The sieve image argues the controls still do most of their job.",
            ),
        },
        comments=[
            (
                4,
                "carmen",
                "Arjun, the paragraph uses the sieve to say the controls work despite leaks, "
                "so I have set the gold stance to support.",
            ),
        ],
    ),
    DemoArticle(
        file="4-new-rules-praise-and-doubt.md",
        claims=[
            DemoClaim(
                exact=(
                    "the previous rounds of restrictions had measurably slowed Chinese access "
                    "to top-end hardware"
                ),
                by="anna",
                label="Claim",
                tags={
                    "anna": Tag(
                        "support",
                        4,
                        evidence=(span("They are rationing compute, and they say so", "expert"),),
                    ),
                    "arjun": Tag("support", 4),
                },
            ),
            DemoClaim(
                exact=(
                    "push customers toward foreign competitors without meaningfully slowing "
                    "anyone down"
                ),
                by="arjun",
                label="Claim",
                tags=both("oppose", 4),
            ),
            DemoClaim(
                exact=(
                    "enforcement had improved but that shipments of restricted chips through "
                    "regional distributors had not stopped"
                ),
                by="anna",
                label="Claim",
                tags={
                    "anna": Tag("neutral", 3, note="Both halves at once: improved, not stopped."),
                    "arjun": Tag("oppose", 3),
                },
            ),
            DemoClaim(
                exact=(
                    "The question is whether the routes become slower and more expensive, and "
                    "so far they do"
                ),
                by="arjun",
                label="Claim",
                tags=both("support", 3),
            ),
            DemoClaim(
                exact="the country's chip industry would grow stronger under pressure",
                by="anna",
                label="Claim",
                tags=both("oppose", 3),
            ),
            DemoClaim(
                exact="such a rule could chill research",
                by="arjun",
                label="Claim",
                tags=both("oppose", 4, OPEN_WEIGHTS),
            ),
            DemoClaim(
                exact=(
                    "controlling chips makes little sense if the models trained on them can be "
                    "downloaded freely"
                ),
                by="anna",
                label="Claim",
                tags=both("support", 4, OPEN_WEIGHTS),
            ),
        ],
        relations=[
            (1, 0, "attacks", "arjun"),
            (3, 0, "supports", "arjun"),
            (5, 6, "attacks", "anna"),
        ],
        comments=[
            (
                2,
                "arjun",
                "I read 'had not stopped' as the source leaning against the controls. Should a "
                "reported statement carry the stance of the person quoted?",
            ),
            (
                2,
                "carmen",
                "Yes: stance is the quoted source's, not the reporter's. Leaving this one open "
                "until the guidelines say so.",
            ),
        ],
    ),
    DemoArticle(
        file="5-open-weights-dual-use.md",
        claims=[
            DemoClaim(
                exact=(
                    "the most capable ones should be handled the way we already handle other "
                    "dual-use technology"
                ),
                by="anna",
                label="MajorClaim",
                tags=both("support", 5, OPEN_WEIGHTS),
            ),
            DemoClaim(
                exact="Once a model's weights are posted online, they cannot be recalled",
                by="arjun",
                label="Premise",
                tags=both("support", 4, OPEN_WEIGHTS),
            ),
            DemoClaim(
                exact=(
                    "Any safety training built into the model can be removed by fine-tuning it "
                    "on a few hundred examples"
                ),
                by="anna",
                label="Premise",
                tags={
                    "anna": Tag(
                        "support",
                        4,
                        OPEN_WEIGHTS,
                        evidence=(
                            span(
                                "a job that now takes an afternoon on a rented graphics card",
                                "example",
                            ),
                        ),
                    ),
                    "arjun": Tag("support", 4, OPEN_WEIGHTS),
                },
            ),
            DemoClaim(
                exact=(
                    "Open models let academics study systems that companies would otherwise "
                    "keep behind an API"
                ),
                by="arjun",
                label="Premise",
                tags=both("oppose", 4, OPEN_WEIGHTS),
            ),
            DemoClaim(
                exact=(
                    "The overwhelming majority of open models are small, specialised and no "
                    "more dangerous than a search engine"
                ),
                by="anna",
                label="Premise",
                tags={
                    "anna": Tag("oppose", 3, OPEN_WEIGHTS),
                    "arjun": Tag(
                        "neutral",
                        3,
                        OPEN_WEIGHTS,
                        note="It limits the rule to the frontier rather than arguing against it.",
                    ),
                },
            ),
            DemoClaim(
                exact=(
                    "Controlling chips while letting the finished models be downloaded by "
                    "anyone is like locking the front door and leaving the window open"
                ),
                by="arjun",
                label="Claim",
                tags=both("support", 4, OPEN_WEIGHTS),
            ),
            DemoClaim(
                exact=(
                    "Whatever one thinks of the chip controls, they make little sense if their "
                    "product flows freely"
                ),
                by="anna",
                label="Claim",
                tags={
                    "anna": Tag("neutral", 3, note="Conditional: the controls need weights rules."),
                    "arjun": Tag("oppose", 3),
                },
            ),
        ],
        relations=[
            (1, 0, "supports", "arjun"),
            (2, 0, "supports", "anna"),
            (3, 0, "attacks", "arjun"),
            (5, 0, "supports", "arjun"),
            (6, 5, "rephrases", "anna"),
        ],
    ),
]

# username -> (role, first name)
USERS = {
    "olivia": ("owner", "Olivia"),
    "carmen": ("curator", "Carmen"),
    "anna": ("annotator", "Anna"),
    "arjun": ("annotator", "Arjun"),
    "victor": ("viewer", "Victor"),
}


def demo_password(username: str) -> str:
    """The documented password of a demo account: for a local trial only, never production."""
    return f"demo-{username}-pass"
