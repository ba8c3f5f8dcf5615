"""PDF and Word imports, and files recognised by their content rather than their name.

Every document here is a real file made in the test: PDFs with fpdf2 (two columns drawn line by
line, hyphenated line ends, running headers, metadata, encryption, an image-only page), Word
files with python-docx (styles, lists, tables, core properties), and the signatures of what
people upload by mistake (a PNG made by Pillow, a legacy .doc container, an OpenDocument text).
"""

from __future__ import annotations

import io
import random
import zipfile
from datetime import date, datetime

import docx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from fpdf import FPDF
from fpdf.enums import EncryptionMethod
from PIL import Image

from articles import imports
from articles.imports import sniff
from articles.models import Article, AuditEvent

URL = "/api/v1/corpora/chips/import"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
LEFT = [
    "Export controls on chips were meant to",
    "slow rivals down, and for a year they",
    "seemed to work as their authors hoped.",
]
RIGHT = [
    "Smuggling routes then adapted faster",
    "than the rules could follow them, and",
    "the prices of banned parts went down.",
]


# --- Making documents ------------------------------------------------------------------------


def make_pdf(
    pages: list[list[str]] | None = None,
    *,
    title: str | None = None,
    author: str | None = None,
    created: datetime | None = None,
    lang: str | None = None,
    heading: str | None = None,
    header: bool = False,
    encrypt: tuple[str, str | None] | None = None,
    image_only: bool = False,
) -> bytes:
    """A PDF: an optional large heading, then each page's lines at 14pt intervals (an empty
    string is a blank line), with a running header and page numbers if asked."""
    pdf = FPDF()
    pdf.set_auto_page_break(False)
    if title:
        pdf.set_title(title)
    if author:
        pdf.set_author(author)
    pdf.set_creation_date(created or datetime(2024, 3, 5, 10, 0))
    if lang:
        pdf.set_lang(lang)
    if encrypt:
        owner, user = encrypt
        pdf.set_encryption(
            owner_password=owner, user_password=user, encryption_method=EncryptionMethod.AES_128
        )
    for number, lines in enumerate(pages or [[]], start=1):
        pdf.add_page()
        if image_only:
            pdf.image(Image.new("L", (300, 400), 200), x=20, y=20, w=150)
            continue
        y = 30.0
        if header:
            pdf.set_font("Helvetica", size=8)
            pdf.text(20, 10, "Chip Weekly - trade and policy")
            pdf.text(100, 290, str(number))
        if heading and number == 1:
            pdf.set_font("Helvetica", "B", 20)
            pdf.text(20, y, heading)
            y += 15
        pdf.set_font("Helvetica", size=11)
        for line in lines:
            if line:
                pdf.text(20, y, line)
            y += 5
    return bytes(pdf.output())


def two_column_pdf() -> bytes:
    """Two columns drawn row by row (left line, right line, next row), as some layout programs
    write them: the drawing order interleaves the columns, the reading order does not."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.text(20, 20, "Controls and Their Limits")
    pdf.set_font("Helvetica", size=10)
    for row, (left, right) in enumerate(zip(LEFT, RIGHT, strict=True)):
        pdf.text(20, 40 + 5 * row, left)
        pdf.text(115, 40 + 5 * row, right)
    return bytes(pdf.output())


def make_docx(build, *, title: str = "", author: str = "", created=None, language="") -> bytes:
    document = docx.Document()
    properties = document.core_properties
    properties.title = title
    properties.author = author
    if created:
        properties.created = created
    properties.language = language
    build(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def rich_docx(document) -> None:
    document.add_heading("Chips Are Scarce", level=0)  # the Title style
    document.add_paragraph("Export controls were meant to slow rivals down.")
    document.add_heading("What changed", level=1)
    document.add_paragraph("Three things:")
    document.add_paragraph("smuggling routes adapted", style="List Bullet")
    document.add_paragraph("prices fell", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for (row, col), text in {
        (0, 0): "Year",
        (0, 1): "Price",
        (1, 0): "2024",
        (1, 1): "$30",
    }.items():
        table.cell(row, col).text = text
    paragraph = document.add_paragraph("Enforcement   needs\tpartners.")
    paragraph.add_run().add_break()
    paragraph.add_run("A second line.")


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def legacy_doc_bytes() -> bytes:
    """The start of an Office 97-2003 compound file whose directory names a WordDocument."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    entry = "Root Entry".encode("utf-16-le").ljust(128, b"\x00")
    entry += "WordDocument".encode("utf-16-le").ljust(128, b"\x00")
    return header + entry + bytes(1024)


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def import_file(team, name: str, data: bytes, **options):
    return imports.import_file(
        actor=team.owner, corpus=team.corpus, role="owner", name=name, data=data, **options
    )


