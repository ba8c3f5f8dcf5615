"""URLs of the HTML pages; each area's module lists its own patterns."""

from .views import annotate, export_page, pages, review, tokens

urlpatterns = [
    *pages.urlpatterns,
    *annotate.urlpatterns,
    *review.urlpatterns,
    *tokens.urlpatterns,
    *export_page.urlpatterns,
]
