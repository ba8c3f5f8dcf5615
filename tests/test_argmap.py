"""Argument maps: valid SVG, one node per claim and one edge per relation, each node a link to
its claim, user text escaped, stances as the reader may see them, layers top-down, and a
readable layout at 300 claims."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from articles import argmap, services
from articles.models import Role
from tests.factories import AnnotationFactory, ArticleFactory, RelationFactory, ReviewFactory

SVG = "{http://www.w3.org/2000/svg}"
EVIL = 'Chips & <script>alert("x")</script> "quoted" \'too\''
TEXT = (
    "Export limits fail. They slow nobody down. Labs train on old chips. "
    "Prices rose last year. The rules are new."
)


def parse(body: bytes) -> ET.Element:
    root = ET.fromstring(body)  # noqa: S314  (our own output; raises unless well-formed)
    assert root.tag == f"{SVG}svg"
    return root


def nodes_of(root: ET.Element) -> list[ET.Element]:
    return root.findall(f".//{SVG}a[@class='node']")


def edges_of(root: ET.Element) -> list[ET.Element]:
    return [p for p in root.iter(f"{SVG}path") if "edge" in (p.get("class") or "").split()]


@pytest.fixture
def mapped(team):
    article = ArticleFactory(corpus=team.corpus, text=TEXT, title=EVIL)

    def mark(sentence, summary=""):
        start = TEXT.index(sentence)
        return services.claim_create(
            actor=team.curator,
            article=article,
            role=Role.CURATOR,
            start=start,
            end=start + len(sentence),
            summary=summary,
        )

    top = mark("Export limits fail.", summary=EVIL)
    premise = mark("They slow nobody down.")
    example = mark("Labs train on old chips.")
    rival = mark("Prices rose last year.")
    alone = mark("The rules are new.")
    relations = [
        RelationFactory(source_claim=premise, target_claim=top, kind="supports"),
        RelationFactory(source_claim=example, target_claim=premise, kind="supports"),
        RelationFactory(source_claim=rival, target_claim=top, kind="attacks"),
        RelationFactory(source_claim=rival, target_claim=example, kind="rephrases"),
    ]
    AnnotationFactory(claim=top, annotator=team.annotator, topic=team.topic, stance="oppose")
    AnnotationFactory(claim=premise, annotator=team.annotator2, topic=team.topic, stance="support")
    ReviewFactory(claim=rival, curator=team.curator, topic=team.topic, stance="neutral")
    claims = {"top": top, "premise": premise, "example": example, "rival": rival, "alone": alone}
    return article, claims, relations


def test_the_article_map_is_valid_svg_with_a_node_per_claim_and_an_edge_per_relation(
    team, client, mapped
):
    article, claims, relations = mapped
    client.force_login(team.curator)
    response = client.get(f"/articles/{article.pk}/map.svg")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    root = parse(response.content)
    nodes = nodes_of(root)
    assert sorted(int(n.get("data-claim")) for n in nodes) == sorted(c.pk for c in claims.values())
    for node in nodes:
        claim_id = int(node.get("data-claim"))
        assert node.get("href") == f"/articles/{article.pk}/?claim={claim_id}#panel"
    edges = edges_of(root)
    assert sorted(int(e.get("data-relation")) for e in edges) == sorted(r.pk for r in relations)
    kinds = {e.get("data-relation"): e for e in edges}
    styles = {
        r.kind: (kinds[str(r.pk)].get("stroke-dasharray"), kinds[str(r.pk)].get("marker-end"))
        for r in relations
    }
    assert len(set(styles.values())) == 3  # each kind its own line style and arrowhead


def test_user_text_is_escaped(team, client, mapped):
    article, claims, _ = mapped
    client.force_login(team.curator)
    body = client.get(f"/articles/{article.pk}/map.svg").content.decode()
    assert "<script" not in body
    assert "&lt;script&gt;" in body and "&amp;" in body and "&quot;quoted&quot;" in body
    root = parse(body.encode())
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "Chips & <script>" in texts  # the reader sees the text as written
    assert root.find(f"{SVG}title").text == f"Argument map of “{EVIL}”"
    page = client.get(f"/articles/{article.pk}/map").content.decode()
    assert "<script>alert" not in page


def test_layers_put_the_claim_argued_for_above_its_premises(team, client, mapped):
    article, claims, _ = mapped
    client.force_login(team.curator)
    root = parse(client.get(f"/articles/{article.pk}/map.svg").content)
    y = {}
    for node in nodes_of(root):
        transform = node.find(f"{SVG}g").get("transform")
        y[int(node.get("data-claim"))] = float(transform.split(",")[1].rstrip(")"))
    assert y[claims["top"].pk] < y[claims["premise"].pk] < y[claims["example"].pk]
    assert y[claims["top"].pk] < y[claims["rival"].pk]
    assert y[claims["alone"].pk] == max(y.values())  # unrelated claims go below the argument


def test_nodes_show_the_stance_the_reader_may_see(team, client, mapped):
    article, claims, _ = mapped
    team.corpus.blind = True
    team.corpus.save()

    def stances(user):
        client.force_login(user)
        root = parse(client.get(f"/articles/{article.pk}/map.svg").content)
        return {
            int(n.get("data-claim")): n.find(f"{SVG}g/{SVG}rect").get("stroke")
            for n in nodes_of(root)
        }

    curator, blind = stances(team.curator), stances(team.annotator)
    colour = {k: v[0] for k, v in argmap.STANCE_STYLE.items()}
    assert curator[claims["top"].pk] == colour["oppose"]  # anna's, the only tag
    assert curator[claims["premise"].pk] == colour["support"]  # arjun's
    assert curator[claims["rival"].pk] == colour["neutral"]  # the gold stance
    assert blind[claims["top"].pk] == colour["oppose"]  # her own tag
    assert blind[claims["premise"].pk] == colour["none"]  # arjun's is hidden from her
    assert blind[claims["rival"].pk] == colour["none"]  # and so is the gold stance
    client.force_login(team.annotator)
    root = parse(client.get(f"/articles/{article.pk}/map.svg").content)
    assert edges_of(root) == []  # relations others drew stay hidden too


def test_the_group_map_shows_its_claims_and_those_they_relate_to(team, client, mapped):
    article, claims, relations = mapped
    group = services.group_create(
        actor=team.curator,
        corpus=team.corpus,
        role=Role.CURATOR,
        label=EVIL,
        claims=[str(claims["top"].pk)],
    )
    client.force_login(team.viewer)
    root = parse(client.get(f"/claim-groups/{group.pk}/map.svg").content)
    ids = {int(n.get("data-claim")) for n in nodes_of(root)}
    assert ids == {claims["top"].pk, claims["premise"].pk, claims["rival"].pk}
    assert {int(e.get("data-relation")) for e in edges_of(root)} == {
        relations[0].pk,
        relations[2].pk,
    }
    page = client.get(f"/claim-groups/{group.pk}/map")
    assert page.status_code == 200 and b'class="argmap"' in page.content


def test_three_hundred_claims_stay_readable():
    nodes = [
        argmap.MapNode(i, f"Claim number {i} " * 3, "support", "majority", f"/c/{i}")
        for i in range(300)
    ]
    edges = [argmap.MapEdge(i, i, i // 3, "supports") for i in range(1, 200)]
    edges += [argmap.MapEdge(1000 + i, i, i - 1, "attacks") for i in range(250, 260)]
    edges.append(argmap.MapEdge(2000, 0, 199, "attacks"))  # a cycle, broken for the layout
    svg = argmap.render(nodes, edges, title="Big")
    root = ET.fromstring(svg.encode())  # noqa: S314  (our own output)
    assert len(nodes_of(root)) == 300 and len(edges_of(root)) == len(edges)
    boxes = []
    for node in nodes:
        boxes.append((node.x, node.y, node.x + argmap.NODE_W, node.y + node.height))
    boxes.sort()
    for k, (x1, y1, x2, y2) in enumerate(boxes):  # no two boxes overlap
        for a1, b1, a2, b2 in boxes[k + 1 : k + 12]:
            assert a1 >= x2 or b1 >= y2 or b2 <= y1 or a2 <= x1
    width = float(root.get("width"))
    assert width <= 2 * argmap.MARGIN + argmap.MAX_PER_ROW * (argmap.NODE_W + argmap.GAP_X)