def refusal(team, name: str, data: bytes) -> imports.ImportFailed:
    before = Article.objects.count()
    with pytest.raises(imports.ImportFailed) as failure:
        import_file(team, name, data)
    assert Article.objects.count() == before
    return failure.value


def newest() -> Article:
    return Article.objects.order_by("-id").first()


# --- PDF -------------------------------------------------------------------------------------


def test_pdf_metadata_gives_title_author_date_and_language(team):
    data = make_pdf(
        [["The first paragraph of the body.", "", "A second paragraph."]],
        title="Chips and the Law",
        author="Ada Writer",
        created=datetime(2024, 3, 5, 10, 0),
        lang="en-GB",
    )
    result = import_file(team, "upload.pdf", data)
    assert result.articles == 1
    article = newest()
    assert (article.title, article.author, article.published_on, article.language) == (
        "Chips and the Law",
        "Ada Writer",
        date(2024, 3, 5),
        "en-GB",
    )
    assert article.text == "The first paragraph of the body.\n\nA second paragraph."
    audit = AuditEvent.objects.filter(verb="corpus.import").latest("id")
    assert audit.after["format"] == "pdf"


def test_pdf_title_from_its_first_line_else_the_file_name(team):
    import_file(team, "a.pdf", make_pdf([["Body text follows."]], heading="Chips Are Scarce"))
    assert newest().title == "Chips Are Scarce"
    assert newest().text == "Chips Are Scarce\n\nBody text follows."
    import_file(team, "reports/march-brief.pdf", make_pdf([["It starts with a sentence."]]))
    assert newest().title == "march-brief"
    import_file(team, "b.pdf", make_pdf([["Ignored."]], title="Given"), title="Chosen here")
    assert newest().title == "Chosen here"
    placeholder = make_pdf([["Body."]], heading="The Real Title", title="Microsoft Word - x.docx")
    import_file(team, "c.pdf", placeholder)
    assert newest().title == "The Real Title"


def test_pdf_two_columns_read_in_reading_order(team):
    import_file(team, "columns.pdf", two_column_pdf())
    article = newest()
    assert article.title == "Controls and Their Limits"
    assert article.text == "\n\n".join(
        ["Controls and Their Limits", " ".join(LEFT), " ".join(RIGHT)]
    )


def test_pdf_hyphenated_line_ends_are_joined(team):
    lines = [
        "The govern-",
        "ment announced new rules for inter-",
        "national trade, said a well-known critic",
        "of the well-",
        "known kind, for 1990-",
        "2000 only.",
        "",
        "",
        "A second paragraph starts here.",
    ]
    import_file(team, "hyphens.pdf", make_pdf([lines]))
    assert newest().text == (
        "The government announced new rules for international trade, said a well-known critic "
        "of the well-known kind, for 1990-2000 only.\n\nA second paragraph starts here."
    )


def test_pdf_running_headers_and_page_numbers_are_dropped(team):
    pages = [
        ["Page one says chips are scarce."],
        ["Page two says prices fell."],
        ["Page three says rules lag."],
    ]
    import_file(team, "weekly.pdf", make_pdf(pages, header=True))
    assert newest().text == (
        "Page one says chips are scarce.\n\n"
        "Page two says prices fell.\n\n"
        "Page three says rules lag."
    )


def test_pdf_paragraph_cut_by_a_page_break_is_joined(team):
    pages = [["The ban was announced in March and its"], ["effects came within weeks."]]
    import_file(team, "cut.pdf", make_pdf(pages))
    assert newest().text == "The ban was announced in March and its effects came within weeks."


def test_scanned_pdf_without_text_layer_is_refused(team):
    failure = refusal(team, "scan.pdf", make_pdf([[]], image_only=True))
    assert failure.status == 400
    assert failure.errors == [
        (
            None,
            "scan.pdf has no text layer (it is probably a scan); OCR it first, then import it "
            "again.",
        )
    ]


