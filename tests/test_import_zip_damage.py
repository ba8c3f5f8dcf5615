"""A brat zip with a damaged entry is refused with 400 naming the entry, through the API and the
page alike, never 500, and nothing is written. The damage is done by hand on real zips made
with zipfile: sizes edited in the headers, a truncated or garbled deflate stream, a bad CRC, a
stream that inflates far past the size its header declares."""

from __future__ import annotations

import io
import random
import struct
import tracemalloc
import zipfile

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from articles import imports

API = "/api/v1/corpora/chips/import"
TEXT = "Schools should teach coding. It builds skills. Some disagree, citing cost. " * 20
ANN = "T1\tClaim 0 27\tSchools should teach coding\nA1\tStance T1 For\n"
MEMBER = "essays/e1.txt"

# Offsets of fields in a central directory entry and in a local file header (APPNOTE 4.3.7/12).
CENTRAL = {"method": 10, "crc": 16, "compressed": 20, "size": 24, "name_length": 28, "local": 42}
LOCAL = {"method": 8, "crc": 14, "compressed": 18, "size": 22, "name_length": 26}


def snapshot() -> dict[str, int]:
    return {
        model.__name__: model._base_manager.count()
        for model in apps.get_app_config("articles").get_models()
    }


def real_zip(**options) -> bytearray:
    """Two essays and a config file; e1.txt first, so damage to it shifts the others."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, **options) as archive:
        archive.writestr(MEMBER, TEXT)
        archive.writestr("essays/e1.ann", ANN)
        archive.writestr("essays/e2.txt", "A second essay.")
        archive.writestr("annotation.conf", "[entities]\nClaim\n")
    return bytearray(buffer.getvalue())


def _central_entries(data: bytearray) -> dict[str, int]:
    """Each entry's name and the position of its central directory record."""
    entries, position = {}, data.index(b"PK\x01\x02")
    while data[position : position + 4] == b"PK\x01\x02":
        name_length, extra, comment = struct.unpack_from("<HHH", data, position + 28)
        entries[data[position + 46 : position + 46 + name_length].decode()] = position
        position += 46 + name_length + extra + comment
    return entries


def _local(data: bytearray, name: str) -> int:
    return struct.unpack_from("<I", data, _central_entries(data)[name] + CENTRAL["local"])[0]


def _payload(data: bytearray, name: str) -> tuple[int, int]:
    """(position, length) of the entry's compressed bytes."""
    local = _local(data, name)
    name_length, extra = struct.unpack_from("<HH", data, local + LOCAL["name_length"])
    compressed = struct.unpack_from("<I", data, local + LOCAL["compressed"])[0]
    return local + 30 + name_length + extra, compressed


def field(data: bytearray, name: str, key: str) -> int:
    return struct.unpack_from("<I", data, _central_entries(data)[name] + CENTRAL[key])[0]


def edit(data: bytearray, name: str, key: str, value: int, *, local: bool = True) -> bytearray:
    """Write a 32-bit field of the entry in the central directory (and its local header)."""
    struct.pack_into("<I", data, _central_entries(data)[name] + CENTRAL[key], value)
    if local:
        struct.pack_into("<I", data, _local(data, name) + LOCAL[key], value)
    return data


def cut(data: bytearray, name: str, keep: int) -> bytearray:
    """Keep only the first `keep` compressed bytes of the entry, moving everything after it so
    that the archive's directory still points at the right places."""
    start, length = _payload(data, name)
    removed = length - keep
    del data[start + keep : start + length]
    edit(data, name, "compressed", keep)
    for position in _central_entries(data).values():
        offset = struct.unpack_from("<I", data, position + CENTRAL["local"])[0]
        if offset > start:
            struct.pack_into("<I", data, position + CENTRAL["local"], offset - removed)
    end = data.rindex(b"PK\x05\x06")
    directory = struct.unpack_from("<I", data, end + 16)[0]
    struct.pack_into("<I", data, end + 16, directory - removed)
    return data


def garble(data: bytearray, name: str) -> bytearray:
    """Make the deflate stream's first block header invalid (block type 3 is reserved)."""
    start, _ = _payload(data, name)
    data[start] = 0x07
    return data


