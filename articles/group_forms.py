"""The forms of the claim-group pages: parse what was typed, the services decide (see forms.py)."""

from __future__ import annotations

from typing import Any

from django import forms

from .forms import PageForm, VersionedForm, line, passed_on, text
from .services.groups import GROUP_DESCRIPTION_CHARS, GROUP_LABEL_CHARS


class ClaimIds(forms.Field):
    """Claim ids from checkboxes or hidden inputs of the same name (several values); the
    service checks each (services.groups.clean_claim_ids)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[str]:
        if not value:
            return []
        return [str(v) for v in (value if isinstance(value, (list, tuple)) else [value])]


def claim_ids() -> ClaimIds:
    return ClaimIds(required=False)


class GroupCreateForm(PageForm):
    CONFLICT_FIELD = "label"
    label = line(GROUP_LABEL_CHARS, required=True)
    description = text(GROUP_DESCRIPTION_CHARS)
    claims = claim_ids()


class GroupEditForm(VersionedForm):
    CONFLICT_FIELD = "label"
    label = line(GROUP_LABEL_CHARS, required=True)
    description = text(GROUP_DESCRIPTION_CHARS)


class GroupClaimsForm(VersionedForm):
    """Add or remove claims (checkboxes or one suggestion's hidden input)."""

    claims = claim_ids()


class GroupMergeForm(VersionedForm):
    other = passed_on()


class GroupSplitForm(VersionedForm):
    CONFLICT_FIELD = "label"
    claims = claim_ids()
    label = line(GROUP_LABEL_CHARS, required=True)


class ClaimToGroupForm(PageForm):
    """From a claim (its panel, or a suggestion beside it): into an existing group, or a new one
    with this label; `with_claim` joins too (the similar claim the button stood beside)."""

    CONFLICT_FIELD = "label"
    group = passed_on()
    label = line(GROUP_LABEL_CHARS)
    with_claim = passed_on()
    next = passed_on()
