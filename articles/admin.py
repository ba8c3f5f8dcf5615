"""Django admin: search and filters on every model; the audit log is read-only."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.http import HttpResponseRedirect
from django.urls import reverse

from . import services
from .models import (
    Annotation,
    Article,
    Assignment,
    AuditEvent,
    Claim,
    Comment,
    Corpus,
    Evidence,
    Membership,
    Relation,
    Review,
    Topic,
)


class TopicInline(admin.TabularInline):
    model = Topic
    extra = 0
    fields = ("label", "description", "position")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Corpus)
class CorpusAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "blind", "created_by", "created_at")
    list_filter = ("blind",)
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at", "version")
    inlines = [TopicInline, MembershipInline]


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ("label", "corpus", "position")
    list_filter = ("corpus",)
    search_fields = ("label", "description")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "corpus", "role", "created_at")
    list_filter = ("role", "corpus")
    search_fields = ("user__username", "user__email", "corpus__name")
    autocomplete_fields = ("user",)


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "corpus", "author", "published_on", "language", "deleted_at")
    list_filter = ("corpus", "language", ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("title", "author", "source_url")
    date_hierarchy = "created_at"
    list_select_related = ("corpus",)
    readonly_fields = ("text_sha256", "created_at", "updated_at", "version")


class EvidenceInline(admin.TabularInline):
    model = Evidence
    extra = 0


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    list_display = ("short_exact", "article", "start", "end", "created_by", "deleted_at")
    list_filter = ("article__corpus", ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("exact", "summary", "article__title")
    list_select_related = ("article", "created_by")
    raw_id_fields = ("article",)
    readonly_fields = ("start", "end", "exact", "prefix", "suffix", "created_at", "version")

    @admin.display(description="claim")
    def short_exact(self, obj: Claim) -> str:
        return obj.exact[:80]


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ("claim", "annotator", "topic", "stance", "confidence", "status", "updated_at")
    list_filter = ("stance", "status", "claim__article__corpus")
    search_fields = ("note", "annotator__username", "claim__exact")
    list_select_related = ("claim", "annotator", "topic")
    raw_id_fields = ("claim",)
    readonly_fields = ("version",)
    inlines = [EvidenceInline]


@admin.register(Relation)
class RelationAdmin(admin.ModelAdmin):
    list_display = ("source_claim", "kind", "target_claim", "created_by")
    list_filter = ("kind",)
    raw_id_fields = ("source_claim", "target_claim")


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ("claim", "decision", "topic", "stance", "curator", "updated_at")
    list_filter = ("decision", "stance")
    search_fields = ("note", "claim__exact", "curator__username")
    raw_id_fields = ("claim",)


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("claim", "author", "created_at")
    search_fields = ("text", "author__username")
    raw_id_fields = ("claim",)


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("article", "annotator", "state", "assigned_by", "created_at", "submitted_at")
    list_filter = ("state", "article__corpus")
    search_fields = ("annotator__username", "article__title")
    raw_id_fields = ("article",)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Append-only: nobody adds, edits or deletes audit events, not even superusers."""

    list_display = ("at", "actor", "verb", "object_type", "object_id", "corpus_slug")
    list_filter = ("verb", "object_type", "corpus")
    search_fields = ("verb", "object_id", "actor__username", "corpus_slug")
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# Users are never deleted together with their work: "delete" in the admin deactivates the account,
# so their annotations stay, attributed to an account that can no longer log in.
User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class DeactivatingUserAdmin(UserAdmin):
    actions = ["deactivate_users"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj) -> None:
        services.user_deactivate(actor=request.user, user=obj)

    def delete_queryset(self, request, queryset) -> None:
        for user in queryset:
            services.user_deactivate(actor=request.user, user=user)

    def delete_view(self, request, object_id, extra_context=None):
        user = self.get_object(request, object_id)
        if user is not None and request.method == "POST":
            self.delete_model(request, user)
            self.message_user(request, f"{user.username} was deactivated; their work is kept.")
            return HttpResponseRedirect(reverse("admin:auth_user_changelist"))
        return super().delete_view(request, object_id, extra_context)

    @admin.action(description="Deactivate selected users (their work is kept)")
    def deactivate_users(self, request, queryset) -> None:
        self.delete_queryset(request, queryset)