def inflating_past_its_size() -> bytearray:
    """An entry whose stream inflates to 64 MiB while its headers say 20 bytes: the ratio
    check, which reads the declared size, cannot see it; only a bounded read can."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(MEMBER, "w") as stream:
            for _ in range(64):
                stream.write(b"x" * (1024 * 1024))
        archive.writestr("essays/e2.txt", "A second essay.")
    return edit(bytearray(buffer.getvalue()), MEMBER, "size", 20)


DAMAGE = {
    "bad CRC": lambda: edit(real_zip(), MEMBER, "crc", 0xDEADBEEF),
    "bad CRC in the directory only": lambda: edit(real_zip(), MEMBER, "crc", 1, local=False),
    "size edited larger": lambda: edit(real_zip(), MEMBER, "size", len(TEXT) + 100),
    "size edited smaller": lambda: edit(real_zip(), MEMBER, "size", len(TEXT) - 100),
    "size edited to zero": lambda: edit(real_zip(), MEMBER, "size", 0),
    "compressed size edited smaller": lambda: edit(real_zip(), MEMBER, "compressed", 20),
    "truncated deflate stream": lambda: cut(real_zip(), MEMBER, 25),
    "garbled deflate stream": lambda: garble(real_zip(), MEMBER),
    "stream inflating past its declared size": inflating_past_its_size,
}


@pytest.fixture
def owner(team, client):
    client.force_login(team.owner)
    return client


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_entry_is_400_naming_it_through_the_api(team, owner, damage):
    data = bytes(DAMAGE[damage]())
    before = snapshot()
    response = owner.post(API, data=data, content_type="application/zip")
    assert response.status_code == 400, response.content[:500]
    reasons = response.json()["errors"]["file"]
    assert any(reason.startswith(f"{MEMBER}: the entry is damaged") for reason in reasons)
    assert "nothing was imported" in response.json()["detail"]
    assert snapshot() == before


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_entry_is_400_naming_it_through_the_page(team, owner, damage):
    upload = SimpleUploadedFile("essays.zip", bytes(DAMAGE[damage]()), "application/zip")
    before = snapshot()
    response = owner.post(reverse("corpus-import", args=["chips"]), {"files": [upload]})
    assert response.status_code == 400
    page = response.content.decode()
    assert f"{MEMBER}: the entry is damaged" in page
    assert snapshot() == before


def test_every_damaged_entry_is_listed(team):
    data = edit(real_zip(), MEMBER, "crc", 1)
    data = edit(data, "essays/e2.txt", "size", 3)
    with pytest.raises(imports.ImportFailed) as failure:
        imports.import_file(
            actor=team.owner, corpus=team.corpus, role="owner", name="a.zip", data=bytes(data)
        )
    named = [reason.split(":")[0] for _, reason in failure.value.errors]
    assert named == [MEMBER, "essays/e2.txt"]


def test_the_surgery_edits_what_it_says_and_the_untouched_zip_imports(team):
    """The baseline: the helpers read and write the headers zipfile reads, and the same zip,
    untouched, imports."""
    assert field(real_zip(), MEMBER, "size") == len(TEXT)
    edited = edit(real_zip(), MEMBER, "size", 5)
    assert zipfile.ZipFile(io.BytesIO(bytes(edited))).getinfo(MEMBER).file_size == 5
    short = cut(real_zip(), MEMBER, 25)
    assert zipfile.ZipFile(io.BytesIO(bytes(short))).getinfo(MEMBER).compress_size == 25
    assert zipfile.ZipFile(io.BytesIO(bytes(short))).read("essays/e2.txt") == b"A second essay."
    result = imports.import_file(
        actor=team.owner, corpus=team.corpus, role="owner", name="a.zip", data=bytes(real_zip())
    )
    assert (result.articles, result.claims, result.annotations) == (2, 1, 1)


def test_an_entry_is_never_inflated_past_its_declared_size(team):
    """ZipFile.read() inflates the whole stream before cutting it to the declared size; the
    import reads at most the declared size, so memory stays small whatever the stream holds."""
    data = bytes(inflating_past_its_size())
    tracemalloc.start()
    try:
        with pytest.raises(imports.ImportFailed):
            imports.import_file(
                actor=team.owner, corpus=team.corpus, role="owner", name="a.zip", data=data
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"{peak:,} bytes at the peak"


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_other_compression_methods_are_refused_by_name(team, method):
    """Python inflates bzip2 and LZMA entries without bounding a read: refused before reading."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        archive.writestr(MEMBER, TEXT)
    with pytest.raises(imports.ImportFailed) as failure:
        imports.import_file(
            actor=team.owner,
            corpus=team.corpus,
            role="owner",
            name="a.zip",
            data=buffer.getvalue(),
        )
    assert failure.value.status == 400
    (reason,) = [reason for _, reason in failure.value.errors]
    assert reason.startswith(f"{MEMBER}: compression method {method} is not supported")


def test_random_damage_is_refused_or_imported_never_a_crash(team):
    """Bytes overwritten anywhere in a real zip (and the zip cut short): every outcome is an
    import or an ImportFailed (400 or 413), and a refused import writes nothing."""
    rng = random.Random(20240611)
    base = real_zip()
    before = snapshot()
    outcomes = {"refused": 0, "imported": 0}
    for _ in range(300):
        data = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[: rng.randrange(len(data))]
        with transaction.atomic():
            try:
                imports.import_file(
                    actor=team.owner, corpus=team.corpus, role="owner", name="a.zip", data=data
                )
            except imports.ImportFailed as failure:
                assert failure.status in (400, 413) and failure.errors
                assert snapshot() == before
                outcomes["refused"] += 1
            else:
                outcomes["imported"] += 1
            transaction.set_rollback(True)  # the next round starts from the same database
    assert outcomes["refused"] > 200, outcomes
