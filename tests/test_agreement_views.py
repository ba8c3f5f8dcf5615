"""Agreement figures through the page, the CSV and the API, checked against articles.agreement and
the reference libraries (krippendorff, scikit-learn, statsmodels) on a seeded corpus, plus the
degenerate cases, permissions and query counts."""

import csv
import io
import json
import re
from itertools import combinations

import krippendorff
import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

from articles import agreement
from articles.agreement_data import corpus_agreement
from articles.spreadsheet import neutralise

from .factories import AnnotationFactory, ArticleFactory, AssignmentFactory, ClaimFactory

pytestmark = pytest.mark.django_db

SPANS = [(0, 40), (42, 85), (87, 139), (141, 198)]
CODES = {"support": 0, "oppose": 1, "neutral": 2}
SUP, OPP, NEU = "support", "oppose", "neutral"
# Per article: for each claim (a span of SAMPLE_TEXT), the stance of anna, arjun, carmen
# (None: did not tag it). Items have 3, 2 or 1 annotators, so every figure meets missing data.
SEED = {
    "A": [(SUP, SUP, SUP), (SUP, OPP, SUP), (OPP, OPP, NEU), (NEU, NEU, None)],
    "B": [(OPP, SUP, OPP), (SUP, None, SUP), (None, NEU, None)],
}
CODERS = ("anna", "arjun", "carmen")


def _seed(team):
    """The seeded corpus; returns the (claim id, coder, stance) triples and article ids."""
    users = {"anna": team.annotator, "arjun": team.annotator2, "carmen": team.curator}
    articles = {"A": team.article, "B": ArticleFactory(corpus=team.corpus, title="Second")}
    triples, article_of = [], {}
    for key, rows in SEED.items():
        for span, stances in zip(SPANS, rows, strict=False):
            claim = ClaimFactory(article=articles[key], start=span[0], end=span[1])
            article_of[claim.pk] = articles[key].pk
            for coder, stance in zip(CODERS, stances, strict=True):
                if stance:
                    AnnotationFactory(
                        claim=claim, annotator=users[coder], stance=stance, topic=team.topic
                    )
                    triples.append((claim.pk, coder, stance))
    return triples, article_of, articles


def _api(client, team, **params):
    return client.get(f"/api/v1/corpora/{team.corpus.slug}/agreement", params)


def _page(client, team, **params):
    return client.get(reverse("corpus-agreement", args=[team.corpus.slug]), params)


def _reference_alpha(triples):
    items = sorted({t[0] for t in triples})
    data = np.full((len(CODERS), len(items)), np.nan)
    for item, coder, stance in triples:
        data[CODERS.index(coder), items.index(item)] = CODES[stance]
    return krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")


def _reference_fleiss(triples):
    by_item = {}
    for item, _, stance in triples:
        by_item.setdefault(item, []).append(stance)
    rows = [[stances.count(s) for s in CODES] for stances in by_item.values() if len(stances) == 3]
    return fleiss_kappa(np.array(rows), method="fleiss"), len(rows)


def _reference_cohen(triples, a, b):
    labels = {(item, coder): stance for item, coder, stance in triples}
    shared = sorted({i for i, c, _ in triples if c == a} & {i for i, c, _ in triples if c == b})
    return (
        cohen_kappa_score([labels[(i, a)] for i in shared], [labels[(i, b)] for i in shared]),
        len(shared),
    )


def _reference_percent(triples):
    by_item = {}
    for item, _, stance in triples:
        by_item.setdefault(item, []).append(stance)
    pairs = agree = 0
    for stances in by_item.values():
        for x, y in combinations(stances, 2):
            pairs += 1
            agree += x == y
    return agree / pairs


