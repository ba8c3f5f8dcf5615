"""What an uploaded file is, read from its first bytes rather than from its name.

People rename files, browsers guess content types, and API clients send whatever their library
defaults to; the bytes say what the file is. `detect` returns the import kind (jsonl, zip, text,
markdown, html, pdf, docx) or refuses the file with 415 and a sentence naming what it looks like
("a PNG image", "a legacy Word .doc file (save it as .docx)", ...).

The hint (from the file name's extension or the declared content type) decides only where the
bytes cannot: Markdown and plain text look alike, an HTML fragment looks like text, a text file
of bad JSON lines is still meant as JSON Lines, and bytes that match no format, named .zip,
.docx or .pdf, are a damaged file of that kind, whose reader then says what is wrong with it.
"""

from __future__ import annotations

import json
import re
import zipfile
from typing import IO

HEAD_BYTES = 64 * 1024
SUPPORTED = "JSON Lines, brat zips, text, Markdown, HTML, PDF and Word (.docx) files"
_UNKNOWN = "binary data"

# Signatures of binary formats people upload by mistake, matched at the start of the file.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image (a scan? OCR it into a PDF with a text layer first)"),
    (b"MM\x00*", "a TIFF image (a scan? OCR it into a PDF with a text layer first)"),
    (b"BM", "a BMP image"),
    (b"\x1f\x8b", "a gzip-compressed file (unpack it first)"),
    (b"BZh", "a bzip2-compressed file (unpack it first)"),
    (b"\xfd7zXZ\x00", "an xz-compressed file (unpack it first)"),
    (b"\x28\xb5\x2f\xfd", "a Zstandard-compressed file (unpack it first)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive (unpack it first)"),
    (b"Rar!\x1a\x07", "a RAR archive (unpack it first)"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"\xcf\xfa\xed\xfe", "a macOS program"),
    (b"\xca\xfe\xba\xbe", "a macOS program or Java class"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"ID3", "an MP3 audio file"),
    (b"\xff\xfb", "an MP3 audio file"),
    (b"\xff\xf3", "an MP3 audio file"),
    (b"OggS", "an Ogg audio or video file"),
    (b"fLaC", "a FLAC audio file"),
    (b"\x1aE\xdf\xa3", "a Matroska or WebM video"),
    (b"wOFF", "a web font"),
    (b"wOF2", "a web font"),
)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the compound file of Office 97-2003
_OLE_STREAMS: tuple[tuple[str, str], ...] = (
    ("WordDocument", "a legacy Word .doc file (save it as .docx)"),
    ("Workbook", "a legacy Excel .xls workbook"),
    ("PowerPoint Document", "a legacy PowerPoint .ppt presentation"),
)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_ODF_TYPES = {
    "application/vnd.oasis.opendocument.text": "an OpenDocument text (.odt; save it as .docx)",
    "application/vnd.oasis.opendocument.spreadsheet": "an OpenDocument spreadsheet (.ods)",
    "application/vnd.oasis.opendocument.presentation": "an OpenDocument presentation (.odp)",
    "application/epub+zip": "an EPUB e-book",
}
_OOXML_PARTS = (
    ("xl/workbook.xml", "an Excel workbook (.xlsx)"),
    ("ppt/presentation.xml", "a PowerPoint presentation (.pptx)"),
)
# Bytes that plain text does not hold (C0 controls other than tab, line feed, form feed, CR,
# and escape, which some terminals' logs carry).
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
_HTML_START = re.compile(
    r"^(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])",
    re.IGNORECASE | re.DOTALL,
)
_HTML_ANYWHERE = re.compile(r"<(?:html|head|body)[\s>]", re.IGNORECASE)
_JSON_KEY_LINE = re.compile(r'^\s*"[^"\n]*"\s*:')


class Unsupported(Exception):
    """The file is none of the kinds the import reads; the message says what it looks like."""


def detect(file: IO[bytes], *, hint: str | None = None) -> str:
    """The import kind of a seekable binary file, whose position is left at the start.

    Raises Unsupported with a phrase such as "a PNG image" for a file the import cannot read."""
    file.seek(0)
    head = file.read(HEAD_BYTES)
    file.seek(0)
    if head.startswith(b"%PDF-") or (b"%PDF-" in head[:1024] and not _is_text(head)):
        return "pdf"  # the specification allows some junk before the header
    if head.startswith(_ZIP_MAGIC) or (hint in ("zip", "docx") and head.startswith(b"PK")):
        return _zip_kind(file, hint)
    if hint == "pdf" and head.lstrip().startswith(b"%PDF"):
        return "pdf"  # a damaged or truncated PDF: the PDF reader says what is wrong
    if head.startswith((b"\xef\xbb\xbf",)):
        return _text_kind(head[3:].decode("utf-8", "replace"), hint)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Unsupported("text in UTF-16 (save it as UTF-8)")
    if _is_text(head):
        return _text_kind(head.decode("utf-8", "replace"), hint)
    description = _binary_description(file, head)
    if description == _UNKNOWN and hint in ("zip", "docx", "pdf"):
        return hint  # unrecognisable bytes named as a container: a damaged one, its reader says
    raise Unsupported(description)


