"""Newsroom edits through the API, one after the other on the same op-ed: a corrected figure, an
added paragraph, a withdrawn sentence, paragraphs swapped, typographic quotes, reflowed
whitespace. After every edit, every placed claim and evidence span reads its exact from the
text, and each span ends where a reader would put it (or is honestly orphaned)."""

import re

import pytest

from articles.models import Article, Claim, Evidence
from tests.factories import AnnotationFactory, ArticleFactory, ClaimFactory, EvidenceFactory

pytestmark = pytest.mark.django_db

P1 = (
    "Washington likes to describe its export controls on advanced AI chips as a wall. "
    "Three years into the experiment, a better image is a speed bump."
)
P2 = (
    "Restricting chip exports has not stopped Chinese labs from building competitive models. "
    'One lab said "we trained it on older accelerators" and matched the benchmarks. '
    "Researchers counted more than forty shell companies in Southeast Asia."
)
P3 = (
    "Enforcement rests on a few dozen investigators 🕵️ reading paperwork. "
    "研究者は別の見方をしている。 Smuggling is only the most visible leak."
)
P4 = "The controls buy time, and time is worth buying, but it is not a strategy."
TEXT = "\n\n".join([P1, P2, P3, P4])

SENTENCES = [
    "Washington likes to describe its export controls on advanced AI chips as a wall.",
    "Three years into the experiment, a better image is a speed bump.",
    "Restricting chip exports has not stopped Chinese labs from building competitive models.",
    'One lab said "we trained it on older accelerators" and matched the benchmarks.',
    "Researchers counted more than forty shell companies in Southeast Asia.",
    "Enforcement rests on a few dozen investigators 🕵️ reading paperwork.",
    "研究者は別の見方をしている。",
    "Smuggling is only the most visible leak.",
    "The controls buy time, and time is worth buying, but it is not a strategy.",
]


@pytest.fixture
def oped(team):
    """The op-ed with every sentence a claim, tagged; one claim cites two others as evidence."""
    article = ArticleFactory(corpus=team.corpus, title="Speed bump", text=TEXT)
    claims = {}
    for sentence in SENTENCES:
        start = TEXT.index(sentence)
        claims[sentence] = ClaimFactory(
            article=article, start=start, end=start + len(sentence), created_by=team.annotator
        )
    tag = AnnotationFactory(claim=claims[SENTENCES[2]], annotator=team.annotator)
    for cited in (SENTENCES[4], SENTENCES[5]):
        start = TEXT.index(cited)
        EvidenceFactory(
            annotation=tag, kind="span", url="", title="", start=start,
            end=start + len(cited), exact=cited,
        )  # fmt: skip
    return article, claims


class Desk:
    """An editor at the API: each edit sends the version it read (If-Match)."""

    def __init__(self, client, article):
        self.client, self.article = client, article
        self.version = article.version

    @property
    def text(self) -> str:
        return Article.objects.get(pk=self.article.pk).text

    def edit(self, new_text: str, note: str) -> dict:
        response = self.client.put(
            f"/api/v1/articles/{self.article.pk}/text",
            {"text": new_text, "note": note},
            format="json",
            HTTP_IF_MATCH=f'"{self.version}"',
        )
        assert response.status_code == 200, response.json()
        self.version = response.json()["article_version"]
        assert_spans_hold(self.article)
        return response.json()


def assert_spans_hold(article) -> None:
    text = Article.objects.get(pk=article.pk).text
    for row in [*Claim.objects.filter(article=article), *Evidence.objects.filter(kind="span")]:
        if row.start is None:
            assert row.anchor_status == "orphaned"
        else:
            assert text[row.start : row.end] == row.exact, (row.anchor_status, row.exact)


def status(claim) -> tuple[str, str]:
    claim.refresh_from_db()
    return claim.anchor_status, claim.exact


def test_a_day_of_corrections(team, client_for, oped):
    article, claims = oped
    desk = Desk(client_for(team.curator), article)

    # 1. A figure corrected: that claim changes words (fuzzy); the rest stay put.
    outcome = desk.edit(desk.text.replace("forty", "forty-two"), "Correction: 42 companies")
    assert outcome["claims"] == {"kept": 4, "moved": 4, "fuzzy": 1, "orphaned": 0}
    assert status(claims[SENTENCES[4]]) == (
        "fuzzy",
        "Researchers counted more than forty-two shell companies in Southeast Asia.",
    )
    assert outcome["evidence"]["fuzzy"] == 1  # the cited sentence, too

    # 2. A paragraph added on top: everything moves, nothing else changes.
    lead = "Update, 14 March: the Commerce Department announced new rules this morning."
    outcome = desk.edit(lead + "\n\n" + desk.text, "Added the update")
    assert outcome["claims"]["moved"] == 9 and outcome["claims"]["orphaned"] == 0
    assert status(claims[SENTENCES[0]]) == ("moved", SENTENCES[0])

    # 3. A sentence withdrawn: its claim is orphaned, keeping its words; nothing lands elsewhere.
    withdrawn = SENTENCES[7]
    outcome = desk.edit(desk.text.replace(" " + withdrawn, ""), "Withdrew a sentence")
    assert outcome["claims"]["orphaned"] == 1
    orphan = claims[withdrawn]
    orphan.refresh_from_db()
    assert (orphan.start, orphan.end, orphan.exact) == (None, None, withdrawn)

    # 4. Two paragraphs swapped: their claims move with their words.
    paragraphs = desk.text.split("\n\n")
    paragraphs[2], paragraphs[3] = paragraphs[3], paragraphs[2]
    outcome = desk.edit("\n\n".join(paragraphs), "Reordered")
    assert outcome["claims"]["fuzzy"] == 0
    for sentence in (SENTENCES[2], SENTENCES[3], SENTENCES[4], SENTENCES[5]):
        claim_status, exact = status(claims[sentence])
        assert exact == sentence.replace("forty", "forty-two") and claim_status == "moved"
    # A short quote (14 code points, under UNIQUE_QUOTE_LENGTH) whose paragraph moved keeps
    # only one side of its context: too little to be sure, so it is orphaned, not guessed.
    assert status(claims[SENTENCES[6]]) == ("orphaned", SENTENCES[6])
    assert outcome["claims"]["orphaned"] == 1

    # 5. House style: typographic quotes. The quoting claim keeps its place, its exact now
    # has the curly quotes (words changed: fuzzy); the others are untouched.
    curly = re.sub(r'"([^"]*)"', "\u201c\\1\u201d", desk.text)
    outcome = desk.edit(curly, "House style quotes")
    assert outcome["claims"]["orphaned"] == 0
    assert status(claims[SENTENCES[3]]) == (
        "fuzzy",
        "One lab said \u201cwe trained it on older accelerators\u201d and matched the benchmarks.",
    )
    assert status(claims[SENTENCES[8]]) == ("exact", SENTENCES[8])

    # 6. Whitespace reflowed: hard line breaks inside paragraphs, double spaces.
    reflowed = desk.text.replace(" on advanced AI", "\non advanced\u00a0AI").replace(
        ". Researchers", ".  Researchers"
    )
    outcome = desk.edit(reflowed, "Reflowed")
    assert outcome["claims"]["orphaned"] == 0
    claim_status, exact = status(claims[SENTENCES[0]])
    assert claim_status == "fuzzy" and exact.startswith("Washington") and "\non advanced" in exact

    versions = client_for(team.viewer).get(f"/api/v1/articles/{article.pk}/versions").json()
    assert [v["version"] for v in versions["results"]] == [1, 2, 3, 4, 5, 6, 7]
