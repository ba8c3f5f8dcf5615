"""The shared page-number bar (templates/articles/_pagination.html) that the list pages include."""

from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.test.html import parse_html

TEMPLATE = "articles/_pagination.html"


def _page(number: int, total: int = 120, per_page: int = 50):
    return Paginator(range(total), per_page).get_page(number)


def _links(html: str) -> list[tuple[str, str, dict[str, str]]]:
    """(rel, text, attributes) of each link in the rendered bar."""
    found = []

    def walk(element):
        for child in getattr(element, "children", []):
            if getattr(child, "name", None) == "a":
                attributes = dict(child.attributes)
                found.append((attributes.pop("rel"), "".join(map(str, child.children)), attributes))
            walk(child)

    walk(parse_html(html))
    return found


def test_a_single_page_renders_nothing():
    assert render_to_string(TEMPLATE, {"page": _page(1, total=50), "label": "Pages"}).strip() == ""


def test_middle_page_links_both_ways_keeping_the_filters():
    html = render_to_string(
        TEMPLATE,
        {"page": _page(2), "label": "Pages of the queue", "query": "state=unreviewed&q=a+b"},
    )
    assert '<nav class="pagination" aria-label="Pages of the queue">' in html
    assert "<span>Page 2 of 3</span>" in html
    assert _links(html) == [
        (
            "prev",
            "← Previous",
            {"class": "btn btn-small", "href": "?state=unreviewed&q=a+b&page=1"},
        ),
        ("next", "Next →", {"class": "btn btn-small", "href": "?state=unreviewed&q=a+b&page=3"}),
    ]
    assert "&amp;page=1" in html  # the query's ampersands are escaped in the attribute


def test_first_and_last_pages_have_one_link():
    assert [rel for rel, _, _ in _links(render_to_string(TEMPLATE, {"page": _page(1)}))] == ["next"]
    assert [rel for rel, _, _ in _links(render_to_string(TEMPLATE, {"page": _page(3)}))] == ["prev"]


def test_parameter_anchor_and_texts_are_the_page_s_own():
    html = render_to_string(
        TEMPLATE,
        {
            "page": _page(2),
            "param": "cpage",
            "anchor": "articles",
            "previous": "← Newer",
            "next": "Older →",
        },
    )
    assert _links(html) == [
        ("prev", "← Newer", {"class": "btn btn-small", "href": "?cpage=1#articles"}),
        ("next", "Older →", {"class": "btn btn-small", "href": "?cpage=3#articles"}),
    ]


def test_htmx_target_makes_the_links_swap_that_element():
    html = render_to_string(
        TEMPLATE, {"page": _page(3), "query": "q=chips", "hx_target": "#article-list"}
    )
    assert _links(html) == [
        (
            "prev",
            "← Previous",
            {
                "class": "btn btn-small",
                "href": "?q=chips&page=2",
                "hx-get": "?q=chips&page=2",
                "hx-target": "#article-list",
                "hx-swap": "outerHTML",
                "hx-push-url": "true",
            },
        )
    ]


def test_the_label_is_escaped():
    html = render_to_string(TEMPLATE, {"page": _page(2), "label": '"><script>x</script>'})
    assert "<script>" not in html and "&lt;script&gt;" in html