def _is_text(head: bytes) -> bool:
    """UTF-8 (or another 8-bit encoding, which the text import then names) without the control
    bytes binary formats are full of. An empty file is text: the importer says it is empty."""
    return _CONTROL.search(head) is None


def _binary_description(file: IO[bytes], head: bytes) -> str:
    if head.startswith(_OLE):
        return _ole_description(file)
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return "a HEIC photo"
        if brand == b"avif":
            return "an AVIF image"
        return "an MP4 or QuickTime video or audio file"
    if head.startswith(b"RIFF"):
        return {b"WEBP": "a WebP image", b"WAVE": "a WAV audio file", b"AVI ": "an AVI video"}.get(
            head[8:12], "a RIFF media file"
        )
    if head[257:262] == b"ustar":
        return "a tar archive (unpack it first)"
    for signature, description in _SIGNATURES:
        if head.startswith(signature):
            return description
    return _UNKNOWN


def _ole_description(file: IO[bytes]) -> str:
    """Office 97-2003 files share one container; its directory names the streams (in UTF-16),
    usually within the first megabyte."""
    file.seek(0)
    data = file.read(1024 * 1024)
    file.seek(0)
    for stream, description in _OLE_STREAMS:
        if stream.encode("utf-16-le") in data:
            return description
    return "a legacy Microsoft Office file (.doc, .xls or .ppt; save it as .docx)"


def _zip_kind(file: IO[bytes], hint: str | None) -> str:
    from .brat import DAMAGED

    try:
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
            mimetype = _small_entry(archive, "mimetype")
            content_types = _small_entry(archive, "[Content_Types].xml", 256 * 1024)
    except DAMAGED:
        # Damaged: let the importer the name points at say what is wrong with it.
        return "docx" if hint == "docx" else "zip"
    finally:
        file.seek(0)
    present = set(names)
    if "word/document.xml" in present:
        if "macroEnabled" in content_types:
            return _refuse("a macro-enabled Word file (.docm; save it as .docx)")
        return "docx"
    if mimetype in _ODF_TYPES:
        return _refuse(_ODF_TYPES[mimetype])
    for part, description in _OOXML_PARTS:
        if part in present:
            return _refuse(description)
    if hint == "zip" or any(name.lower().endswith((".txt", ".ann")) for name in names):
        return "zip"  # named .zip or sent as one: the brat import says what it lacks
    return _refuse(
        "a ZIP archive that is neither a brat export (.txt and .ann files) nor a Word file"
    )


def _small_entry(archive: zipfile.ZipFile, name: str, limit: int = 200) -> str:
    """The text of a small entry that says what the archive is, or "" when it is absent."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        return ""
    if info.file_size > limit:
        return ""
    with archive.open(info) as entry:
        return entry.read(limit).decode("utf-8", "replace").strip()


def _refuse(description: str) -> str:
    raise Unsupported(description)


def _text_kind(head: str, hint: str | None) -> str:
    start = head.lstrip()
    lowered = start[:2048].lower()
    if lowered.startswith("{\\rtf"):
        raise Unsupported("an RTF document (save it as .docx or PDF)")
    if lowered.startswith("%!ps"):
        raise Unsupported("a PostScript file (save it as PDF)")
    if _HTML_START.match(start[:4096]) or (
        lowered.startswith("<") and _HTML_ANYWHERE.search(start[:4096])
    ):
        return "html"
    if lowered.startswith("<?xml") or lowered.startswith("<svg"):
        if "<svg" in lowered:
            raise Unsupported("an SVG image")
        if hint != "html":
            raise Unsupported("an XML file other than HTML")
    if hint == "html":
        return "html"
    json_kind = _json_kind(start, hint)
    if json_kind:
        return json_kind
    if hint in ("markdown", "jsonl"):
        return hint
    return "text"


def _parses(sample: str) -> bool:
    try:
        json.loads(sample)
    except ValueError:
        return False
    return True


def _json_kind(start: str, hint: str | None) -> str | None:
    """jsonl for a file whose first line is a JSON object; a JSON document spread over lines
    (or an array) is refused, since the import reads one article per line."""
    if start.startswith("["):
        following = start[1:].lstrip()[:1]
        if following in ("{", "[") or _parses(start) or _parses(start.partition("\n")[0]):
            raise Unsupported(
                "a JSON array; the import reads JSON Lines: one article object per line"
            )
        return None
    if not start.startswith("{"):
        return None
    first, newline, rest = start.partition("\n")
    if not newline and len(start) >= HEAD_BYTES // 2:
        # A first line longer than the sample: a long article on one line.
        return "jsonl" if start[1:].lstrip().startswith('"') else None
    try:
        value = json.loads(first)
    except ValueError:
        value = None
    if isinstance(value, dict):
        return "jsonl"
    next_line = next((line for line in rest.split("\n") if line.strip()), "")
    if first.strip() == "{" and _JSON_KEY_LINE.match(next_line):
        raise Unsupported(
            "a JSON document spread over several lines; the import reads JSON Lines: one "
            "article object per line"
        )
    return "jsonl" if hint == "jsonl" else None
