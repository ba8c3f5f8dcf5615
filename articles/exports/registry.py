"""The registry of formats: name -> `ExportFormat` (content type, extension, writer, the parts
it reads). Each format module states its own `FORMAT`; this is the one place that lists them."""

from __future__ import annotations

from . import aif, brat, csv, jsonl, w3c
from .spec import ExportFormat

FORMATS: dict[str, ExportFormat] = {
    module.FORMAT.name: module.FORMAT for module in (jsonl, w3c, brat, csv, aif)
}
