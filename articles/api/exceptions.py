"""One error shape for the whole API: `{"detail": "...", "errors": {field: ["...", ...]}}`.

Django's ValidationError → 400 with the per-field map, PermissionDenied → 403, Http404 → 404,
services.Conflict → 409, services.StaleVersion → 412 (with the object as it stands now under
`current`, as the view presents it), services.PayloadTooLarge → 413, imports.ImportFailed → its
status (400, 409 or 413) with every bad line, an update naming no version → 428
(PreconditionRequired). DRF's own exceptions keep their status codes and headers (401
WWW-Authenticate, 429 Retry-After). Views catch none of these: this is the one place they become
responses. Anything else is a real bug and stays a 500."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from articles import imports, services

NON_FIELD = "non_field_errors"


class PreconditionRequired(exceptions.APIException):
    """An update that names no version (HTTP 428): it could overwrite a change unseen."""

    status_code = 428
    default_detail = (
        'Say which version you are changing: send If-Match with the ETag you read (e.g. "3") '
        "or `version` in the body. A stale version gets 412, so nobody's change is overwritten "
        "unseen."
    )
    default_code = "precondition_required"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        return _error(status.HTTP_400_BAD_REQUEST, errors=_django_errors(exc))
    if isinstance(exc, services.StaleVersion):
        return _stale(exc, context)
    if isinstance(exc, services.DuplicateClaim):
        # One span, one claim (DESIGN.md): the client learns which claim to tag instead.
        set_rollback()
        body = {**_body(str(exc)), "existing": str(exc.existing.pk)}
        return Response(body, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, services.MergeNeedsChoice):
        set_rollback()
        conflicts = [_merge_conflict(c) for c in exc.conflicts]
        return Response(
            {**_body(str(exc)), "conflicts": conflicts}, status=status.HTTP_409_CONFLICT
        )
    if isinstance(exc, services.Conflict):
        return _error(status.HTTP_409_CONFLICT, str(exc))
    if isinstance(exc, imports.ImportFailed):
        return _import_failed(exc)
    if isinstance(exc, services.PayloadTooLarge | RequestDataTooBig):
        return _error(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, str(exc) or "Too large.")
    if isinstance(exc, Http404):
        return _error(status.HTTP_404_NOT_FOUND, str(exc) or "Not found.")
    if isinstance(exc, PermissionDenied) and not isinstance(exc, exceptions.APIException):
        return _error(status.HTTP_403_FORBIDDEN, str(exc) or "You may not do this.")
    if isinstance(exc, exceptions.ValidationError):
        # Handled like every APIException, so only the body needs replacing.
        response = drf_exception_handler(exc, context)
        assert response is not None
        response.data = _body(errors=flatten_errors(exc.detail))
        return response
    response = drf_exception_handler(exc, context)
    if response is not None:
        detail = response.data.get("detail") if isinstance(response.data, dict) else None
        response.data = _body(str(detail) if detail else _default_detail(response.status_code))
    return response


def _merge_conflict(conflict: services.MergeConflict) -> dict[str, Any]:
    """One annotator's two annotations, as the curator chooses between them."""

    def side(annotation: Any) -> dict[str, Any]:
        return {
            "annotation": str(annotation.pk),
            "topic": annotation.topic.label,
            "stance": annotation.stance,
            "labels": annotation.labels,
            "note": annotation.note,
        }

    return {
        "annotator": conflict.username,
        "claim": side(conflict.claim),
        "into": side(conflict.into),
    }


def _import_failed(failure: imports.ImportFailed) -> Response:
    """Nothing was imported: each bad line under `errors.file`, and as {line, reason} in `lines`."""
    set_rollback()
    errors = {"file": [failure.describe(line, reason) for line, reason in failure.errors]}
    lines = [{"line": line, "reason": reason} for line, reason in failure.errors]
    return Response({**_body(str(failure), errors=errors), "lines": lines}, status=failure.status)


def _error(code: int, detail: str | None = None, *, errors: dict | None = None) -> Response:
    set_rollback()
    return Response(_body(detail, errors=errors), status=code)


def _body(detail: str | None = None, *, errors: dict[str, list[str]] | None = None) -> dict:
    errors = errors or {}
    if detail is None:
        detail = _summary(errors)
    return {"detail": detail, "errors": errors}


def _summary(errors: dict[str, list[str]]) -> str:
    if not errors:
        return "Invalid input."
    if len(errors) == 1:
        field, messages = next(iter(errors.items()))
        first = messages[0] if messages else "invalid"
        # The shared validators' messages name their field already ("stance must be one of ...").
        return first if field == NON_FIELD or first.startswith(f"{field} ") else f"{field}: {first}"
    return "Invalid input in " + ", ".join(errors) + "."


def _default_detail(code: int) -> str:
    return {
        400: "Bad request.",
        401: "Authentication credentials were not provided.",
        403: "You may not do this.",
        404: "Not found.",
        405: "Method not allowed.",
        406: "Only JSON responses are available.",
        415: "Unsupported media type; send JSON.",
        429: "Too many requests; slow down.",
    }.get(code, "Error.")


def _django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {field: list(messages) for field, messages in exc.message_dict.items()}
    return {NON_FIELD: list(exc.messages)}


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structures as {field: [messages]}; nested items are named in the message
    ("evidence": ["item 2: start: ..."]) so that every key is a top-level field of the request."""
    if isinstance(detail, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            field = NON_FIELD if key in ("non_field_errors", "__all__") else str(key)
            for message in _messages(value):
                flat.setdefault(field, []).append(message)
        return flat
    return {NON_FIELD: _messages(detail)}


def _messages(value: Any, where: str = "") -> list[str]:
    if isinstance(value, Mapping):
        out = []
        for key, inner in value.items():
            if isinstance(key, int):  # ListField/DictField errors are keyed by position
                label = f"{where}item {key + 1}: "
            elif key in ("non_field_errors", "__all__"):
                label = where
            else:
                label = f"{where}{key}: "
            out.extend(_messages(inner, label))
        return out
    if isinstance(value, list | tuple):
        out = []
        nested = any(isinstance(item, Mapping | list | tuple) for item in value)
        for index, item in enumerate(value, start=1):
            if nested:
                if item:
                    out.extend(_messages(item, f"{where}item {index}: "))
            else:
                out.extend(_messages(item, where))
        return out
    return [f"{where}{value}"]


def _stale(exc: services.StaleVersion, context: dict[str, Any]) -> Response:
    """412 with the object as the client would GET it now, so it can merge and retry."""
    set_rollback()
    view = context.get("view")
    present = getattr(view, "present_current", None)
    current = present(exc.current) if present is not None else None
    body = {**_body(str(exc)), "current": current}
    response = Response(body, status=status.HTTP_412_PRECONDITION_FAILED)
    response["ETag"] = f'"{exc.current.version}"'
    return response
