"""Writing my tag of a claim (topic, stance, labels, confidence, note) and its evidence."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from ... import selectors, services
from ...access import Access
from ...models import Annotation, Article, Evidence, EvidenceKind
from .claim_list import STANCE_LABELS, excerpt
from .forms import AnnotationForm, EvidenceForm, VersionedForm
from .writes import Changed, PanelWrite, Versions, after_write, claim_for_write, mine_for_write


def _stance_label(value: str) -> str:
    return STANCE_LABELS.get(value, value or "—")


def _tag_summary(annotation: Annotation | None, topics: dict[int, str]) -> list[tuple[str, str]]:
    """A tag as the conflict view lists it."""
    if annotation is None:
        return [("Stance", "—")]
    return [
        ("Stance", _stance_label(annotation.stance)),
        ("Topic", topics.get(annotation.topic_id, "")),
        ("Labels", ", ".join(annotation.labels) or "—"),
        ("Confidence", str(annotation.confidence or "—")),
        ("Note", annotation.note or "—"),
    ]


@login_required
@require_POST
def annotation_save(request: HttpRequest, pk: int) -> HttpResponse:
    """Create or update my annotation of the claim (stance buttons submit this form too)."""
    claim, article, access = claim_for_write(request, pk)
    mine = selectors.annotation_of(user=request.user, claim=claim)
    form = AnnotationForm(
        request.POST,
        allowed_labels=article.corpus.claim_labels,
        stance_now=mine.stance if mine else "",
    )

    def save() -> None:
        data = form.parse()
        version = data.pop("version")
        if mine is None and version is None:
            services.annotation_create(actor=request.user, claim=claim, role=access.role, **data)
        elif mine is None:
            raise Changed(None)  # the form edited my tag, deleted meanwhile
        else:
            # A form without a version (sent twice quickly) must not overwrite: compare with 0.
            services.annotation_update(
                actor=request.user,
                annotation=mine,
                role=access.role,
                version=version or 0,
                **data,
            )

    def versions(current: Annotation | None) -> Versions:
        data = form.cleaned_data
        topic = str(data["topic"] or "")
        sent = Annotation(
            stance=data["stance"],
            topic_id=int(topic) if topic.isdigit() else None,
            labels=data["labels"],
            confidence=data["confidence"],
            note=data["note"],
        )
        topics = dict(selectors.topics_for_corpus(article.corpus).values_list("id", "label"))
        return Versions(
            what="your tag on this claim",
            mine=_tag_summary(sent, topics),
            theirs=_tag_summary(current, topics),
            version=current.version if current else "",
        )

    write = PanelWrite(request, access, article, claim.pk, keep={"form": form.data})
    return write.run(
        save,
        done=lambda: f"Tagged {_stance_label(form.cleaned_data['stance']).lower()}.",
        versions=versions,
    )


@login_required
@require_POST
def annotation_delete(request: HttpRequest, pk: int) -> HttpResponse:
    annotation, article, access = mine_for_write(request, pk)
    services.annotation_delete(actor=request.user, annotation=annotation, role=access.role)
    return after_write(request, access, article, annotation.claim_id, "Your tag was removed.")


# --- Evidence: annotation_update replaces the whole list -----------------------------------------


def _items(evidence: Iterable[Evidence]) -> list[dict[str, Any]]:
    """Evidence rows as the items annotation_update takes."""
    return [{name: getattr(item, name) for name in services.EVIDENCE_FIELDS} for item in evidence]


def _evidence_of(annotation: Annotation) -> list[Evidence]:
    return list(annotation.evidence.order_by("position", "id"))


def _describe(item: dict[str, Any]) -> str:
    if item.get("kind") == EvidenceKind.SPAN:
        return f"“{excerpt(item.get('exact') or '', 80)}”"
    return " · ".join(v for v in (item.get("title"), item.get("url"), item.get("quote")) if v)


def _versions(current: Annotation, attempted: str) -> Versions:
    """The conflict view of an evidence change: what I tried, and the evidence saved now."""
    theirs = [("Evidence", _describe(item)) for item in _items(_evidence_of(current))]
    return Versions(
        what="the evidence of your tag",
        mine=[("Change", attempted)],
        theirs=theirs or [("Evidence", "—")],
        version=current.version,
    )


def _panel(
    request: HttpRequest, access: Access, article: Article, claim_id: int, form: VersionedForm
) -> PanelWrite:
    """An evidence write answers in the panel's evidence section, keeping what was typed."""
    keep = {"form": form.data}
    return PanelWrite(request, access, article, claim_id, errors="evidence_errors", keep=keep)


@login_required
@require_POST
def evidence_add(request: HttpRequest, pk: int) -> HttpResponse:
    claim, article, access = claim_for_write(request, pk)
    mine = selectors.annotation_of(user=request.user, claim=claim)
    form = EvidenceForm(request.POST, text=article.text)
    write = _panel(request, access, article, claim.pk, form)
    if mine is None:
        problem = "Tag the claim's stance first; evidence belongs to your tag."
        return write.refused([problem], status=400)

    def save() -> Annotation:
        version = form.parse()["version"]
        return services.annotation_update(
            actor=request.user,
            annotation=mine,
            role=access.role,
            version=version,
            evidence=[*_items(_evidence_of(mine)), form.item],
        )

    return write.run(
        save,
        done="Evidence added.",
        changed=False,
        versions=lambda current: _versions(current, f"Add {_describe(form.item)}"),
    )


@login_required
@require_POST
def evidence_delete(request: HttpRequest, pk: int, evidence_id: int) -> HttpResponse:
    annotation, article, access = mine_for_write(request, pk)
    evidence = _evidence_of(annotation)
    removed = next((item for item in evidence if item.pk == evidence_id), None)
    if removed is None:
        raise Http404("Evidence not found.")
    form = VersionedForm(request.POST)
    write = _panel(request, access, article, annotation.claim_id, form)
    return write.run(
        lambda: services.annotation_update(
            actor=request.user,
            annotation=annotation,
            role=access.role,
            version=form.parse()["version"],
            evidence=_items(item for item in evidence if item is not removed),
        ),
        done="Evidence removed.",
        changed=False,
        versions=lambda current: _versions(current, f"Remove {_describe(_items([removed])[0])}"),
    )