def test_api_figures_equal_the_reference_libraries(client, team):
    triples, _, _ = _seed(team)
    client.force_login(team.curator)
    response = _api(client, team)
    assert response.status_code == 200
    data = json.loads(response.content, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    stance = data["stance"]
    assert stance["n_items"] == 6 and stance["n_coders"] == 3
    assert stance["krippendorff_alpha"]["value"] == pytest.approx(
        _reference_alpha(triples), abs=1e-4
    )
    assert stance["krippendorff_alpha"]["n_items"] == 6
    fleiss, n_fleiss = _reference_fleiss(triples)
    assert stance["fleiss_kappa"]["value"] == pytest.approx(fleiss, abs=1e-4)
    assert stance["fleiss_kappa"]["n_items"] == n_fleiss == 4
    assert stance["percent_agreement"]["value"] == pytest.approx(
        _reference_percent(triples), abs=1e-4
    )
    pairs = {tuple(p["coders"]): p for p in stance["pairwise_cohen"]}
    for a, b in combinations(CODERS, 2):
        kappa, n = _reference_cohen(triples, a, b)
        assert pairs[(a, b)]["value"] == pytest.approx(kappa, abs=1e-4)
        assert pairs[(a, b)]["n_items"] == n
    # The confusion matrix counts coder pairs: e.g. support/oppose disagreements.
    confusion = stance["confusion"]
    assert confusion["labels"] == ["support", "oppose", "neutral"]
    assert confusion["counts"][0][1] == confusion["counts"][1][0] == 4
    assert confusion["n_pairs"] == 3 + 3 + 3 + 1 + 3 + 1


def test_page_and_api_equal_articles_agreement_per_corpus_article_and_annotator(client, team):
    triples, article_of, articles = _seed(team)
    expected = agreement.report(
        [((item, team.topic.pk), coder, stance) for item, coder, stance in triples],
        group_by=lambda item: article_of[item[0]],
    )
    client.force_login(team.curator)
    page = _page(client, team)
    assert page.status_code == 200
    summary = page.context["summary"]
    assert summary["alpha"]["value"] == expected.krippendorff_alpha.value
    assert summary["fleiss"]["value"] == expected.fleiss_kappa.value
    assert summary["percent"]["value"] == expected.percent_agreement.value
    per_article = {row["id"]: row for row in page.context["per_article"]}
    for key, article in articles.items():
        group = expected.groups[article.pk]
        assert per_article[article.pk]["alpha"] == group.krippendorff_alpha, key
        assert per_article[article.pk]["percent"] == group.percent_agreement, key
    article_a = [t for t in triples if article_of[t[0]] == articles["A"].pk]
    assert per_article[articles["A"].pk]["alpha"].value == pytest.approx(
        _reference_alpha(article_a), abs=1e-9
    )
    people = {row["name"]: row for row in page.context["annotators"]}
    for coder in CODERS:
        assert people[coder]["with_others"]["value"] == expected.per_coder[coder].value
    assert people["anna"]["stances"] == [3, 2, 1]  # support, oppose, neutral
    api = _api(client, team).json()
    assert {r["article"]: r["krippendorff_alpha"]["value"] for r in api["per_article"]} == {
        str(a.pk): agreement._round(expected.groups[a.pk].krippendorff_alpha.value)
        for a in articles.values()
    }
    html = page.content.decode()
    assert "<svg" in html and "Pairwise Cohen" in html
    assert f"{expected.krippendorff_alpha.value:.2f}" in html


def test_one_article_scope(client, team):
    triples, article_of, articles = _seed(team)
    client.force_login(team.curator)
    b = articles["B"].pk
    scoped = [t for t in triples if article_of[t[0]] == b]
    data = _api(client, team, article=str(b)).json()
    assert data["article"] == str(b)
    assert data["stance"]["n_items"] == 2
    assert data["stance"]["krippendorff_alpha"]["value"] == pytest.approx(
        _reference_alpha(scoped), abs=1e-4
    )
    page = _page(client, team, article=b)
    assert page.context["scope_article"].pk == b
    assert page.context["article_chart"] is None
    # Another corpus's article: 400 from the API, a warning and the whole corpus on the page.
    assert _api(client, team, article=str(team.other_article.pk)).status_code == 400
    assert _api(client, team, article="abc").status_code == 400
    fallback = _page(client, team, article=team.other_article.pk)
    assert fallback.status_code == 200 and fallback.context["scope_article"] is None


def test_submitted_only_filter(client, team):
    _seed(team)
    from articles import services

    services.article_submit(actor=team.annotator, article=team.article, role="annotator")
    services.article_submit(actor=team.annotator2, article=team.article, role="annotator")
    client.force_login(team.curator)
    data = _api(client, team, status="submitted").json()
    # Only anna's and arjun's annotations on article A are submitted: 4 shared claims.
    assert data["submitted_only"] is True
    assert data["stance"]["n_items"] == 4 and data["stance"]["n_coders"] == 2
    assert _api(client, team, status="nope").status_code == 400
    assert _page(client, team, status="submitted").context["summary"]["n_items"] == 4


# --- Degenerate cases ----------------------------------------------------------------------


def _assert_no_nan(payload):
    json.dumps(payload, allow_nan=False)  # raises on NaN or infinity


def test_empty_corpus_says_not_enough_data_everywhere(client, team):
    client.force_login(team.curator)
    data = _api(client, team).json()
    _assert_no_nan(data)
    for name in ("krippendorff_alpha", "fleiss_kappa", "percent_agreement"):
        assert data["stance"][name]["value"] is None
        assert data["stance"][name]["reason"].startswith("not enough data")
    assert data["spans"]["micro"]["exact"]["value"] is None
    page = _page(client, team)
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("Not enough data") >= 5
    assert not re.search(r"\bnan\b", html, re.IGNORECASE)


def test_a_single_category_and_a_single_annotator_are_not_enough_data(client, team):
    for span in SPANS[:3]:
        claim = ClaimFactory(article=team.article, start=span[0], end=span[1])
        AnnotationFactory(claim=claim, annotator=team.annotator, stance="support")
        AnnotationFactory(claim=claim, annotator=team.annotator2, stance="support")
    client.force_login(team.curator)
    data = _api(client, team).json()
    _assert_no_nan(data)
    alpha = data["stance"]["krippendorff_alpha"]
    assert alpha == {
        "value": None,
        "n_items": 3,
        "reason": "not enough data: only one category was used",
    }
    assert data["stance"]["percent_agreement"]["value"] == 1.0
    assert data["stance"]["pairwise_cohen"][0]["value"] is None
    # The reference library agrees there is nothing to compute: it refuses.
    reference = np.array([[0, 0, 0], [0, 0, 0]], dtype=float)
    with pytest.raises(ValueError, match="more than one value"):
        krippendorff.alpha(reliability_data=reference, level_of_measurement="nominal")
    page = _page(client, team)
    assert "only one category was used" in page.content.decode()

    lonely = ArticleFactory(corpus=team.corpus)
    claim = ClaimFactory(article=lonely, start=0, end=40)
    AnnotationFactory(claim=claim, annotator=team.annotator, stance="oppose")
    data = _api(client, team, article=str(lonely.pk)).json()
    assert data["stance"]["n_items"] == 0
    assert data["stance"]["krippendorff_alpha"]["reason"] == agreement.NO_PAIRABLE_ITEMS
    assert data["spans"]["micro"]["exact"]["reason"] == agreement.FEWER_THAN_TWO_CODERS
    scoped = _page(client, team, article=lonely.pk)
    assert scoped.context["heatmap"] is None
    assert "pairwise kappa needs two annotators" in scoped.content.decode()


# --- Spans ---------------------------------------------------------------------------------


def test_span_agreement_compares_annotators_on_the_articles_both_worked_on(team):
    a, b = team.annotator, team.annotator2
    shared = ClaimFactory(article=team.article, start=0, end=40, created_by=a)
    AnnotationFactory(claim=shared, annotator=a, stance="support")
    AnnotationFactory(claim=shared, annotator=b, stance="support")
    mine = ClaimFactory(article=team.article, start=42, end=85, created_by=a)
    AnnotationFactory(claim=mine, annotator=a, stance="oppose")
    theirs = ClaimFactory(article=team.article, start=50, end=60, created_by=b)
    AnnotationFactory(claim=theirs, annotator=b, stance="oppose")
    # anna alone on a second article: arjun never saw it, so it does not count against him...
    elsewhere = ArticleFactory(corpus=team.corpus)
    AnnotationFactory(
        claim=ClaimFactory(article=elsewhere, start=0, end=40, created_by=a),
        annotator=a,
        stance="neutral",
    )
    data = corpus_agreement(team.corpus)
    pair = data.spans.pairs[("anna", "arjun")]
    expected = agreement.span_agreement(
        {"anna": [(0, 40), (42, 85)], "arjun": [(0, 40), (50, 60)]}
    )["pairs"][("anna", "arjun")]
    assert pair == expected
    assert pair["exact"].value == pytest.approx(0.5)  # 2*1 / (2+2)
    assert pair["overlap"].value == pytest.approx(1.0)  # (42,85) and (50,60) overlap
    assert data.spans.micro == expected
    # ... unless arjun was assigned it: then anna's claim there is one he did not mark.
    AssignmentFactory(article=elsewhere, annotator=b)
    pair = corpus_agreement(team.corpus).spans.pairs[("anna", "arjun")]
    assert pair["exact"].value == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    assert pair["exact"].n_items == 5


# --- CSV -----------------------------------------------------------------------------------


def test_csv_download_has_every_figure_and_neutralises_formulas(client, team):
    team.article.title = '=HYPERLINK("http://evil.example")'
    team.article.save()
    _seed(team)
    client.force_login(team.curator)
    response = _page(client, team, format="csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["scope", "figure", "subject", "other", "value", "n_items", "reason"]
    by_name = {(r[0], r[1], r[2], r[3]): r for r in rows[1:]}
    expected = corpus_agreement(team.corpus)
    alpha = by_name[("corpus", "krippendorff_alpha", "", "")]
    assert float(alpha[4]) == pytest.approx(expected.stance.krippendorff_alpha.value, abs=1e-4)
    assert alpha[5] == "6"
    kappa = by_name[("corpus", "cohen_kappa", "anna", "arjun")]
    assert float(kappa[4]) == pytest.approx(
        expected.stance.pairwise_cohen[("anna", "arjun")].value, abs=1e-4
    )
    titles = [r[2] for r in rows if r[0] == f"article {team.article.pk}"]
    assert titles and all(t.startswith("'=HYPERLINK") for t in titles)
    # Negative figures stay numbers, not neutralised text.
    assert all(not r[4].startswith("'") for r in rows[1:])
    assert neutralise("-1+2") == "'-1+2" and neutralise(-0.5) == -0.5
    assert neutralise("@SUM(A1)") == "'@SUM(A1)" and neutralise("anna") == "anna"


# --- Permissions ---------------------------------------------------------------------------


def test_who_may_read_the_agreement(client, team):
    page = reverse("corpus-agreement", args=[team.corpus.slug])
    api = f"/api/v1/corpora/{team.corpus.slug}/agreement"
    assert client.get(api).status_code in (401, 403)
    assert client.get(page).status_code == 302
    client.force_login(team.outsider)
    assert (client.get(page).status_code, client.get(api).status_code) == (404, 404)
    assert client.get("/api/v1/corpora/nope/agreement").status_code == 404
    for user in (team.viewer, team.curator, team.owner, team.annotator):
        client.force_login(user)
        assert (client.get(page).status_code, client.get(api).status_code) == (200, 200)
    team.corpus.blind = True
    team.corpus.save()
    client.force_login(team.annotator)
    assert (client.get(page).status_code, client.get(api).status_code) == (403, 403)
    client.force_login(team.viewer)
    assert client.get(api).status_code == 200
    # The API answers with or without a trailing slash, JSON errors included.
    client.force_login(team.outsider)
    response = client.get(api + "/")
    assert response.status_code == 404 and "detail" in response.json()


# --- Query counts --------------------------------------------------------------------------


def _grow(team, n):
    users = [team.annotator, team.annotator2, team.curator]
    for i in range(n):
        article = ArticleFactory(corpus=team.corpus)
        for span in SPANS:
            claim = ClaimFactory(article=article, start=span[0], end=span[1])
            for k, user in enumerate(users):
                AnnotationFactory(
                    claim=claim, annotator=user, stance=list(CODES)[(i + k + span[0]) % 3]
                )
        AssignmentFactory(article=article, annotator=team.annotator)


@pytest.mark.parametrize("which", ["page", "api"])
def test_agreement_query_count_does_not_grow(client, team, which, django_assert_num_queries):
    client.force_login(team.curator)
    fetch = _page if which == "page" else _api
    _grow(team, 1)
    fetch(client, team)
    with CaptureQueriesContext(connection) as small:
        assert fetch(client, team).status_code == 200
    _grow(team, 12)
    with django_assert_num_queries(len(small)):
        response = fetch(client, team)
    assert response.status_code == 200


def test_corpus_agreement_reads_in_five_queries(team, django_assert_num_queries):
    _seed(team)
    with django_assert_num_queries(5):
        corpus_agreement(team.corpus)
