"""GET /api/v1/corpora/{slug}/agreement: the agreement figures of a corpus or one article."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import re_path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from ..agreement_data import agreement_corpus, corpus_agreement, scope_article


@extend_schema(
    operation_id="corpus_agreement",
    summary="Agreement figures",
    description=(
        "Inter-annotator agreement on the stance of claims tagged by two or more annotators "
        "(item = claim and topic): Krippendorff's alpha (nominal), Fleiss' kappa, pairwise "
        "Cohen's kappa, percent agreement, each with `n_items`; per article and per annotator; "
        "a symmetric confusion matrix of stance pairs; topic agreement when the corpus has two "
        "or more topics; claim-span agreement (exact and overlap F1, an annotator's spans being "
        "the claims they annotated or created, compared on articles both worked on). A figure "
        "that cannot be computed has `value: null` and a `reason`. Curators, owners and viewers "
        "may read it; annotators only when the corpus is not blind."
    ),
    parameters=[
        OpenApiParameter("article", str, description="Only this article (its id)."),
        OpenApiParameter(
            "status",
            str,
            enum=["all", "submitted"],
            description="`submitted`: only submitted annotations (default: all, drafts too).",
        ),
    ],
    responses={200: OpenApiTypes.OBJECT},
    tags=["agreement"],
)
@api_view(["GET"])
def agreement_view(request: Request, slug: str) -> Response:
    corpus, _access = agreement_corpus(request.user, slug)
    status = request.query_params.get("status", "all") or "all"
    if status not in ("all", "submitted"):
        raise ValidationError({"status": ["status must be all or submitted."]})
    try:
        article = scope_article(corpus, request.query_params.get("article"))
    except Http404:
        raise ValidationError(
            {"article": ["No live article with this id in this corpus."]}
        ) from None
    data = corpus_agreement(corpus, article=article, submitted_only=status == "submitted")
    return Response(data.as_dict())


urlpatterns = [
    re_path(r"^corpora/(?P<slug>[-\w]+)/agreement/?$", agreement_view, name="api-corpus-agreement"),
]
