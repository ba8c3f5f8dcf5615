"""The annotation page in a real browser: selecting text after emoji, CJK, combining marks and
Arabic gives claims and evidence at the right code-point offsets (checked in the database), the
keyboard tags, relations link claims, and hostile text stays inert."""

import pytest
from playwright.sync_api import expect

from articles import services
from articles.models import Annotation, Claim, Corpus, Evidence, Relation, Role, Stance
from tests.factories import (
    AnnotationFactory,
    ClaimFactory,
    CommentFactory,
    EvidenceFactory,
    ReviewFactory,
)

from .conftest import login

pytestmark = pytest.mark.e2e

CLAIM = "The export ban backfired on its own makers"
EVIDENCE = "the lab trained its model on low-end chips"
SECOND = "Officials now expect sales to move abroad"
TEXT = (
    "👩‍👩‍👧 family notes open this piece, written in a café (e\u0301) about x\u0303 marks.\n\n"
    "研究者は別の見方をしている。 مرحبا بالعالم is how the Cairo office greeted the news.\n\n"
    f"{CLAIM}. Within a month {EVIDENCE}. {SECOND}. Prices rose by 12% in a single "
    "quarter, and the quarter after that they rose again.\n\n"
    "Critics call the policy a gift to domestic rivals, while its defenders say it buys time."
)
XSS = '<img src=x onerror=alert(1)><script>alert(2)</script>"><svg onload=alert(3)>'

# Selects `phrase` (inside one paragraph of the article) with a DOM Range and releases the mouse,
# the way a drag ends: UTF-16 offsets inside the text nodes, as the browser itself counts.
SELECT_JS = """
(phrase) => {
  const root = document.getElementById("article-text");
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  let text = "";
  while (walker.nextNode()) {
    nodes.push([walker.currentNode, text.length]);
    text += walker.currentNode.data;
  }
  const at = text.indexOf(phrase);
  if (at < 0) throw new Error("phrase not on the page: " + phrase);
  const end = at + phrase.length;
  const first = nodes.filter(([n, s]) => s <= at && at < s + n.data.length)[0];
  const last = nodes.filter(([n, s]) => s < end && end <= s + n.data.length)[0];
  const range = document.createRange();
  range.setStart(first[0], at - first[1]);
  range.setEnd(last[0], end - last[1]);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  root.dispatchEvent(new MouseEvent("mouseup", {bubbles: true}));
}
"""

# The screen positions of the first and last character of `phrase`, for a real mouse drag.
PHRASE_BOX_JS = """
(phrase) => {
  const root = document.getElementById("article-text");
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const at = node.data.indexOf(phrase);
    if (at < 0) continue;
    const box = (from, to) => {
      const r = document.createRange();
      r.setStart(node, from);
      r.setEnd(node, to);
      return r.getBoundingClientRect();
    };
    const a = box(at, at + 1), b = box(at + phrase.length - 1, at + phrase.length);
    return {x1: a.left + 1, y1: a.top + a.height / 2, x2: b.right - 1, y2: b.top + b.height / 2};
  }
  throw new Error("phrase not in one text node: " + phrase);
}
"""


def _article(team, title="Export controls, seen from three desks", text=TEXT):
    return services.article_create(
        actor=team.owner, corpus=team.corpus, role=Role.OWNER, title=title, text=text
    )


def _open(page, live_server, article):
    page.goto(f"{live_server.url}/articles/{article.pk}/")
    expect(page.locator("body[data-ready='1']")).to_have_count(1)


def _drag_select(page, phrase):
    box = page.evaluate(PHRASE_BOX_JS, phrase)
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move((box["x1"] + box["x2"]) / 2, (box["y1"] + box["y2"]) / 2, steps=4)
    page.mouse.move(box["x2"], box["y2"], steps=4)
    page.mouse.up()


def _select(page, phrase, button: str):
    """Select `phrase` with a DOM range once no htmx request is in flight, and wait for the
    toolbar's `button`. A refresh of the text that lands between the selection and the toolbar
    (the page re-renders the text after each save) takes the selection with it, as it would for
    a person, who selects again: so does this, a few times."""
    target = page.get_by_role("button", name=button, exact=True)
    for _ in range(4):
        page.wait_for_function("() => !document.querySelector('.htmx-request')")
        page.evaluate(SELECT_JS, phrase)
        try:
            expect(target).to_be_visible(timeout=2500)
            return target
        except AssertionError:
            continue
    expect(target).to_be_visible()
    return target


