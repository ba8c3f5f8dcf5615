"""Every route of the public REST API, mounted at /api/v1/ (the one URL map of the API).

Paths take no trailing slash; one is accepted, never required, and nothing redirects (a POST
would lose its body). The names are what templates, tests and the schema use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from django.http import HttpResponseBase
from django.urls import URLPattern, re_path
from rest_framework.views import APIView

from .agreement import agreement_view
from .annotations import AnnotationDetailView, AnnotationListView
from .articles import ArticleDetailView, ArticleListView, AssignmentListView, SubmitView
from .claims import ClaimDetailView, ClaimListView
from .corpora import (
    CorpusDetailView,
    CorpusListView,
    MemberDetailView,
    MemberListView,
    TopicDetailView,
    TopicListView,
)
from .groups import ClaimGroupDetailView, ClaimGroupListView, SimilarClaimsView
from .guidelines import GuidelinesView
from .jobs import (
    ExportJobListView,
    JobDetailView,
    JobDownloadView,
    JobListView,
    SuggestJobStartView,
)
from .merge import ClaimMergeView
from .relations import RelationDetailView, RelationListView
from .reviews import CommentListView, ReviewView
from .suggestions import (
    SuggestionAcceptView,
    SuggestionListView,
    SuggestionMetricsView,
    SuggestionRejectView,
    SuggestView,
)
from .tokens import LogoutView, TokenView
from .transfer import CorpusExportView, CorpusImportView
from .versions import ArticleTextView, OrphansView, VersionDetailView, VersionListView

ViewFunction = Callable[..., HttpResponseBase]
SLUG = r"(?P<slug>[-a-zA-Z0-9_]+)"
ID = r"(?P<id>[^/]+)"


def _route(pattern: str, view: type[APIView] | ViewFunction, name: str) -> URLPattern:
    """`pattern` with an optional trailing slash: both forms answer, neither redirects."""
    callback = view.as_view() if isinstance(view, type) and issubclass(view, APIView) else view
    return re_path(rf"^{pattern}/?$", cast(ViewFunction, callback), name=name)


urlpatterns = [
    _route("auth/token", TokenView, "api-token"),
    _route("auth/logout", LogoutView, "api-logout"),
    _route("corpora", CorpusListView, "api-corpora"),
    _route(f"corpora/{SLUG}", CorpusDetailView, "api-corpus"),
    _route(f"corpora/{SLUG}/topics", TopicListView, "api-topics"),
    _route(f"corpora/{SLUG}/members", MemberListView, "api-members"),
    _route(f"corpora/{SLUG}/members/(?P<username>[^/]+)", MemberDetailView, "api-member"),
    _route(f"corpora/{SLUG}/articles", ArticleListView, "api-articles"),
    _route(f"corpora/{SLUG}/guidelines", GuidelinesView, "api-guidelines"),
    _route(f"corpora/{SLUG}/assignments", AssignmentListView, "api-assignments"),
    _route(r"corpora/(?P<slug>[-\w]+)/agreement", agreement_view, "api-corpus-agreement"),
    _route(r"corpora/(?P<slug>[-\w]+)/export", CorpusExportView, "api-corpus-export"),
    _route(r"corpora/(?P<slug>[-\w]+)/import", CorpusImportView, "api-corpus-import"),
    _route(f"corpora/{SLUG}/claim-groups", ClaimGroupListView, "api-claim-groups"),
    _route(r"corpora/(?P<slug>[-\w]+)/exports", ExportJobListView, "api-corpus-exports"),
    _route(r"corpora/(?P<slug>[-\w]+)/jobs", JobListView, "api-corpus-jobs"),
    _route(r"corpora/(?P<slug>[-\w]+)/suggest", SuggestJobStartView, "api-corpus-suggest"),
    _route(f"jobs/{ID}", JobDetailView, "api-job"),
    _route(f"jobs/{ID}/download", JobDownloadView, "api-job-download"),
    _route(f"topics/{ID}", TopicDetailView, "api-topic"),
    _route(f"articles/{ID}", ArticleDetailView, "api-article"),
    _route(f"articles/{ID}/claims", ClaimListView, "api-claims"),
    _route(f"articles/{ID}/relations", RelationListView, "api-relations"),
    _route(f"articles/{ID}/submit", SubmitView, "api-submit"),
    _route(f"articles/{ID}/text", ArticleTextView, "api-article-text"),
    _route(f"articles/{ID}/versions", VersionListView, "api-article-versions"),
    _route(rf"articles/{ID}/versions/(?P<number>[0-9]+)", VersionDetailView, "api-article-version"),
    _route(f"articles/{ID}/orphans", OrphansView, "api-article-orphans"),
    _route(f"claims/{ID}", ClaimDetailView, "api-claim"),
    _route(f"claims/{ID}/annotations", AnnotationListView, "api-annotations"),
    _route(f"claims/{ID}/review", ReviewView, "api-review"),
    _route(f"claims/{ID}/comments", CommentListView, "api-comments"),
    _route(f"claims/{ID}/merge", ClaimMergeView, "api-claim-merge"),
    _route(f"claims/{ID}/similar", SimilarClaimsView, "api-claim-similar"),
    _route(f"claim-groups/{ID}", ClaimGroupDetailView, "api-claim-group"),
    _route(f"annotations/{ID}", AnnotationDetailView, "api-annotation"),
    _route(f"relations/{ID}", RelationDetailView, "api-relation"),
    _route(f"articles/{ID}/suggestions", SuggestionListView, "api-suggestions"),
    _route(f"suggestions/{ID}/accept", SuggestionAcceptView, "api-suggestion-accept"),
    _route(f"suggestions/{ID}/reject", SuggestionRejectView, "api-suggestion-reject"),
    _route(f"articles/{ID}/suggest", SuggestView, "api-suggest"),
    _route(f"corpora/{SLUG}/suggestions/metrics", SuggestionMetricsView, "api-suggestion-metrics"),
]
