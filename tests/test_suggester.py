"""The built-in suggester: sentences with code-point offsets, offline, idempotent per version,
trained on the corpus's accepted claims once there are enough (not on the article's own), and
the models' metrics: counts by state, precision and recall of spans and stances."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from articles import selectors, services, suggester
from articles.models import Article, Claim, Review, Suggestion, SuggestionDecision
from articles.services import text_sha256
from articles.suggester import logistic
from articles.suggester.metrics import MIN_JACCARD, jaccard
from articles.suggester.sentences import sentences
from tests.factories import AnnotationFactory, ClaimFactory, ReviewFactory, TopicFactory

EMOJI_TEXT = (
    "👩‍👩‍👧 Families wrote in. Dr. Smith said the U.S. rules fail at 3.5 percent.  "
    "研究者は別の見方をしている。\n\n"
    '"Is it wise?" he asked. Export controls are a strategic mistake and must end.'
)


def test_sentences_have_code_point_offsets_after_emoji_and_cjk():
    spans = sentences(EMOJI_TEXT)
    pieces = [EMOJI_TEXT[start:end] for start, end in spans]
    assert pieces == [
        "👩‍👩‍👧 Families wrote in.",
        "Dr. Smith said the U.S. rules fail at 3.5 percent.",
        "研究者は別の見方をしている。",
        '"Is it wise?" he asked.',
        "Export controls are a strategic mistake and must end.",
    ]
    # Code points, not UTF-16 units: the family emoji is 5 code points, 8 units.
    assert spans[1][0] == EMOJI_TEXT.index("Dr. Smith")
    assert all(not p[0].isspace() and not p[-1].isspace() for p in pieces)


NO_NETWORK = textwrap.dedent(
    """
    import socket

    def refuse(*args, **kwargs):
        raise SystemExit("network reached: %r" % (args,))

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    import django
    django.setup()
    from articles import suggester
    from articles.models import Article
    text = "The rules were announced on Monday. This ban is a reckless mistake and must end."
    found = suggester.suggest(Article(text=text, language="en"), suggester.Training())
    assert [f.span.exact for f in found] == ["This ban is a reckless mistake and must end."], found
    print("ok", suggester.MODEL)
    """
)


def test_the_suggester_loads_and_runs_with_the_network_refused():
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "annotator.settings",
        "DJANGO_DEBUG": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", NO_NETWORK],
        capture_output=True,
        text=True,
        timeout=180,
        env=environment,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok builtin@")


def test_logistic_regression_learns_and_cross_validates():
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, (40, 8)) + 2
    b = rng.normal(0, 1, (40, 8)) - 2
    x = np.vstack([a, b])
    labels = ["a"] * 40 + ["b"] * 40
    model = logistic.fit(x, labels)
    assert model.predict(np.array([[2.0] * 8, [-2.0] * 8])) == ["a", "b"]
    assert logistic.cross_validated_accuracy(x, labels) > 0.95
    shuffled = list(rng.permutation(labels))
    assert logistic.cross_validated_accuracy(x, shuffled) < 0.8  # it can fail


def test_jaccard():
    assert jaccard((0, 10), (0, 10)) == 1.0
    assert jaccard((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert jaccard((0, 4), (4, 8)) == 0.0
    assert MIN_JACCARD == 0.5


# --- Through the API ---------------------------------------------------------------------------

OPED = (
    "The agency published its figures on Monday. "
    "This export ban is a reckless mistake and lawmakers must repeal it. "
    "The report runs to forty pages.\n\n"
    "Critics are right that the rules punish domestic firms for nothing."
)


@pytest.fixture
def oped(team):
    return Article.objects.create(
        corpus=team.corpus, title="Op-ed", text=OPED, text_sha256=text_sha256(OPED)
    )


@pytest.mark.django_db
def test_suggest_is_for_curators_and_owners_and_idempotent(team, oped):
    from rest_framework.test import APIClient

    client = APIClient()
    url = f"/api/v1/articles/{oped.pk}/suggest"
    for user, status in [(team.annotator, 403), (team.viewer, 403), (team.outsider, 404)]:
        client.force_authenticate(user)
        assert client.post(url).status_code == status
    client.force_authenticate(team.curator)
    first = client.post(url)
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body and {s["model"] for s in body} == {suggester.MODEL}
    exact = [s["exact"] for s in body]
    assert "This export ban is a reckless mistake and lawmakers must repeal it." in exact
    assert all(OPED[s["start"] : s["end"]] == s["exact"] for s in body)
    assert all(s["stance"] is None for s in body)  # no accepted claims yet: no stance
    again = client.post(url)
    assert again.status_code == 200
    assert [s["id"] for s in again.json()] == [s["id"] for s in body]
    assert Suggestion.objects.filter(article=oped).count() == len(body)


STANCE_CLAIMS = {
    "support": [
        "The controls are working and should stay",
        "Export limits have clearly slowed rival labs",
        "These restrictions protect national security well",
        "The policy succeeds in keeping advanced chips away",
        "Keeping the ban is the right call",
        "The rules buy valuable time for allies",
        "Curbs on chip sales are effective and worth it",
        "The measures have delayed competitors by years",
        "Tight controls are paying off",
        "This is a wise and successful policy",
        "The export rules achieve their goal",
        "Restrictions work and must be kept",
        "The ban is doing what it promised",
        "Controls are an effective brake on rivals",
        "The strategy of limiting exports is sound",
        "The curbs are a success",
    ],
    "oppose": [
        "The controls are failing and should end",
        "Export limits have not slowed rival labs at all",
        "These restrictions hurt domestic firms badly",
        "The policy backfires and helps competitors",
        "Keeping the ban is a costly error",
        "The rules push buyers toward foreign suppliers",
        "Curbs on chip sales are useless and harmful",
        "The measures accelerate rival industries",
        "Tight controls are a gift to competitors",
        "This is a foolish and failing policy",
        "The export rules miss their goal entirely",
        "Restrictions fail and must be dropped",
        "The ban does the opposite of what it promised",
        "Controls are a leaky and pointless wall",
        "The strategy of limiting exports is misguided",
        "The curbs are a failure",
    ],
}


@pytest.mark.django_db
def test_stance_once_enough_accepted_claims_and_its_accuracy_in_the_metrics(team, oped):
    from rest_framework.test import APIClient

    text = ". ".join(c for claims in STANCE_CLAIMS.values() for c in claims) + "."
    training_article = Article.objects.create(
        corpus=team.corpus, title="Training", text=text, text_sha256=text_sha256(text)
    )
    for stance, claims in STANCE_CLAIMS.items():
        for exact in claims:
            start = text.index(exact)
            claim = ClaimFactory(article=training_article, start=start, end=start + len(exact))
            ReviewFactory(claim=claim, curator=team.curator, topic=team.topic, stance=stance)
    assert Review.objects.count() == 32 >= suggester.MIN_STANCE_EXAMPLES
    training = suggester.train(team.corpus, exclude_article_id=oped.pk)
    assert training.span_scorer == "trained"
    assert [s.topic for s in training.stance] == [team.topic]
    found = suggester.suggest(oped, training)
    assert found and all(f.stance in ("support", "oppose") for f in found)
    assert all(f.topic == team.topic.pk for f in found)
    # Reviews of the article itself never train what is suggested on it.
    only_here = suggester.train(team.corpus, exclude_article_id=training_article.pk)
    assert only_here.span_examples == 0 and not only_here.stance

    client = APIClient()
    client.force_authenticate(team.curator)
    metrics = client.get(f"/api/v1/corpora/{team.corpus.slug}/suggestions/metrics").json()
    stance = metrics["builtin"]["stance"]
    assert stance[0]["examples"] == 32 and stance[0]["folds"] == 5
    assert 0.5 < stance[0]["cv_accuracy"] <= 1.0
    assert metrics["builtin"]["span_scorer"] == "trained"
    client.force_authenticate(team.annotator)
    denied = client.get(f"/api/v1/corpora/{team.corpus.slug}/suggestions/metrics")
    assert denied.status_code == 403


@pytest.mark.django_db
def test_metrics_count_states_and_compare_with_accepted_claims(team):
    """Gold: three accepted claims (one rejected claim is not gold). Model m@1 suggests two of
    them exactly (one with the right stance, one wrong), one overlapping by half (matched), and
    one elsewhere: precision 3/4, recall 3/3; stance 1 right of 2 compared."""
    text = team.article.text
    words = ["Restricting chip exports", "The lab trained its model", "Officials say the rules"]
    gold = []
    for phrase, stance in zip(words, ["oppose", "support", "neutral"], strict=True):
        start = text.index(phrase)
        claim = ClaimFactory(article=team.article, start=start, end=start + len(phrase))
        ReviewFactory(claim=claim, curator=team.curator, topic=team.topic, stance=stance)
        gold.append(claim)
    rejected = ClaimFactory(
        article=team.article, start=text.index("Critics"), end=text.index("Critics") + 7
    )
    ReviewFactory(claim=rejected, curator=team.curator, decision="rejected", topic=None, stance="")
    g0, g1, g2 = gold
    half = g2.start + (g2.end - g2.start) // 4  # overlaps three quarters of the third claim
    _, curator = selectors.corpus_with_access(team.curator, team.corpus.slug)
    made = services.suggestions_create(
        access=curator,
        article=team.article,
        model="m@1",
        suggestions=[
            {"start": g0.start, "end": g0.end, "stance": "oppose"},
            {"start": g1.start, "end": g1.end, "stance": "oppose"},
            {"start": half, "end": g2.end},
            {"start": rejected.start, "end": rejected.end, "stance": "support"},
        ],
    )
    SuggestionDecision.objects.create(
        suggestion=made[0], decided_by=team.annotator, state="accepted"
    )
    SuggestionDecision.objects.create(
        suggestion=made[1], decided_by=team.annotator, state="rejected"
    )
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(team.owner)
    body = client.get(f"/api/v1/corpora/{team.corpus.slug}/suggestions/metrics").json()
    (model,) = body["models"]
    assert model["model"] == "m@1" and model["articles"] == 1
    assert model["states"] == {"open": 2, "accepted": 1, "rejected": 1}
    spans = model["spans"]
    assert (spans["suggestions"], spans["gold"]) == (4, 3)
    assert spans["precision"] == 0.75 and spans["recall"] == 1.0
    assert spans["exact_precision"] == 0.5 and spans["exact_recall"] == pytest.approx(0.6667)
    assert model["stances"] == {"compared": 2, "correct": 1, "precision": 0.5, "recall": 0.3333}
    assert Claim.objects.count() == 4  # suggestions made no claims


@pytest.mark.django_db
def test_agreement_ignores_suggestions(team, client):
    from rest_framework.test import APIClient

    other = TopicFactory(corpus=team.corpus, label="Another")
    claim = ClaimFactory(article=team.article, start=0, end=11)
    for annotator in (team.annotator, team.annotator2):
        AnnotationFactory(claim=claim, annotator=annotator, topic=team.topic, stance="oppose")
    api = APIClient()
    api.force_authenticate(team.owner)
    before = api.get(f"/api/v1/corpora/{team.corpus.slug}/agreement").json()
    assert before["stance"]["n_items"] == 1
    _, curator = selectors.corpus_with_access(team.curator, team.corpus.slug)
    services.suggestions_create(
        access=curator,
        article=team.article,
        model="m@1",
        suggestions=[{"start": 0, "end": 11, "stance": "support", "topic": str(other.pk)}],
    )
    assert api.get(f"/api/v1/corpora/{team.corpus.slug}/agreement").json() == before
