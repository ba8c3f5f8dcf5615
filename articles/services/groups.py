"""Claim groups: claims of different articles of one corpus that say the same thing.

Curators and owners write them (Action.REVIEW); a claim is in at most one group (a unique key
on the membership row), and only live claims of the group's own corpus may join. Every change
is atomic, bumps the group's version and records an audit event with the label, description
and claim ids before and after. Nothing here groups claims by itself: similar claims are
offered (articles.similarity), people decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from .. import validators
from ..models import Claim, ClaimGroup, ClaimGroupMember, Corpus
from ..permissions import Action, ensure
from .base import (
    Conflict,
    User,
    Version,
    _lock,
    audit,
    check_version,
    clean_free_text,
    clean_line,
)

GROUP_LABEL_CHARS = 300
GROUP_DESCRIPTION_CHARS = 5000
MAX_GROUP_CLAIMS = 5000  # one request's list; a group may grow beyond it over several
LABEL_TAKEN = "A claim group with this label exists already in the corpus; choose another label."


def clean_group_label(value: object) -> str:
    return clean_line(value, "label", max_chars=GROUP_LABEL_CHARS, required=True).strip()


def clean_group_description(value: object) -> str:
    return clean_free_text(value, "description", max_chars=GROUP_DESCRIPTION_CHARS).strip()


def clean_claim_ids(value: object, field: str = "claims") -> list[int]:
    """A list of claim ids (opaque strings or numbers), without repeats, in the given order."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError({field: [f"{field} must be a list of claim ids."]})
    ids: list[int] = []
    for item in value:
        try:
            number = int(str(item), 10)
        except (TypeError, ValueError):
            raise ValidationError({field: [f"{str(item)[:40]!r} is not a claim id."]}) from None
        if number <= 0 or number > 2**63 - 1:
            raise ValidationError({field: [f"{number} is not a claim id."]})
        if number not in ids:
            ids.append(number)
    if len(ids) > MAX_GROUP_CLAIMS:
        raise ValidationError({field: [f"At most {MAX_GROUP_CLAIMS} claims at a time."]})
    return ids


def _claims_of_corpus(corpus: Corpus, ids: Sequence[int], field: str = "claims") -> list[Claim]:
    """The live claims `ids` of the corpus, locked; 400 naming those that are not (an id of
    another corpus is answered exactly as one that does not exist)."""
    found = {
        c.pk: c
        for c in Claim.objects.select_for_update()
        .filter(
            pk__in=list(ids),
            article__corpus=corpus,
            deleted_at__isnull=True,
            article__deleted_at__isnull=True,
        )
        .order_by("pk")
    }
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        raise ValidationError(
            {field: [f"No claim {', '.join(missing[:10])} in this corpus (or it is in the trash)."]}
        )
    return [found[pk] for pk in ids]


def _member_ids(group: ClaimGroup) -> list[int]:
    return sorted(
        ClaimGroupMember.objects.filter(group=group).values_list("claim_id", flat=True).order_by()
    )


def _snapshot(group: ClaimGroup) -> dict[str, object]:
    return {
        "label": group.label,
        "description": group.description,
        "claims": [str(pk) for pk in _member_ids(group)],
    }


def _join(group: ClaimGroup, claims: Sequence[Claim], actor: User) -> None:
    """Put `claims` in `group`; one already in another group is refused (400 naming it)."""
    if not claims:
        return
    elsewhere = list(
        ClaimGroupMember.objects.filter(claim__in=claims)
        .exclude(group=group)
        .select_related("group")
        .order_by("claim_id")[:10]
    )
    if elsewhere:
        names = "; ".join(f"claim {m.claim_id} is in “{m.group.label}”" for m in elsewhere)
        raise ValidationError(
            {
                "claims": [
                    f"A claim is in at most one group: {names}. Remove it from that group "
                    "first, or merge the two groups."
                ]
            }
        )
    present = set(
        ClaimGroupMember.objects.filter(group=group, claim__in=claims).values_list(
            "claim_id", flat=True
        )
    )
    try:
        with transaction.atomic():
            ClaimGroupMember.objects.bulk_create(
                ClaimGroupMember(group=group, claim=c, added_by=actor)
                for c in claims
                if c.pk not in present
            )
    except IntegrityError as error:  # another request put one of them in a group meanwhile
        raise Conflict("One of these claims was put in a group meanwhile; reload.") from error