def test_password_protected_pdf_is_refused_but_an_owner_lock_alone_is_read(team):
    locked = make_pdf([["Secret text."]], encrypt=("owner-pass", "user-pass"))
    failure = refusal(team, "locked.pdf", locked)
    assert failure.status == 400
    assert "locked.pdf is encrypted and needs a password to open" in failure.errors[0][1]
    restricted = make_pdf([["Readable text."]], title="Restricted", encrypt=("owner-pass", None))
    import_file(team, "restricted.pdf", restricted)
    assert (newest().title, newest().text) == ("Restricted", "Readable text.")


def test_damaged_pdf_is_refused_with_its_name(team):
    data = make_pdf([["Text."]])
    failure = refusal(team, "cut.pdf", data[: len(data) // 3])
    assert failure.status == 400
    assert failure.errors[0][1].startswith("cut.pdf cannot be read as a PDF")
    assert refusal(team, "x.pdf", b"%PDF-1.7\n%garbage\n").status == 400


def test_pdf_over_the_article_limit_says_the_limit_in_characters(team, settings):
    settings.ARTICLE_MAX_CHARS = 40
    failure = refusal(team, "long.pdf", make_pdf([["A sentence of more than forty characters."]]))
    assert failure.status == 413
    assert failure.errors == [
        (None, "The text of long.pdf has 41 characters; an article holds at most 40 characters.")
    ]


# --- Word ------------------------------------------------------------------------------------


def test_docx_paragraphs_headings_lists_and_tables_in_order(team):
    data = make_docx(
        rich_docx,
        title="Core Title",
        author="Grace Author",
        created=datetime(2023, 11, 2, 8, 30),
        language="en-US",
    )
    import_file(team, "essay.docx", data)
    article = newest()
    assert (article.title, article.author, article.published_on, article.language) == (
        "Core Title",
        "Grace Author",
        date(2023, 11, 2),
        "en-US",
    )
    assert article.text == (
        "Chips Are Scarce\n\n"
        "Export controls were meant to slow rivals down.\n\n"
        "What changed\n\n"
        "Three things:\n\n"
        "• smuggling routes adapted\n"
        "• prices fell\n\n"
        "Year | Price\n"
        "2024 | $30\n\n"
        "Enforcement needs partners.\n"
        "A second line."
    )
    audit = AuditEvent.objects.filter(verb="corpus.import").latest("id")
    assert audit.after["format"] == "docx"


def test_docx_title_from_title_style_then_heading_then_file_name(team):
    import_file(team, "a.docx", make_docx(rich_docx))
    article = newest()
    assert article.title == "Chips Are Scarce"
    assert article.author == "" and article.published_on is None  # python-docx's template

    def headed(document):
        document.add_paragraph("An opening line.")
        document.add_heading("The Heading One", level=1)

    import_file(team, "b.docx", make_docx(headed))
    assert newest().title == "The Heading One"
    import_file(team, "folder/plain-notes.docx", make_docx(lambda d: d.add_paragraph("Text.")))
    assert newest().title == "plain-notes"


def test_docx_tracked_deletions_are_left_out_and_insertions_kept(team):
    def tracked(document):
        paragraph = document.add_paragraph("Prices ")
        deleted = OxmlElement("w:del")
        run = OxmlElement("w:r")
        gone = OxmlElement("w:delText")
        gone.text = "rose "
        run.append(gone)
        deleted.append(run)
        inserted = OxmlElement("w:ins")
        run = OxmlElement("w:r")
        kept = OxmlElement("w:t")
        kept.text = "fell "
        kept.set(qn("xml:space"), "preserve")
        run.append(kept)
        inserted.append(run)
        paragraph._p.append(deleted)
        paragraph._p.append(inserted)
        paragraph.add_run("sharply.")

    import_file(team, "tracked.docx", make_docx(tracked))
    assert newest().text == "Prices fell sharply."


def test_empty_docx_is_refused(team):
    failure = refusal(team, "empty.docx", make_docx(lambda d: None))
    assert failure.status == 400 and failure.errors == [(None, "empty.docx holds no text.")]


# --- Recognised by content -------------------------------------------------------------------


def test_a_pdf_or_a_docx_renamed_txt_is_read_as_what_it_is(team):
    import_file(team, "renamed.txt", make_pdf([["Body."]], title="Really a PDF"))
    assert (newest().title, newest().text) == ("Really a PDF", "Body.")
    import_file(team, "renamed.txt", make_docx(rich_docx, title="Really Word"))
    assert newest().title == "Really Word"
    assert newest().text.startswith("Chips Are Scarce\n\nExport controls")


@pytest.mark.parametrize(
    ("name", "data", "looks_like"),
    [
        ("random.txt", random.Random(7).randbytes(4096), "binary data"),
        ("photo.pdf", png_bytes(), "a PNG image"),
        ("old.doc", legacy_doc_bytes(), "a legacy Word .doc file (save it as .docx)"),
        (
            "essay.docx",
            zip_bytes(
                {
                    "mimetype": b"application/vnd.oasis.opendocument.text",
                    "content.xml": b"<x/>",
                }
            ),
            "an OpenDocument text (.odt; save it as .docx)",
        ),
        (
            "bundle.bin",
            zip_bytes({"images/a.png": png_bytes()}),
            "a ZIP archive that is neither a brat export (.txt and .ann files) nor a Word file",
        ),
        ("book.xlsx", zip_bytes({"xl/workbook.xml": b"<x/>"}), "an Excel workbook (.xlsx)"),
        ("note.txt", "Plain text".encode("utf-16"), "text in UTF-16 (save it as UTF-8)"),
        ("letter.txt", b"{\\rtf1\\ansi Hello}", "an RTF document (save it as .docx or PDF)"),
        ("data.jsonl", b'[{"title": "a", "text": "b"}]', "a JSON array"),
        ("data.json", b'{\n  "title": "a",\n  "text": "b"\n}\n', "a JSON document spread over"),
    ],
)
def test_files_the_import_cannot_read_get_415_naming_what_they_look_like(
    team, name, data, looks_like
):
    failure = refusal(team, name, data)
    assert failure.status == 415
    assert str(failure) == "The file is not of a kind the import reads; nothing was imported."
    (reason,) = [reason for _line, reason in failure.errors]
    assert reason.startswith(f"{name} looks like {looks_like}")
    assert reason.endswith("the import reads " + sniff.SUPPORTED + ".")


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("a.md", b"# Heading\n\nText.", "markdown"),
        ("a.txt", b"# Heading\n\nText.", "text"),
        ("a", b"\xef\xbb\xbfText with a byte-order mark.", "text"),
        ("page.txt", b"<!DOCTYPE html><html><title>T</title><p>x</p></html>", "html"),
        ("fragment.html", b"<p>Only a paragraph.</p>", "html"),
        ("lines.txt", b'{"title": "t", "text": "x"}\n', "jsonl"),
        ("bad.jsonl", b"not json at all\n", "jsonl"),
        ("notes.txt", b"[1] A reference, then text.", "text"),
        ("brat.bin", zip_bytes({"essay01.txt": b"Text.", "essay01.ann": b""}), "zip"),
        ("a.zip", b"PK but damaged", "zip"),
        ("word.bin", make_docx(rich_docx), "docx"),
        ("doc.bin", make_pdf([["x"]]), "pdf"),
        ("latin1.txt", b"caf\xe9 au lait", "text"),
        ("empty.txt", b"", "text"),
    ],
)
def test_detect_reads_the_content_and_the_hint_only_breaks_ties(name, data, kind):
    stream = io.BytesIO(data)
    assert sniff.detect(stream, hint=imports.kind_for_name(name)) == kind
    assert stream.tell() == 0