def _panel_claim(page) -> str:
    return page.locator("#panel-body").get_attribute("data-claim-id")


def test_select_claim_tag_evidence_source_relation_at_exact_offsets(
    page, live_server, team, artifacts, console_errors
):
    article = _article(team)
    text = article.text
    assert "e\u0301" not in text and "x\u0303" in text  # NFC composed é; x̃ stays combining
    login(page, live_server, "anna")
    _open(page, live_server, article)

    # 1. A real mouse drag over the phrase, after the emoji, CJK, combining marks and Arabic.
    _drag_select(page, CLAIM)
    expect(page.locator("#selection-pop")).to_be_visible()
    page.screenshot(path=str(artifacts / "annotate-selection.png"))
    page.get_by_role("button", name="Claim", exact=True).click()
    expect(page.locator("#panel-body .claim-quote")).to_have_text(CLAIM)
    first_id = _panel_claim(page)
    expect(page.locator(f'#claim-list [data-claim="{first_id}"]')).to_be_visible()
    expect(page.locator(f'#article-text [data-c~="{first_id}"]').first).to_be_visible()
    expect(page.locator("#save-status")).to_have_text("Claim marked.")

    # 2. Key 2 tags the open claim "oppose".
    page.locator("#panel-title").focus()
    page.keyboard.press("2")
    expect(page.locator("#stance-oppose")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#save-status")).to_have_text("Tagged oppose.")

    # 3. A span of the article as evidence (selected with a DOM range), typed "example".
    _select(page, EVIDENCE, "Add as evidence").click()
    expect(page.locator("#evidence-exact")).to_have_value(EVIDENCE)
    page.get_by_label("Type").first.select_option("example")
    page.get_by_label("Role").first.select_option("undermines")
    page.get_by_role("button", name="Add evidence").click()
    expect(page.locator(".evidence-list .evidence-quote")).to_have_text(EVIDENCE)

    # 4. An outside source.
    page.locator("#evidence-source > summary").click()
    page.get_by_label("Address (URL)").fill("https://example.org/chip-report")
    page.get_by_label("Title").fill("Chip trade report")
    page.get_by_label("Quoted passage").fill("Exports fell by a third.")
    page.locator("#source-type").select_option("statistic")
    page.get_by_role("button", name="Add source").click()
    expect(page.locator(".evidence-source")).to_contain_text("Chip trade report")

    # 5. A second claim, linked to the first as "supports".
    _select(page, SECOND, "Claim").click()
    expect(page.locator("#panel-body .claim-quote")).to_have_text(SECOND)
    second_id = _panel_claim(page)
    assert second_id != first_id
    page.locator(".add-relation > summary").click()
    page.get_by_label("Relation").select_option("supports")
    page.get_by_label("Other claim", exact=True).fill("backfired")
    page.locator(f'#relation-matches input[value="{first_id}"]').check()
    page.get_by_role("button", name="Add link").click()
    expect(page.locator(".relations")).to_contain_text("This claim supports")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "annotate-panel.png"))

    # 6. After a reload the link shows from the other end too.
    page.reload()
    expect(page.locator("body[data-ready='1']")).to_have_count(1)
    page.locator(f'#claim-list [data-claim="{first_id}"]').click()
    expect(page.locator("#panel-body")).to_have_attribute("data-claim-id", first_id)
    expect(page.locator(".relations")).to_contain_text("supports this claim")
    expect(page.locator("#stance-oppose")).to_have_attribute("aria-pressed", "true")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "annotate-page.png"))

    # Through the database: offsets are code points and select exactly the phrases.
    first = Claim.objects.get(pk=first_id)
    assert (first.start, first.end) == (text.index(CLAIM), text.index(CLAIM) + len(CLAIM))
    assert text[first.start : first.end] == first.exact == CLAIM
    second = Claim.objects.get(pk=second_id)
    assert text[second.start : second.end] == second.exact == SECOND
    annotation = Annotation.objects.get(claim=first, annotator=team.annotator)
    assert (annotation.stance, annotation.topic) == (Stance.OPPOSE, team.topic)
    span, source = Evidence.objects.filter(annotation=annotation).order_by("position")
    assert (span.kind, span.evidence_type, span.role) == ("span", "example", "undermines")
    assert (span.start, span.end) == (text.index(EVIDENCE), text.index(EVIDENCE) + len(EVIDENCE))
    assert text[span.start : span.end] == span.exact == EVIDENCE
    assert (source.kind, source.url, source.title, source.quote, source.evidence_type) == (
        "source",
        "https://example.org/chip-report",
        "Chip trade report",
        "Exports fell by a third.",
        "statistic",
    )
    relation = Relation.objects.get()
    assert (relation.source_claim, relation.target_claim, relation.kind) == (
        second,
        first,
        "supports",
    )
    assert console_errors == []


