"""A list asked without any of its FilterSet's parameters skips the FilterSet (base.py's
FilterSetBackend): that must be exactly what the FilterSet would have done, for every API list."""

import pytest
from django.http import QueryDict

from articles import selectors
from articles.api.urls import urlpatterns
from articles.filters import AccessFilterSet

pytestmark = pytest.mark.django_db


def _filtersets():
    found = set()
    for pattern in urlpatterns:
        view_class = getattr(pattern.callback, "view_class", None)
        filterset_class = getattr(view_class, "filterset_class", None)
        if filterset_class is not None:
            found.add(filterset_class)
    return sorted(found, key=lambda cls: cls.__name__)


def test_every_api_list_filterset_is_checked():
    names = {cls.__name__ for cls in _filtersets()}
    assert {"ArticleFilterSet", "ClaimFilterSet", "AnnotationFilterSet"} <= names


@pytest.mark.parametrize("blind", [False, True])
@pytest.mark.parametrize("role", ["annotator", "curator"])
@pytest.mark.parametrize("filterset_class", _filtersets(), ids=lambda cls: cls.__name__)
def test_no_parameters_means_the_queryset_unchanged(team, filterset_class, role, blind):
    team.corpus.blind = blind
    team.corpus.save()
    _, access = selectors.corpus_with_access(getattr(team, role), team.corpus.slug)
    queryset = filterset_class._meta.model.objects.order_by("pk")
    extra = {"access": access} if issubclass(filterset_class, AccessFilterSet) else {}
    filterset = filterset_class(QueryDict(""), queryset=queryset, **extra)
    assert filterset.is_valid()
    assert str(filterset.qs.query) == str(queryset.query)
