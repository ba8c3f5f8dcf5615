"""Writing my tag of a claim (topic, stance, labels, confidence, note) and its evidence."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_POST

from ... import selectors, services
from ...access import Access
from ...models import Annotation, Article, Evidence, EvidenceKind
from .claim_list import STANCE_LABELS, excerpt
from .context import PageRequest
from .forms import AnnotationForm, EvidenceForm, VersionedForm
from .writes import Changed, PanelWrite, Versions, after_write, claim_for_write, mine_for_write


def _stance_label(value: str) -> str:
    return STANCE_LABELS.get(value, value or "—")


def _tag_lines(
    stance: str, topic: str, labels: list[str], confidence: int | None, note: str
) -> list[tuple[str, str]]:
    """A tag as the conflict view lists it."""
    return [
        ("Stance", _stance_label(stance)),
        ("Topic", topic),
        ("Labels", ", ".join(labels) or "—"),
        ("Confidence", str(confidence or "—")),
        ("Note", note or "—"),
    ]


@login_required
@require_POST
def annotation_save(request: PageRequest, pk: int) -> HttpResponse:
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
        labels = selectors.topics_for_corpus(article.corpus).values_list("id", "label")
        topics = {str(topic_id): label for topic_id, label in labels}
        sent = form.cleaned_data
        as_sent = _tag_lines(
            sent["stance"],
            topics.get(str(sent["topic"]), ""),
            sent["labels"],
            sent["confidence"],
            sent["note"],
        )
        if current is None:
            return Versions("your tag on this claim", as_sent, [("Stance", "—")], version="")
        as_saved = _tag_lines(
            current.stance,
            topics.get(str(current.topic_id), ""),
            current.labels,
            current.confidence,
            current.note,
        )
        return Versions("your tag on this claim", as_sent, as_saved, version=current.version)

    write = PanelWrite(request, access, article, claim.pk, keep={"form": form.data})
    return write.run(
        save,
        done=lambda: f"Tagged {_stance_label(form.cleaned_data['stance']).lower()}.",
        versions=versions,
    )


@login_required
@require_POST
def annotation_delete(request: PageRequest, pk: int) -> HttpResponse:
    annotation, article, access = mine_for_write(request, pk)
    services.annotation_delete(actor=request.user, annotation=annotation, role=access.role)
    return after_write(request, access, article, annotation.claim_id, "Your tag was removed.")


# --- Evidence: annotation_update replaces the whole list -----------------------------------------


def _items(evidence: Iterable[Evidence]) -> list[services.EvidenceInput]:
    """Evidence rows as the items annotation_update takes."""
    return [
        services.EvidenceInput(
            kind=item.kind,
            start=item.start,
            end=item.end,
            exact=item.exact,
            url=item.url,
            title=item.title,
            quote=item.quote,
            evidence_type=item.evidence_type,
            role=item.role,
        )
        for item in evidence
    ]


def _evidence_of(annotation: Annotation) -> list[Evidence]:
    return list(annotation.evidence.order_by("position", "id"))


def _describe(item: services.EvidenceInput) -> str:
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
    request: PageRequest, access: Access, article: Article, claim_id: int, form: VersionedForm
) -> PanelWrite:
    """An evidence write answers in the panel's evidence section, keeping what was typed."""
    keep = {"form": form.data}
    return PanelWrite(request, access, article, claim_id, errors="evidence_errors", keep=keep)


@login_required
@require_POST
def evidence_add(request: PageRequest, pk: int) -> HttpResponse:
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
            evidence=[*_items(_evidence_of(mine)), services.EvidenceInput(**form.item)],
        )

    return write.run(
        save,
        done="Evidence added.",
        changed=False,
        versions=lambda current: _versions(
            current, f"Add {_describe(services.EvidenceInput(**form.item))}"
        ),
    )


@login_required
@require_POST
def evidence_delete(request: PageRequest, pk: int, evidence_id: int) -> HttpResponse:
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