def test_keyboard_list_filters_overlaps_and_shortcuts(
    page, live_server, team, artifacts, console_errors
):
    article = _article(team)
    text = article.text
    at = text.index(CLAIM)
    outer = ClaimFactory(article=article, start=at, end=text.index(SECOND) + len(SECOND))
    inner = ClaimFactory(article=article, start=at + 4, end=at + 14)  # "export ban"
    later = ClaimFactory(article=article, start=text.index("Critics"), end=len(text))
    AnnotationFactory(claim=outer, annotator=team.annotator, stance=Stance.SUPPORT)
    AnnotationFactory(claim=later, annotator=team.annotator2, stance=Stance.NEUTRAL)
    AnnotationFactory(claim=later, annotator=team.curator, stance=Stance.OPPOSE)
    ReviewFactory(claim=inner, curator=team.curator)
    login(page, live_server, "anna")
    _open(page, live_server, article)

    # Nested claims: the first click opens the innermost, the next one the enclosing claim.
    nested = page.locator(f'#article-text [data-c="{inner.pk} {outer.pk}"]')
    nested.click()
    expect(page.locator("#panel-body")).to_have_attribute("data-claim-id", str(inner.pk))
    nested.click()
    expect(page.locator("#panel-body")).to_have_attribute("data-claim-id", str(outer.pk))
    expect(page.locator(f'#article-text .sel[data-c~="{outer.pk}"]').first).to_be_visible()

    # j / k walk the list in text order; Esc closes.
    page.keyboard.press("j")
    expect(page.locator("#panel-body")).to_have_attribute("data-claim-id", str(inner.pk))
    page.keyboard.press("j")
    expect(page.locator("#panel-body")).to_have_attribute("data-claim-id", str(later.pk))
    page.keyboard.press("k")
    expect(page.locator("#panel-body")).to_have_attribute("data-claim-id", str(inner.pk))
    page.keyboard.press("1")
    expect(page.locator("#stance-support")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Escape")
    expect(page.locator("#panel-body")).to_have_attribute("data-claim-id", "")
    assert "claim=" not in page.url
    # The stance saved by "1" refreshes the list; let that land before choosing a filter.
    page.wait_for_load_state("networkidle")

    # Filters swap only the list.
    page.locator(".claim-filters a", has_text="Disagreements").click()
    expect(page.locator("#claim-list [data-claim]")).to_have_count(1)
    expect(page.locator(f'#claim-list [data-claim="{later.pk}"]')).to_be_visible()
    page.locator(".claim-filters a", has_text="Untagged").click()
    expect(page.locator("#claim-list [data-claim]")).to_have_count(1)

    # A text refresh landing while text is selected (after a save) keeps the selection.
    page.evaluate(SELECT_JS, SECOND)
    expect(page.locator("#selection-pop")).to_be_visible()
    page.evaluate(
        """() => new Promise(done => {
            document.body.addEventListener("htmx:afterSettle", (event) => {
                if (event.detail.target.id === "article-text") done();
            });
            htmx.trigger(document.body, "claims-changed", {});
        })"""
    )
    assert page.evaluate("String(window.getSelection())") == SECOND
    expect(page.locator("#selection-pop")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#selection-pop")).to_be_hidden()

    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    page.screenshot(path=str(artifacts / "annotate-shortcuts.png"))
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()
    assert console_errors == []


def test_hostile_text_stays_inert(page, live_server, team, artifacts, console_errors):
    article = _article(team, title=XSS, text=f"Before {XSS} after. A claim sits here.")
    article.source_url = "javascript:alert(4)"
    article.save()
    start = article.text.index("A claim sits here")
    claim = ClaimFactory(article=article, start=start, end=start + 17, created_by=team.annotator)
    CommentFactory(claim=claim, author=team.annotator2, text=XSS)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, live_server, "anna")
    page.goto(f"{live_server.url}/articles/{article.pk}/?claim={claim.pk}")
    expect(page.locator("body[data-ready='1']")).to_have_count(1)

    # Summary, note and a comment typed through the page (htmx swaps the answers in).
    page.locator("#claim-summary").fill(XSS)
    page.get_by_role("button", name="Save summary").click()
    expect(page.locator("#save-status")).to_have_text("Summary saved.")
    page.locator("#tag-note").fill(XSS)
    page.locator("#stance-neutral").click()
    expect(page.locator("#stance-neutral")).to_have_attribute("aria-pressed", "true")
    page.locator("#comment-text").fill(f"javascript:alert(5) {XSS}")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".comments li")).to_have_count(2)
    page.reload()
    expect(page.locator("body[data-ready='1']")).to_have_count(1)

    expect(page.locator("h1")).to_have_text(XSS)
    expect(page.locator("#article-text")).to_contain_text(XSS)
    expect(page.locator("#claim-summary")).to_have_value(XSS)
    expect(page.locator("#tag-note")).to_have_value(XSS)
    expect(page.locator(".comment-text").first).to_have_text(XSS)
    assert page.locator("#annotate img, #annotate svg[onload], #annotate script").count() == 0
    assert page.locator("img[src='x'], [onerror], [onload]").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    page.screenshot(path=str(artifacts / "annotate-xss.png"))
    assert dialogs == []
    Claim.objects.get(pk=claim.pk)  # still there, summary stored as typed
    assert Claim.objects.get(pk=claim.pk).summary == XSS
    assert not [e for e in console_errors if "Content Security Policy" in e]


