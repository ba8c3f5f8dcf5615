"""An export's parameters, validated before the first byte.

The parameters are parsed by `filters.ExportFilterSet` (the project's one way to filter, which
also says what each filter selects); this turns its result into the `ExportSpec` the writers
take, or raises every problem at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError
from django.utils.datastructures import MultiValueDict

from ..filters import ExportFilterSet
from ..models import Article, Corpus
from .registry import FORMATS
from .spec import ExportSpec


def parse_export_params(corpus: Corpus, params: Mapping[str, Sequence[str]]) -> ExportSpec:
    """Validate every parameter; raise ValidationError {parameter: [messages]} naming each bad one.

    `params` maps a name to its list of values: a QueryDict, or a plain dict of lists (what
    `QueryDict.lists()` gives, or what the management command builds).
    """
    data = (
        params
        if isinstance(params, MultiValueDict)
        else MultiValueDict({name: list(given) for name, given in params.items()})
    )
    filterset = ExportFilterSet(
        data, Article.objects.alive().filter(corpus=corpus), formats=tuple(FORMATS)
    )
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    return ExportSpec(
        corpus=corpus,
        format=FORMATS[filterset.format_name],
        filters=filterset.export_filters,
    )
