"""Every write: validated, atomic, audited.

The field checks themselves live in articles.validators (shared with the importer, forms and
serializers); the services' clean_* functions run them and key their errors by field.

Services receive objects the caller fetched *with permission* (selectors.*_with_access) plus the
caller's role (or its Access), as typed keyword-only arguments (structured inputs are the
TypedDicts exported here; raw values from forms, the API and imports go through the clean_*
functions), check the object-level rules (only an annotation's annotator edits it, ...), and
raise:
- django.core.exceptions.ValidationError with a dict {field: [messages]} for bad data (HTTP 400);
- PermissionDenied for a member without the right (403);
- Conflict for a duplicate (409);
- StaleVersion when the caller's version is not the current one (412);
- PayloadTooLarge for text over the documented limits (413).
Each write records an AuditEvent in the same transaction.

One module per area (base: errors, audit, versions, cleaning; corpora; articles; claims;
annotations; review; accounts). Callers use this package's names (`services.claim_create`), so
where a service lives can change without touching them.
"""

from .accounts import api_token_create, api_token_revoke, user_deactivate
from .annotations import (
    ANNOTATION_FIELDS,
    EVIDENCE_FIELDS,
    MAX_EVIDENCE,
    AnnotationChanges,
    EvidenceFields,
    EvidenceInput,
    annotation_create,
    annotation_delete,
    annotation_update,
    clean_confidence,
    clean_evidence,
)
from .articles import (
    ARTICLE_FIELDS,
    ArticleFields,
    ArticleInput,
    article_create,
    article_delete,
    article_purge,
    article_restore,
    article_submit,
    article_update,
    clean_article_fields,
    clean_article_text,
    text_sha256,
)
from .base import (
    MAX_LABEL_LENGTH,
    MAX_LABELS,
    MAX_NOTE_CHARS,
    SAFE_URL,
    Conflict,
    PayloadTooLarge,
    StaleVersion,
    Version,
    audit,
    check_version,
    clean_bool,
    clean_choice,
    clean_free_text,
    clean_int,
    clean_labels,
    clean_line,
    clean_url,
)
from .claims import (
    CLAIM_FIELDS,
    ClaimChanges,
    DuplicateClaim,
    claim_create,
    claim_delete,
    claim_restore,
    claim_update,
    relation_create,
    relation_delete,
)
from .claims_bulk import MAX_BULK_CLAIMS, BulkClaims, ClaimItem, claims_create_many
from .corpora import (
    CORPUS_FIELDS,
    TOPIC_FIELDS,
    CorpusChanges,
    TopicChanges,
    TopicInput,
    corpus_create,
    corpus_delete,
    corpus_update,
    membership_add,
    membership_remove,
    membership_update,
    topic_create,
    topic_delete,
    topic_update,
)
from .groups import (
    group_add_claims,
    group_create,
    group_delete,
    group_for_import,
    group_merge,
    group_remove_claims,
    group_split,
    group_update,
)
from .guidelines import guidelines_update
from .invitations import (
    invitation_accept,
    invitation_create,
    invitation_key_hash,
    invitation_revoke,
    invitation_sign_up,
    invitation_usable,
)
from .manage import articles_assign, articles_delete
from .merge import MergeConflict, MergeNeedsChoice, claim_merge, merge_conflicts
from .review import (
    REVIEW_FIELDS,
    assignment_create,
    assignment_delete,
    assignments_balance,
    comment_create,
    review_delete,
    review_set,
)
from .review_undo import ReviewState, review_state, review_undo
from .suggestions import (
    suggestion_accept,
    suggestion_reject,
    suggestion_undo,
    suggestions_accept_above,
    suggestions_create,
    suggestions_store_builtin,
    suggestions_undo_batch,
)
from .versions import (
    TextChange,
    annotation_confirm,
    article_text_replace,
    claim_place,
    notice_dismiss,
)

__all__ = [
    # base: errors, audit, versions, cleaning
    "Conflict",
    "PayloadTooLarge",
    "StaleVersion",
    "MAX_LABELS",
    "MAX_LABEL_LENGTH",
    "MAX_NOTE_CHARS",
    "SAFE_URL",
    "Version",
    "audit",
    "check_version",
    "clean_bool",
    "clean_choice",
    "clean_free_text",
    "clean_int",
    "clean_labels",
    "clean_line",
    "clean_url",
    # accounts
    "api_token_create",
    "api_token_revoke",
    "user_deactivate",
    "guidelines_update",
    "invitation_accept",
    "invitation_create",
    "invitation_key_hash",
    "invitation_revoke",
    "invitation_sign_up",
    "invitation_usable",
    # corpora, topics, members
    "CORPUS_FIELDS",
    "TOPIC_FIELDS",
    "CorpusChanges",
    "TopicChanges",
    "TopicInput",
    "corpus_create",
    "corpus_delete",
    "corpus_update",
    "membership_add",
    "membership_remove",
    "membership_update",
    "topic_create",
    "topic_delete",
    "topic_update",
    # articles
    "ARTICLE_FIELDS",
    "ArticleFields",
    "ArticleInput",
    "article_create",
    "article_delete",
    "article_purge",
    "article_restore",
    "article_submit",
    "article_update",
    "articles_assign",
    "articles_delete",
    "clean_article_fields",
    "clean_article_text",
    "text_sha256",
    # claims and relations
    "CLAIM_FIELDS",
    "ClaimChanges",
    "DuplicateClaim",
    "claim_create",
    "claim_delete",
    "claim_restore",
    "claim_update",
    "claim_merge",
    "merge_conflicts",
    "MergeConflict",
    "MergeNeedsChoice",
    "relation_create",
    "relation_delete",
    # annotations and evidence
    "ANNOTATION_FIELDS",
    "EVIDENCE_FIELDS",
    "MAX_EVIDENCE",
    "AnnotationChanges",
    "EvidenceFields",
    "EvidenceInput",
    "annotation_create",
    "annotation_delete",
    "annotation_update",
    "clean_confidence",
    "clean_evidence",
    # claim groups
    "group_add_claims",
    "group_create",
    "group_delete",
    "group_for_import",
    "group_merge",
    "group_remove_claims",
    "group_split",
    "group_update",
    # reviews, comments, assignments
    "REVIEW_FIELDS",
    "assignment_create",
    "assignment_delete",
    "assignments_balance",
    "comment_create",
    "review_delete",
    "review_set",
    # text versions and re-anchoring
    "TextChange",
    "annotation_confirm",
    "article_text_replace",
    "claim_place",
    "notice_dismiss",
    # suggestions (machine pre-annotation)
    "suggestion_accept",
    "suggestion_reject",
    "suggestion_undo",
    "suggestions_accept_above",
    "suggestions_create",
    "suggestions_store_builtin",
    "suggestions_undo_batch",
    "ReviewState",
    "review_state",
    "review_undo",
]
# many claims of an article at once, with the caller's annotations
__all__ += ["MAX_BULK_CLAIMS", "BulkClaims", "ClaimItem", "claims_create_many"]