def test_viewer_reads_without_write_controls(page, live_server, team, artifacts, console_errors):
    article = _article(team)
    claim = ClaimFactory(article=article, start=0, end=8)
    AnnotationFactory(claim=claim, annotator=team.annotator, stance=Stance.OPPOSE)
    login(page, live_server, "victor")
    page.goto(f"{live_server.url}/articles/{article.pk}/?claim={claim.pk}")
    expect(page.locator("body[data-ready='1']")).to_have_count(1)
    expect(page.get_by_text("Read only (viewer)")).to_be_visible()
    assert page.locator("#claim-form, button[name='stance'], #pop-claim").count() == 0
    expect(page.locator(".others")).to_contain_text("anna")
    page.evaluate(SELECT_JS, CLAIM)
    expect(page.locator("#selection-pop")).to_be_hidden()
    assert console_errors == []


def test_two_tabs_never_overwrite_silently(page, live_server, team, artifacts, console_errors):
    article = _article(team)
    start = article.text.index(CLAIM)
    claim = ClaimFactory(article=article, start=start, end=start + len(CLAIM))
    login(page, live_server, "anna")
    url = f"{live_server.url}/articles/{article.pk}/?claim={claim.pk}"
    page.goto(url)
    page.locator("#stance-support").click()
    expect(page.locator("#stance-support")).to_have_attribute("aria-pressed", "true")
    other_tab = page.context.new_page()
    other_tab.goto(url)
    expect(other_tab.locator("body[data-ready='1']")).to_have_count(1)

    page.locator("#tag-note").fill("Saved from the first tab.")
    page.get_by_role("button", name="Save tag").click()
    expect(page.locator("#save-status")).to_have_text("Tagged support.")

    other_tab.locator("#tag-note").fill("Typed in the second tab.")
    other_tab.locator("#stance-oppose").click()
    conflict = other_tab.locator(".conflict")
    expect(conflict).to_contain_text("Someone changed your tag on this claim meanwhile")
    expect(conflict).to_contain_text("Typed in the second tab.")
    expect(conflict).to_contain_text("Saved from the first tab.")
    expect(other_tab.locator("#save-status")).to_contain_text("Not saved")
    other_tab.screenshot(path=str(artifacts / "annotate-conflict.png"))
    annotation = Annotation.objects.get(claim=claim)
    assert (annotation.stance, annotation.note) == ("support", "Saved from the first tab.")

    other_tab.get_by_role("button", name="Keep mine").click()
    expect(other_tab.locator("#stance-oppose")).to_have_attribute("aria-pressed", "true")
    annotation.refresh_from_db()
    assert (annotation.stance, annotation.note) == ("oppose", "Typed in the second tab.")
    assert console_errors == []


