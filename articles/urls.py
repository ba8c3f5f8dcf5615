"""URLs of the HTML pages."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