@contextmanager
def _changing(group: ClaimGroup, version: Version, actor: User, verb: str) -> Iterator[ClaimGroup]:
    """One change of a group, all or nothing: the row locked and its version checked, then the
    body changes the yielded group; its version is bumped, it is saved and the change audited
    with the group as it was and as it is."""
    with transaction.atomic():
        current = _lock(ClaimGroup, group.pk)
        check_version(current, version)
        before = _snapshot(current)
        yield current
        _save(current)
        audit(
            actor=actor,
            verb=verb,
            obj=current,
            corpus=current.corpus,
            before=before,
            after=_snapshot(current),
        )


def _save(group: ClaimGroup) -> None:
    group.version += 1
    try:
        with transaction.atomic():
            group.save()
    except IntegrityError as error:
        raise Conflict(LABEL_TAKEN) from error


def group_create(
    *,
    actor: User,
    corpus: Corpus,
    role: str | None,
    label: object,
    description: object = "",
    claims: object = None,
) -> ClaimGroup:
    ensure(role, Action.REVIEW)
    clean_label = clean_group_label(label)
    clean_description = clean_group_description(description)
    ids = clean_claim_ids(claims)
    with transaction.atomic():
        members = _claims_of_corpus(corpus, ids)
        try:
            with transaction.atomic():
                group = ClaimGroup.objects.create(
                    corpus=corpus,
                    label=clean_label,
                    description=clean_description,
                    created_by=actor,
                )
        except IntegrityError as error:
            raise Conflict(LABEL_TAKEN) from error
        _join(group, members, actor)
        audit(
            actor=actor, verb="claim_group.create", obj=group, corpus=corpus, after=_snapshot(group)
        )
    return group


def group_update(
    *,
    actor: User,
    group: ClaimGroup,
    role: str | None,
    version: Version = None,
    label: object = None,
    description: object = None,
    claims: object = None,
) -> ClaimGroup:
    """Changes the label, the description and/or the whole list of claims (None: unchanged)."""
    ensure(role, Action.REVIEW)
    with _changing(group, version, actor, "claim_group.update") as current:
        if label is not None:
            current.label = clean_group_label(label)
        if description is not None:
            current.description = clean_group_description(description)
        if claims is not None:
            members = _claims_of_corpus(current.corpus, clean_claim_ids(claims))
            # Claims in the trash keep their place (the lists show live claims only).
            ClaimGroupMember.objects.filter(
                group=current,
                claim__deleted_at__isnull=True,
                claim__article__deleted_at__isnull=True,
            ).exclude(claim__in=members).delete()
            _join(current, members, actor)
    return current


def group_add_claims(
    *, actor: User, group: ClaimGroup, role: str | None, claims: object, version: Version = None
) -> ClaimGroup:
    ensure(role, Action.REVIEW)
    ids = clean_claim_ids(claims)
    if not ids:
        raise ValidationError({"claims": ["Name at least one claim to add."]})
    with _changing(group, version, actor, "claim_group.add_claims") as current:
        _join(current, _claims_of_corpus(current.corpus, ids), actor)
    return current


def group_remove_claims(
    *, actor: User, group: ClaimGroup, role: str | None, claims: object, version: Version = None
) -> ClaimGroup:
    ensure(role, Action.REVIEW)
    ids = clean_claim_ids(claims)
    with _changing(group, version, actor, "claim_group.remove_claims") as current:
        gone = ClaimGroupMember.objects.filter(group=current, claim_id__in=ids).delete()[0]
        if gone != len(ids):
            raise ValidationError({"claims": ["Only claims of this group can be removed from it."]})
    return current