def test_the_page_works_without_javascript(browser, live_server, team, artifacts):
    from .conftest import VIEWPORT

    article = _article(team)
    context = browser.new_context(viewport=VIEWPORT, java_script_enabled=False)
    page = context.new_page()
    try:
        login(page, live_server, "anna")
        page.goto(f"{live_server.url}/articles/{article.pk}/")
        # Mark a claim by quoting it, then tag it: plain form posts and redirects.
        page.locator(".mark-claim > summary").click()
        page.get_by_label("Exact text of the claim").fill(SECOND)
        page.get_by_role("button", name="Mark claim").click()
        expect(page.locator("#panel-body .claim-quote")).to_have_text(SECOND)
        expect(page.locator(".message.success")).to_contain_text("Claim marked.")
        page.locator("#stance-neutral").click()
        expect(page.locator("#stance-neutral")).to_have_attribute("aria-pressed", "true")
        page.get_by_role("link", name="Close").click()
        expect(page.locator("#panel-body")).to_have_attribute("data-claim-id", "")
        page.locator("#claim-list a[data-claim]").first.click()
        expect(page.locator("#panel-body .claim-quote")).to_have_text(SECOND)
        page.screenshot(path=str(artifacts / "annotate-no-javascript.png"))
    finally:
        context.close()
    claim = Claim.objects.get()
    assert article.text[claim.start : claim.end] == claim.exact == SECOND
    assert Annotation.objects.get(claim=claim).stance == Stance.NEUTRAL


# The text of each range painted with the named CSS highlight, in text order.
HIGHLIGHTED_JS = """
(name) => {
  const highlight = CSS.highlights.get(name);
  if (!highlight) return [];
  return [...highlight]
    .sort((a, b) => a.compareBoundaryPoints(Range.START_TO_START, b))
    .map((range) => range.toString());
}
"""


def _passage(annotation, phrase, **fields):
    text = annotation.claim.article.text
    start = text.index(phrase)
    return EvidenceFactory(
        annotation=annotation,
        kind="span",
        start=start,
        end=start + len(phrase),
        exact=phrase,
        url="",
        title="",
        **fields,
    )


def test_evidence_passages_are_highlighted_in_the_text(
    page, live_server, team, artifacts, console_errors
):
    # Emoji (astral, joined), CJK and a combining mark inside the very segment that holds the
    # passages: UTF-16 and code points differ right before them.
    text = (
        f"👩‍👩‍👧 {CLAIM}. Within a month 🚀🚀 研究者 x\u0303 {EVIDENCE} 😀, reports say. "
        f"{SECOND}. 研究者は別の見方をしている。"
    )
    article = _article(team, text=text)
    text = article.text
    at = text.index(CLAIM)
    claim = ClaimFactory(article=article, start=at, end=at + len(CLAIM), created_by=team.annotator)
    mine = AnnotationFactory(claim=claim, annotator=team.annotator, stance=Stance.OPPOSE)
    _passage(mine, EVIDENCE, evidence_type="example")
    theirs = AnnotationFactory(claim=claim, annotator=team.annotator2, stance=Stance.OPPOSE)
    _passage(theirs, "別の見方")
    # A passage crossing the boundary of the second claim.
    second_at = text.index(SECOND)
    ClaimFactory(article=article, start=second_at, end=second_at + len(SECOND))
    _passage(theirs, "reports say. Officials now", position=1)
    assert text.index(EVIDENCE) != len(text[: text.index(EVIDENCE)].encode("utf-16-le")) // 2

    login(page, live_server, "anna")
    _open(page, live_server, article)
    assert page.evaluate(HIGHLIGHTED_JS, "evidence") == []
    page.locator(f'#claim-list [data-claim="{claim.pk}"]').click()
    expect(page.locator(".evidence-item .evidence-jump")).to_have_count(1)
    expect(page.locator(".others .evidence-jump")).to_have_count(2)
    page.wait_for_function("CSS.highlights.has('evidence')")
    assert page.evaluate(HIGHLIGHTED_JS, "evidence") == [
        EVIDENCE,
        "reports say. Officials now",
        "別の見方",
    ]

    # Each passage in the panel leads to its place in the text.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.locator(".evidence-item .evidence-jump").click()
    assert page.evaluate(HIGHLIGHTED_JS, "evidence-active") == [EVIDENCE]
    expect(page.locator(".evidence-item .evidence-jump")).to_have_attribute("aria-current", "true")
    page.locator(".others .evidence-jump", has_text="別の見方").click()
    assert page.evaluate(HIGHLIGHTED_JS, "evidence-active") == ["別の見方"]
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "annotate-evidence.png"))

    # The highlight follows the text when it is refreshed, and leaves with the claim.
    page.evaluate(
        """() => new Promise(done => {
            document.body.addEventListener("htmx:afterSettle", (event) => {
                if (event.detail.target.id === "article-text") done();
            });
            htmx.trigger(document.body, "claims-changed", {});
        })"""
    )
    assert page.evaluate(HIGHLIGHTED_JS, "evidence") == [EVIDENCE, "reports say. Officials now"]
    page.keyboard.press("Escape")
    expect(page.locator("#panel-body")).to_have_attribute("data-claim-id", "")
    assert page.evaluate(HIGHLIGHTED_JS, "evidence") == []
    assert page.evaluate(HIGHLIGHTED_JS, "evidence-active") == []

    # Blind mode: another annotator's passages are not shown before submitting.
    Corpus.objects.filter(pk=team.corpus.pk).update(blind=True)
    page.goto(f"{live_server.url}/articles/{article.pk}/?claim={claim.pk}")
    expect(page.locator("body[data-ready='1']")).to_have_count(1)
    assert page.evaluate(HIGHLIGHTED_JS, "evidence") == [EVIDENCE]
    assert console_errors == []


