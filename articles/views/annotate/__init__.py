"""The annotation page: an article's text with its claims, the claim list and the claim panel.

One template (articles/article.html) with named partials: `article-text`, `claim-list`,
`claim-panel`, `claim-errors`, `relation-matches`. GETs of a partial answer htmx with the
fragment and plain browsers with a redirect to the page; every write is a form POST that htmx
enhances (see writes.py for how a write answers). Writes go through services.

Modules, by concern (imports run down this list, never up):
- urls: the routes;
- page (reads), claims, tags (my tag and its evidence), relations, comments, submit (writes):
  the views, each "parse with a form, call a service, render";
- writes: how a write answers, success or error (one mapping of service errors to responses);
- responses: rendering the page and the panel; context: what they show (`Viewer`);
- forms: parsing every POST with articles.validators' field checks;
- claim_list, segments, search: the claim list, the text cut at claim boundaries, the relation
  form's search; markup: the one helper that writes (and escapes) the HTML built in Python.
"""

from .urls import urlpatterns

__all__ = ["urlpatterns"]
