"""Merging two claims of an article into one (curators and owners)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from articles import selectors, services
from articles.access import Kind
from articles.permissions import Action

from . import serializers as s
from .base import ApiView, named_in_body
from .schema import ERRORS


class ClaimMergeInputSerializer(serializers.Serializer):
    into = serializers.CharField(help_text="The id of the claim that stays (same article).")
    keep = serializers.DictField(
        child=serializers.ChoiceField(choices=["claim", "into"]),
        required=False,
        help_text=(
            "For each annotator who tagged both claims (a 409 lists them): which of their "
            "annotations stays, the one on this claim (`claim`) or on `into`."
        ),
    )


class ClaimMergeView(ApiView):
    """This claim (the URL's) merges into `into`: its annotations with their evidence, its
    relations, comments and review move there, and it goes to the trash. An annotator who tagged
    both makes a conflict: 409 with `conflicts`, until `keep` says which annotation stays."""

    fetcher = staticmethod(selectors.claim_with_access)

    @extend_schema(
        request=ClaimMergeInputSerializer,
        responses={
            200: s.ClaimSerializer,
            **ERRORS,
            409: OpenApiResponse(
                description="An annotator tagged both claims: `conflicts` lists their two "
                "annotations; send `keep` to choose."
            ),
        },
    )
    def post(self, request: Request, id: str) -> Response:
        claim, access = self.fetch(Action.REVIEW)
        data = self.read(ClaimMergeInputSerializer)
        into = named_in_body(
            selectors.claim_with_access,
            request.user,
            data["into"],
            field="into",
            message="No such claim in this article.",
            within=lambda found: found.article_id == claim.article_id,
        )
        merged = services.claim_merge(
            access=access, claim=claim, into=into, keep=data.get("keep") or {}
        )
        visible = access.sees_all_on(merged.article, Kind.REVIEW)
        return Response(s.ClaimSerializer(merged, context={"reviews_visible": visible}).data)