def test_without_the_highlight_api_the_segments_holding_a_passage_are_marked(
    page, live_server, team, console_errors
):
    article = _article(team)
    at = article.text.index(CLAIM)
    claim = ClaimFactory(article=article, start=at, end=at + len(CLAIM))
    _passage(AnnotationFactory(claim=claim, annotator=team.annotator), EVIDENCE)
    page.add_init_script("delete window.Highlight;")
    login(page, live_server, "anna")
    page.goto(f"{live_server.url}/articles/{article.pk}/?claim={claim.pk}")
    expect(page.locator("body[data-ready='1']")).to_have_count(1)
    marked = page.locator("#article-text .ev")
    expect(marked).to_have_count(1)  # the sentence's segment, after the claim
    assert EVIDENCE in marked.text_content()
    assert CLAIM not in marked.text_content()
    page.locator(".evidence-item .evidence-jump").click()
    expect(page.locator("#article-text .ev.ev-active")).to_have_count(1)
    page.keyboard.press("Escape")
    expect(marked).to_have_count(0)
    assert console_errors == []


def test_a_relation_target_is_found_by_typing_or_picked_in_the_text(
    page, live_server, team, artifacts, console_errors
):
    article = _article(team)
    text = article.text

    def claim_on(phrase):
        at = text.index(phrase)
        return ClaimFactory(article=article, start=at, end=at + len(phrase))

    first = claim_on(CLAIM)
    evidence = claim_on(EVIDENCE)
    second = claim_on(SECOND)
    prices = claim_on("Prices rose by 12% in a single quarter")
    critics = claim_on("Critics call the policy a gift to domestic rivals")
    login(page, live_server, "anna")
    page.goto(f"{live_server.url}/articles/{article.pk}/?claim={first.pk}")
    expect(page.locator("body[data-ready='1']")).to_have_count(1)
    page.locator(".add-relation > summary").click()

    # Typing filters the article's claims by their words, in any case and order.
    search = page.get_by_label("Other claim", exact=True)
    search.press_sequentially("QUARTER pri", delay=20)
    matches = page.locator("#relation-matches input[name=target]")
    expect(matches).to_have_count(1)
    expect(page.locator("#relation-matches mark").first).to_have_text("Pri")
    search.fill("")
    search.press_sequentially("the", delay=20)
    expect(page.locator("#relation-matches .match-count")).to_have_text("2 claims match.")
    search.press_sequentially(" lab", delay=20)
    expect(matches).to_have_count(1)
    expect(page.locator("#relation-matches")).to_contain_text(EVIDENCE)
    search.fill("")
    search.press_sequentially("the", delay=20)
    expect(matches).to_have_count(2)
    page.locator("#relation-add").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "annotate-relation-search.png"))
    search.press_sequentially(" lab", delay=20)
    expect(matches).to_have_count(1)

    # Keyboard: Down moves into the matches, Enter adds the link.
    page.get_by_label("Relation").select_option("attacks")
    search.focus()
    page.keyboard.press("ArrowDown")
    expect(page.locator(f'#relation-matches input[value="{evidence.pk}"]')).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".relations")).to_contain_text("This claim attacks")
    assert Relation.objects.filter(
        source_claim=first, target_claim=evidence, kind="attacks"
    ).exists()

    # Or pick the other claim by clicking it in the text.
    page.locator(".add-relation > summary").click()
    page.get_by_role("button", name="Pick in the text").click()
    expect(page.locator("#annotate.is-picking")).to_have_count(1)
    page.locator(f'#article-text [data-c~="{critics.pk}"]').first.click()
    expect(page.locator("#panel-body")).to_have_attribute("data-claim-id", str(first.pk))
    expect(page.locator(f'#relation-matches input[value="{critics.pk}"]')).to_be_checked()
    expect(page.locator("#annotate.is-picking")).to_have_count(0)
    page.locator("#relation-add").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "annotate-relation-picked.png"))
    page.get_by_label("Direction").select_option("in")
    page.get_by_role("button", name="Add link").click()
    expect(page.locator(".relations")).to_contain_text("supports this claim")
    assert Relation.objects.filter(
        source_claim=critics, target_claim=first, kind="supports"
    ).exists()

    # Enter in the search box with one match adds it; Esc leaves picking mode.
    page.locator(".add-relation > summary").click()
    page.get_by_role("button", name="Pick in the text").click()
    page.keyboard.press("Escape")
    expect(page.locator("#annotate.is-picking")).to_have_count(0)
    search.fill("sales abroad")
    search.press("Enter")
    expect(page.locator(".relations li")).to_have_count(3)
    assert Relation.objects.filter(source_claim=first, target_claim=second).exists()
    assert not Relation.objects.filter(target_claim=prices).exists()
    assert console_errors == []


