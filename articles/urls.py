"""URLs of the HTML pages; each area's module lists its own patterns."""

from .views import (
    accounts,
    annotate,
    export_page,
    groups,
    guidelines,
    jobs,
    manage,
    merge,
    pages,
    review,
    suggestions,
    tokens,
    versions,
)

urlpatterns = [
    *pages.urlpatterns,
    *annotate.urlpatterns,
    *review.urlpatterns,
    *tokens.urlpatterns,
    *versions.urlpatterns,
    *manage.urlpatterns,
    *accounts.urlpatterns,
    *guidelines.urlpatterns,
    *merge.urlpatterns,
    *groups.urlpatterns,
    *suggestions.urlpatterns,
    *jobs.urlpatterns,
    *export_page.urlpatterns,
]
