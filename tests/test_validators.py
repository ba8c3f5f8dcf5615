"""articles.validators: each field's check, written once, and usable as it will be used: from a
Django form's clean_<field>, a DRF serializer's validate_<field>, the services and the importer.
"""

from __future__ import annotations

import pytest
from django import forms
from django.core.exceptions import ValidationError
from rest_framework import serializers

from articles import services, validators
from articles.models import ReviewDecision, Role

TEXT = "Chips matter. Prices doubled in 研究者 labs. Rules fail."


def messages(check, *args, **kwargs) -> list[str]:
    with pytest.raises(ValidationError) as error:
        check(*args, **kwargs)
    assert not hasattr(error.value, "error_dict"), "one-field validators raise plain errors"
    return error.value.messages


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ""), ("a\r\nb\rc", "a\nb\nc"), ("  kept  ", "  kept  ")],
)
def test_text_is_cleaned(value, expected):
    assert validators.validate_text(value, "note") == expected


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        (5, "note must be text."),
        ("x" * 11, "note is 11 characters; at most 10."),
        ("nul\x00", "note contains a NUL character"),
        ("\ud800", "note contains an unpaired surrogate"),
    ],
)
def test_text_errors_name_the_field(value, needle):
    (message,) = messages(validators.validate_text, value, "note", max_chars=10)
    assert message.startswith(needle)


def test_lines_and_urls():
    assert validators.validate_line("  Title ", "title", max_chars=10) == "Title"
    assert messages(validators.validate_line, "a\nb", "title", max_chars=10) == [
        "title must be a single line."
    ]
    assert messages(validators.validate_line, " ", "title", max_chars=10, required=True) == [
        "title is required."
    ]
    assert validators.validate_url("https://example.org/a", "url") == "https://example.org/a"
    assert messages(validators.validate_url, "javascript:alert(1)", "url") == [
        "url must be an http:// or https:// address."
    ]
    assert validators.validate_topic_label(" Chips ") == "Chips"
    assert messages(validators.validate_topic_label, "", "topic") == ["topic is required."]


def test_choices_and_stance():
    assert validators.validate_stance("oppose") == "oppose"
    assert validators.validate_stance(None, required=False) == ""
    assert messages(validators.validate_stance, "maybe") == [
        "stance must be one of support, oppose, neutral; got 'maybe'."
    ]
    assert messages(validators.validate_choice, 1, "decision", ReviewDecision) == [
        "decision must be one of accepted, rejected; got 1."
    ]


def test_labels_against_the_corpus_label_set():
    assert validators.validate_labels(["Claim", "Claim", " Premise "]) == ["Claim", "Premise"]
    assert validators.validate_labels(None) == []
    assert messages(validators.validate_labels, ["Other"], allowed=["Claim"]) == [
        "'Other' is not one of this corpus's labels (Claim)."
    ]
    assert messages(validators.validate_labels, "Claim") == [
        "labels must be a list of text labels."
    ]
    assert messages(validators.validate_labels, ["x"] * 51) == ["labels has 51 labels; at most 50."]


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), (1, 1), ("5", 5)])
def test_confidence_accepted(value, expected):
    assert validators.validate_confidence(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "confidence must be from 1 to 5; got 0."),
        ("6", "confidence must be from 1 to 5; got 6."),
        (True, "confidence must be a whole number from 1 to 5."),
        (2.5, "confidence must be a whole number from 1 to 5."),
        ("high", "confidence must be a whole number from 1 to 5."),
    ],
)
def test_confidence_refused(value, message):
    assert messages(validators.validate_confidence, value) == [message]


def test_whole_numbers_and_booleans():
    assert validators.validate_int(3, "per_article") == 3
    assert validators.validate_int("12", "per_article") == 12
    for refused in (True, 2.5, "two", None):
        assert messages(validators.validate_int, refused, "per_article") == [
            "per_article must be a whole number."
        ]
    assert validators.validate_bool(False, "blind") is False
    for refused in ("true", 1, None):
        assert messages(validators.validate_bool, refused, "blind") == [
            "blind must be true or false."
        ]
    with pytest.raises(ValidationError) as error:
        services.clean_int("two", "per_article")
    assert error.value.message_dict == {"per_article": ["per_article must be a whole number."]}
    with pytest.raises(ValidationError) as error:
        services.clean_bool("yes", "blind")
    assert error.value.message_dict == {"blind": ["blind must be true or false."]}


def test_spans_are_keyed_by_field():
    span = validators.validate_span(TEXT, exact="Rules fail.")
    assert TEXT[span.start : span.end] == "Rules fail."
    with pytest.raises(ValidationError) as error:
        validators.validate_span(TEXT, start=5, end=500, exact="x")
    assert set(error.value.message_dict) == {"end"}