def test_the_claim_labels_are_set_in_the_panel(page, live_server, team, artifacts, console_errors):
    Corpus.objects.filter(pk=team.corpus.pk).update(
        claim_labels=["causal", "prediction", "value judgement"]
    )
    article = _article(team)
    at = article.text.index(CLAIM)
    claim = ClaimFactory(article=article, start=at, end=at + len(CLAIM), created_by=team.annotator)
    login(page, live_server, "anna")
    page.goto(f"{live_server.url}/articles/{article.pk}/?claim={claim.pk}")
    expect(page.locator("body[data-ready='1']")).to_have_count(1)

    labels = page.locator(".claim-labels-form")
    labels.get_by_label("prediction").check()
    labels.get_by_label("causal").check()
    page.get_by_role("button", name="Save labels").click()
    expect(page.locator("#save-status")).to_have_text("Claim labels saved.")
    expect(page.locator(".claim-labels-form").get_by_label("prediction")).to_be_checked()
    claim.refresh_from_db()
    assert (claim.labels, claim.version) == (["causal", "prediction"], 2)
    page.locator("#claim-labels-title").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "annotate-claim-labels.png"))

    page.locator(".claim-labels-form").get_by_label("causal").uncheck()
    page.get_by_role("button", name="Save labels").click()
    expect(page.locator("#save-status")).to_have_text("Claim labels saved.")
    claim.refresh_from_db()
    assert (claim.labels, claim.version) == (["prediction"], 3)

    # Changed elsewhere meanwhile: the conflict view, nothing overwritten.
    Claim.objects.filter(pk=claim.pk).update(labels=["value judgement"], version=4)
    page.locator(".claim-labels-form").get_by_label("causal").check()
    page.get_by_role("button", name="Save labels").click()
    conflict = page.locator(".conflict")
    expect(conflict).to_contain_text("Someone changed the claim's labels meanwhile")
    expect(conflict).to_contain_text("causal, prediction")
    expect(conflict).to_contain_text("value judgement")
    claim.refresh_from_db()
    assert claim.labels == ["value judgement"]
    page.get_by_role("button", name="Keep mine").click()
    expect(page.locator("#save-status")).to_have_text("Claim labels saved.")
    claim.refresh_from_db()
    assert (claim.labels, claim.version) == (["causal", "prediction"], 5)
    # The browser logs the conflict's 412 answer; nothing else may fail.
    assert [e for e in console_errors if "412 (Precondition Failed)" not in e] == []
