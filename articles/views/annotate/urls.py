"""The annotation page's routes: every URL name and path the template, the page's script and
the tests use."""

from django.urls import path

from . import claims, comments, page, relation_map, relations, submit, tags

urlpatterns = [
    path("articles/<int:pk>/", page.article_page, name="article"),
    path("articles/<int:pk>/text", page.article_text, name="article-text"),
    path("articles/<int:pk>/claim-list", page.article_claim_list, name="article-claim-list"),
    path("articles/<int:pk>/claims/new", claims.claim_create, name="claim-create"),
    path(
        "articles/<int:pk>/relation-map",
        relation_map.article_relation_map,
        name="article-relation-map",
    ),
    path("articles/<int:pk>/submit", submit.article_submit, name="article-submit"),
    path("claims/<int:pk>/panel", page.claim_panel, name="claim-panel"),
    path("claims/<int:pk>/edit", claims.claim_edit, name="claim-edit"),
    path("claims/<int:pk>/labels", claims.claim_labels, name="claim-labels"),
    path("claims/<int:pk>/delete", claims.claim_delete, name="claim-delete"),
    path("claims/<int:pk>/annotation", tags.annotation_save, name="annotation-save"),
    path("claims/<int:pk>/evidence", tags.evidence_add, name="evidence-add"),
    path("claims/<int:pk>/relations", relations.relation_create, name="relation-create"),
    path("claims/<int:pk>/relation-targets", page.relation_targets, name="relation-targets"),
    path("claims/<int:pk>/comments", comments.comment_create, name="comment-create"),
    path("annotations/<int:pk>/delete", tags.annotation_delete, name="annotation-delete"),
    path(
        "annotations/<int:pk>/evidence/<int:evidence_id>/delete",
        tags.evidence_delete,
        name="evidence-delete",
    ),
    path("relations/<int:pk>/delete", relations.relation_delete, name="relation-delete"),
]