def test_evidence_items_are_numbered():
    items = validators.validate_evidence(
        TEXT,
        [
            {"exact": "Rules fail.", "evidence_type": "example"},
            {"url": "https://example.org/r", "title": "R"},
        ],
    )
    assert [item["kind"] for item in items] == ["span", "source"]
    assert messages(
        validators.validate_evidence,
        TEXT,
        [{"exact": "Rules fail."}, {"start": 5, "end": 1}, {"kind": "source"}, "x"],
    ) == [
        "Evidence 2: end: end (1) is before start (5); start must be less than end.",
        "Evidence 3: url: A source needs a url, a title or a quote.",
        "Evidence 4: each evidence item must be an object.",
    ]
    assert messages(validators.validate_evidence, TEXT, {}) == ["evidence must be a list."]


def test_members_by_role(team):
    members = validators.corpus_members(team.corpus.pk, ["anna", "carmen", "victor", "oscar", 3])
    assert set(members) == {"anna", "carmen", "victor"}
    check = validators.validate_member
    assert check("anna", "annotator", members=members).user_id == team.annotator.pk
    assert check("carmen", "curator", members=members, minimum=Role.CURATOR).role == "curator"
    assert messages(check, "anna", "curator", members=members, minimum=Role.CURATOR) == [
        "curator 'anna' is an annotator of this corpus; the curator must be a curator or owner."
    ]
    outsider = messages(check, "oscar", "annotator", members=members)
    nobody = messages(check, "zed", "annotator", members=members)
    assert outsider == [m.replace("'zed'", "'oscar'") for m in nobody]
    assert messages(check, "", "annotator", members=members) == ["annotator must be a username."]
    assert validators.corpus_members(team.corpus.pk, ["an\x00na"]) == {}


def test_keyed_gives_the_services_shape():
    with pytest.raises(ValidationError) as error:
        validators.keyed("stance", validators.validate_stance, "maybe")
    assert error.value.message_dict == {
        "stance": ["stance must be one of support, oppose, neutral; got 'maybe'."]
    }
    with pytest.raises(ValidationError) as error:
        services.clean_choice("x", "decision", ReviewDecision)
    assert list(error.value.message_dict) == ["decision"]


# --- The surfaces that will use them --------------------------------------------------------


class AnnotationForm(forms.Form):
    stance = forms.CharField(required=False)
    confidence = forms.CharField(required=False)
    labels = forms.JSONField(required=False)

    def __init__(self, *args, corpus_labels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.corpus_labels = corpus_labels

    def clean_stance(self):
        return validators.validate_stance(self.cleaned_data["stance"])

    def clean_confidence(self):
        return validators.validate_confidence(self.cleaned_data["confidence"])

    def clean_labels(self):
        return validators.validate_labels(self.cleaned_data["labels"], allowed=self.corpus_labels)


def test_usable_from_a_django_form_clean_field():
    form = AnnotationForm(
        {"stance": "maybe", "confidence": "9", "labels": '["Other"]'}, corpus_labels=["Claim"]
    )
    assert not form.is_valid()
    assert form.errors == {
        "stance": ["stance must be one of support, oppose, neutral; got 'maybe'."],
        "confidence": ["confidence must be from 1 to 5; got 9."],
        "labels": ["'Other' is not one of this corpus's labels (Claim)."],
    }
    good = AnnotationForm({"stance": "oppose", "confidence": "2", "labels": '["Claim"]'})
    assert good.is_valid(), good.errors
    assert good.cleaned_data == {"stance": "oppose", "confidence": 2, "labels": ["Claim"]}


class ReviewSerializer(serializers.Serializer):
    curator = serializers.CharField()
    stance = serializers.CharField(required=False, allow_blank=True)
    note = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)

    def validate_curator(self, value):
        corpus_id = self.context["corpus_id"]
        return validators.validate_member_of(corpus_id, value, "curator", minimum=Role.CURATOR)

    def validate_stance(self, value):
        return validators.validate_stance(value, required=False)

    def validate_note(self, value):
        return validators.validate_text(value, "note", max_chars=5)


def test_usable_from_a_drf_serializer_validate_field(team):
    context = {"corpus_id": team.corpus.pk}
    bad = ReviewSerializer(
        data={"curator": "anna", "stance": "maybe", "note": "too long"}, context=context
    )
    assert not bad.is_valid()
    assert bad.errors == {
        "curator": [
            "curator 'anna' is an annotator of this corpus; the curator must be a curator or owner."
        ],
        "stance": ["stance must be one of support, oppose, neutral; got 'maybe'."],
        "note": ["note is 8 characters; at most 5."],
    }
    good = ReviewSerializer(data={"curator": "carmen", "stance": "oppose"}, context=context)
    assert good.is_valid(), good.errors
    assert good.validated_data["curator"].user_id == team.curator.pk
