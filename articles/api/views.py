"""(stub: filled in by its area's work)"""

urlpatterns: list = []
