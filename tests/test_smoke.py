from articles import selectors, services


def test_claim_and_annotation_round_trip(team):
    article = selectors.article_get_for_user(team.annotator, team.article.pk)
    claim = services.claim_create(
        actor=team.annotator, article=article, role=article.my_role,
        exact="Restricting chip exports is shortsighted",
    )
    assert (claim.start, claim.end) == (0, 40)
    ann = services.annotation_create(
        actor=team.annotator, claim=claim, role="annotator", stance="oppose",
        evidence=[{"exact": "The lab trained its model on low-end chips", "evidence_type": "example"}],
    )
    assert ann.topic == team.topic
    ev = ann.evidence.get()
    assert article.text[ev.start : ev.end] == ev.exact
    claims = list(selectors.claims_for_article(team.annotator, article))
    assert claims[0].visible_annotations[0].stance == "oppose"
