"""URLs of the public REST API, mounted at /api/v1/; each area's module lists its own patterns."""

from . import agreement, transfer, views

urlpatterns = [
    *views.urlpatterns,
    *transfer.urlpatterns,
    *agreement.urlpatterns,
]