# --- Through the API -------------------------------------------------------------------------


def _owner_client(team) -> Client:
    client = Client()
    client.force_login(team.owner)
    return client


@pytest.mark.parametrize(
    ("content_type", "data", "title"),
    [
        ("application/pdf", make_pdf([["Body."]], title="Sent as PDF"), "Sent as PDF"),
        ("text/plain", make_pdf([["Body."]], title="PDF as text"), "PDF as text"),
        (DOCX_TYPE, make_docx(rich_docx, title="Sent as Word"), "Sent as Word"),
        ("application/octet-stream", make_docx(rich_docx), "Chips Are Scarce"),
    ],
)
def test_api_raw_body_is_read_by_its_content(team, content_type, data, title):
    response = _owner_client(team).post(URL, data=data, content_type=content_type)
    assert response.status_code == 201, response.json()
    assert response.json()["articles"] == 1
    assert newest().title == title


def test_api_raw_body_title_parameter_wins(team):
    data = make_pdf([["Body."]], title="Metadata title")
    response = _owner_client(team).post(
        URL + "?title=From%20the%20query", data=data, content_type="application/pdf"
    )
    assert response.status_code == 201
    assert newest().title == "From the query"


def test_api_multipart_reads_the_content_not_the_name(team):
    client = _owner_client(team)
    upload = SimpleUploadedFile("notes.txt", make_pdf([["Body."]], title="A PDF in disguise"))
    response = client.post(URL, {"file": upload})
    assert response.status_code == 201
    assert newest().title == "A PDF in disguise"
    word = SimpleUploadedFile("essay.bin", make_docx(rich_docx), content_type="text/plain")
    assert client.post(URL, {"file": word}).status_code == 201
    assert newest().text.startswith("Chips Are Scarce\n\nExport controls")
    picture = SimpleUploadedFile("essay.docx", png_bytes())
    response = client.post(URL, {"file": picture})
    assert response.status_code == 415
    body = response.json()
    assert body["detail"] == "The file is not of a kind the import reads; nothing was imported."
    assert body["errors"]["file"][0].startswith("essay.docx looks like a PNG image;")