def group_merge(
    *,
    actor: User,
    group: ClaimGroup,
    other: ClaimGroup,
    role: str | None,
    version: Version = None,
) -> ClaimGroup:
    """Moves every claim of `other` into `group` and deletes `other` (same corpus only). The
    description of `other`, when it has one, is appended to `group`'s."""
    ensure(role, Action.REVIEW)
    if other.corpus_id != group.corpus_id or other.pk == group.pk:
        raise ValidationError({"other": ["Merge with another group of the same corpus."]})
    with transaction.atomic():
        current = _lock(ClaimGroup, group.pk)
        absorbed = _lock(ClaimGroup, other.pk)
        check_version(current, version)
        before = _snapshot(current)
        before_other = _snapshot(absorbed)
        ClaimGroupMember.objects.filter(group=absorbed).update(group=current)
        if absorbed.description:
            joined = "\n\n".join(d for d in (current.description, absorbed.description) if d)
            current.description = joined[:GROUP_DESCRIPTION_CHARS]
        _save(current)
        audit(
            actor=actor,
            verb="claim_group.merge",
            obj=current,
            corpus=current.corpus,
            before={**before, "merged": {"id": str(absorbed.pk), **before_other}},
            after=_snapshot(current),
        )
        audit(
            actor=actor,
            verb="claim_group.delete",
            obj=absorbed,
            corpus=current.corpus,
            before=before_other,
            after={"merged_into": str(current.pk)},
        )
        absorbed.delete()
    return current


def group_split(
    *,
    actor: User,
    group: ClaimGroup,
    role: str | None,
    claims: object,
    label: object,
    description: object = "",
    version: Version = None,
) -> ClaimGroup:
    """Moves `claims` (of `group`) into a new group with its own label; returns the new group."""
    ensure(role, Action.REVIEW)
    ids = clean_claim_ids(claims)
    clean_label = clean_group_label(label)
    clean_description = clean_group_description(description)
    if not ids:
        raise ValidationError({"claims": ["Choose the claims that go to the new group."]})
    with transaction.atomic():
        current = _lock(ClaimGroup, group.pk)
        check_version(current, version)
        before = _snapshot(current)
        mine = set(_member_ids(current))
        if not set(ids) <= mine:
            raise ValidationError({"claims": ["Only claims of this group can be split off."]})
        if set(ids) == mine:
            raise ValidationError(
                {"claims": ["Leave at least one claim in this group (or rename it instead)."]}
            )
        try:
            with transaction.atomic():
                new = ClaimGroup.objects.create(
                    corpus=current.corpus,
                    label=clean_label,
                    description=clean_description,
                    created_by=actor,
                )
        except IntegrityError as error:
            raise Conflict(LABEL_TAKEN) from error
        ClaimGroupMember.objects.filter(group=current, claim_id__in=ids).update(group=new)
        _save(current)
        audit(
            actor=actor,
            verb="claim_group.split",
            obj=current,
            corpus=current.corpus,
            before=before,
            after={**_snapshot(current), "split_into": str(new.pk)},
        )
        audit(
            actor=actor,
            verb="claim_group.create",
            obj=new,
            corpus=current.corpus,
            after={**_snapshot(new), "split_from": str(current.pk)},
        )
    return new


def group_delete(
    *, actor: User, group: ClaimGroup, role: str | None, version: Version = None
) -> None:
    """Deletes the group; its claims stay where they are, in no group."""
    ensure(role, Action.REVIEW)
    with transaction.atomic():
        current = _lock(ClaimGroup, group.pk)
        check_version(current, version)
        audit(
            actor=actor,
            verb="claim_group.delete",
            obj=current,
            corpus=current.corpus,
            before=_snapshot(current),
        )
        current.delete()


def group_for_import(corpus: Corpus, label: str, actor: User) -> ClaimGroup:
    """The corpus's group named `label`, created when missing (the JSONL import)."""
    label = validators.validate_line(
        label, "group.label", max_chars=GROUP_LABEL_CHARS, required=True
    )
    group = ClaimGroup.objects.filter(corpus=corpus, label=label).first()
    if group is None:
        group = ClaimGroup.objects.create(corpus=corpus, label=label, created_by=actor)
    return group