def test_api_refusals_name_the_problem(team):
    client = _owner_client(team)
    response = client.post(URL, data=png_bytes(), content_type="application/octet-stream")
    assert response.status_code == 415
    assert response.json()["errors"]["file"][0].startswith("The file looks like a PNG image;")
    response = client.post(URL, data=png_bytes(), content_type="image/png")
    assert response.status_code == 415
    assert "application/pdf" in response.json()["detail"]
    scan = make_pdf([[]], image_only=True)
    response = client.post(URL, data=scan, content_type="application/pdf")
    assert response.status_code == 400
    assert (
        "has no text layer (it is probably a scan); OCR it first"
        in (response.json()["errors"]["file"][0])
    )
    assert Article.objects.filter(corpus=team.corpus).count() == 1


# --- Through the page ------------------------------------------------------------------------


def _page_upload(team, files: list[tuple[str, bytes]], **fields):
    uploads = [SimpleUploadedFile(name, data) for name, data in files]
    return _owner_client(team).post(
        reverse("corpus-import", args=["chips"]), {"files": uploads, **fields}
    )


def test_page_imports_pdf_and_word_together(team):
    response = _page_upload(
        team,
        [
            ("brief.pdf", make_pdf([["Body."]], title="The PDF brief")),
            ("essay.docx", make_docx(rich_docx)),
        ],
    )
    assert response.status_code == 302
    titles = set(Article.objects.filter(corpus=team.corpus).values_list("title", flat=True))
    assert {"The PDF brief", "Chips Are Scarce"} <= titles


def test_page_is_all_or_nothing_and_says_what_a_bad_file_looks_like(team):
    before = Article.objects.count()
    response = _page_upload(
        team,
        [
            ("brief.pdf", make_pdf([["Body."]], title="The PDF brief")),
            ("old.doc", legacy_doc_bytes()),
            ("scan.pdf", make_pdf([[]], image_only=True)),
        ],
    )
    html = response.content.decode()
    assert response.status_code == 415
    assert "Nothing was imported." in html
    assert "<strong>old.doc</strong>: old.doc looks like a legacy Word .doc file" in html
    assert "scan.pdf has no text layer" in html
    assert Article.objects.count() == before


def test_page_article_name_field_titles_one_file(team):
    response = _page_upload(
        team,
        [
            ("brief.pdf", make_pdf([["Body."]], title="Metadata")),
        ],
        title="Named on the page",
    )
    assert response.status_code == 302
    assert newest().title == "Named on the page"
    before = Article.objects.count()
    response = _page_upload(
        team, [("a.txt", b"One."), ("b.txt", b"Two.")], title="One name for two files"
    )
    assert response.status_code == 400
    assert "An article name is for one file" in response.content.decode()
    assert Article.objects.count() == before


def test_page_offers_documents_and_says_how_titles_are_chosen(team):
    html = _owner_client(team).get(reverse("corpus", args=["chips"])).content.decode()
    assert 'accept=".jsonl,.ndjson,.zip,.txt,.md,.markdown,.html,.htm,.pdf,.docx"' in html
    assert "a .txt file by its file name (without .txt)" in html
    assert "a scan needs OCR first" in html
    assert 'name="title" maxlength="500" aria-describedby="import-files-help"' in html
