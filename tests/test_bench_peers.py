"""bench/peers.py's pure parts: the table, the ratios, the mapping of workload.py's rows. Nothing
here installs or starts a peer."""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def peers():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("peers_under_test", BENCH / "peers.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up there
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("peers_under_test", None)
        sys.path.remove(str(BENCH))


def measured():
    return {
        "doccano": {"import_spans": 4.0, "document_2": 20.0, "trivial": 4.0, "export": 3.0},
        "Label Studio": {"import_spans": 1.2, "spans_20": 400.0, "document_1": 60.0, "export": 1.5},
        "this app, SQLite": {
            "import_spans": 0.4,
            "spans_20": 1600.0,
            "document_1": 5.0,
            "export": 0.1,
            "trivial": 2.0,
        },
        "this app, PostgreSQL": {"import_spans": 0.6, "document_1": 8.0, "trivial": None},
    }


def test_cells_by_unit(peers):
    assert peers.cell(None, "ms") == "–"
    assert peers.cell(18.84, "ms") == "18.84 ms"
    assert peers.cell(1.5, "s") == "1.50 s"
    assert peers.cell(1234.4, "spans/s") == "1,234 spans/s"
    assert peers.cell(608.2, "MB") == "+608 MB"
    assert peers.cell(-3.0, "MB") == "-3 MB"


def test_ratios_against_each_app_column(peers):
    by_label = {label: (target, values) for label, target, values in peers.ratios(measured())}
    one_document = by_label["one document: doccano's 2 requests / ours (1 request)"]
    assert one_document == (3.0, {"this app, SQLite": 4.0, "this app, PostgreSQL": 2.5})
    spans = by_label["spans in lists: ours (20 per request) / Label Studio's"][1]
    assert spans == {"this app, SQLite": 4.0, "this app, PostgreSQL": None}  # no row: no ratio
    # The fastest peer is the shortest time, whichever peer it is.
    imports = by_label["import with spans: fastest peer / ours"][1]
    assert imports["this app, SQLite"] == pytest.approx(3.0)
    assert imports["this app, PostgreSQL"] == pytest.approx(2.0)
    assert by_label["export: fastest peer / ours"][1]["this app, SQLite"] == pytest.approx(15.0)
    trivial = by_label["trivial GET: doccano / ours"][1]
    assert trivial == {"this app, SQLite": 2.0, "this app, PostgreSQL": None}


def test_ratios_without_a_peer_or_a_value(peers):
    results = {"Label Studio": {}, "this app, SQLite": {"import_spans": 0.0, "export": 1.0}}
    values = {label: v["this app, SQLite"] for label, _t, v in peers.ratios(results)}
    assert set(values.values()) == {None}


def test_every_ratio_names_a_row(peers):
    keys = {key for key, _label, _unit in peers.ROWS}
    for _label, _target, numerator, denominator in peers.RATIOS:
        assert numerator[1] in keys and denominator[1] in keys


def test_tables(peers):
    results = measured()
    text = peers.results_table(results, 1000)
    lines = text.splitlines()
    assert [c.strip() for c in lines[0].split("|")[1:-1]] == [
        "work",
        "doccano",
        "Label Studio",
        "this app, SQLite",
        "this app, PostgreSQL",
    ]
    assert "bulk import of 1,000 texts" not in text  # a row nobody measured is left out
    row = next(line for line in lines if line.startswith("| the same import"))
    assert [c.strip() for c in row.split("|")[2:-1]] == ["4.00 s", "1.20 s", "0.40 s", "0.60 s"]
    ratios = peers.ratios_table(results).splitlines()
    assert "≥ 3×" in ratios[2] and "4.00×" in ratios[2] and "2.50×" in ratios[2]
    assert ratios[3].rstrip(" |").endswith("–")


def test_app_rows_from_workload_labels(peers):
    workload_rows = [
        ["bulk import of 300 texts, until listed", 0.5, "s"],
        ["the same import with 20 spans per document", 1.5, "s"],
        ["spans through the API, 1 per request (2,000 spans)", 80.0, "spans/s"],
        ["spans through the API, 20 per request with annotations (6,000)", 700.0, "spans/s"],
        ["one document with its 20 spans (1 request, include=claims), median", 9.0, "ms"],
        ["one document with its 20 spans (2 requests), median", 15.0, "ms"],
        ["the spans of one document alone, median", 7.0, "ms"],
        ["a page of 100 documents, median", 20.0, "ms"],
        ["the corpus, with its counts, median", 6.0, "ms"],
        ["a trivial GET (a corpus's topics), median", 5.0, "ms"],
        ["export of everything (JSONL, 3.7 MB)", 0.2, "s"],
        ["server memory growth during export", 7.5, "MB"],
    ]
    assert peers.app_rows(workload_rows) == {
        "import": 0.5,
        "import_spans": 1.5,
        "spans_1": 80.0,
        "spans_20": 700.0,
        "document_1": 9.0,
        "document_2": 15.0,
        "spans_alone": 7.0,
        "page": 20.0,
        "trivial": 5.0,
        "export": 0.2,
        "export_rss": 7.5,
    }
    # Every row of the table but the peers' own has a source in workload.py.
    assert set(peers.APP_ROWS.values()) == {key for key, _label, _unit in peers.ROWS}


def test_the_export_row_is_the_median_of_its_runs(peers, tmp_path):
    """Every party's export is timed `exports` times: the row is the median, each run is in the
    notes in order (the first, a cold one, included), and the reads keep their own medians."""
    durations = iter([0.05, 0.01, 0.03])
    calls = []

    def export():
        calls.append("export")
        peers.time.sleep(next(durations))

    def read():
        calls.append("read")

    run = peers.Run([], 3, 0, 1, tmp_path, exports=3, title="Peer")
    peers.measure_reads_and_export(run, [("trivial", read)], export)
    assert calls == ["read"] * 4 + ["export"] * 3
    assert 0.03 <= run.rows["export"] < 0.05
    assert run.rows["export_rss"] == 0
    (note,) = run.notes
    runs = [
        float(x) for x in note.removeprefix("Peer: the export's runs, in order: ")[:-2].split(", ")
    ]
    assert len(runs) == 3 and runs[0] >= 0.05 and runs[1] < runs[2] < runs[0]


def test_a_note_repeated_by_each_export_is_kept_once(peers, tmp_path):
    run = peers.Run([], 3, 0, 1, tmp_path)
    for _ in range(3):
        run.note_once("Peer: the export is 1.5 MB")
    run.note_once("Peer: another")
    assert run.notes == ["Peer: the export is 1.5 MB", "Peer: another"]


def _peer(peers):
    return peers.Peer("doccano", "doccano", "1.8.4", ("doccano==1.8.4",), "doccano")


def test_a_peer_that_did_not_start_is_started_once_more_afresh(peers, tmp_path, monkeypatch):
    monkeypatch.setattr(peers.tempfile, "tempdir", str(tmp_path))
    folders, notes = [], []

    def runner(run):
        folders.append(run.folder)
        if len(folders) == 1:
            raise peers.NotUp("exited with 0: the health check timed out")
        run.rows["export"] = 1.0

    run = peers.run_peer(_peer(peers), runner, lambda folder: peers.Run([], 3, 0, 1, folder), notes)
    assert run.rows == {"export": 1.0}
    assert len(folders) == 2 and folders[0] != folders[1]
    assert not any(folder.exists() for folder in folders)  # removed, each
    assert notes == [
        "doccano 1.8.4 did not start, started again afresh: exited with 0: the health check"
        " timed out"
    ]


def test_a_peer_is_started_twice_at_most_and_a_failure_after_its_start_is_not_retried(
    peers, tmp_path, monkeypatch
):
    monkeypatch.setattr(peers.tempfile, "tempdir", str(tmp_path))
    calls, notes = [], []

    def never_up(run):
        calls.append("never")
        raise peers.NotUp("not up after 600 s")

    run = peers.run_peer(
        _peer(peers), never_up, lambda folder: peers.Run([], 3, 0, 1, folder), notes
    )
    assert calls == ["never", "never"] and run.rows == {}
    assert notes[-1] == "doccano 1.8.4 did not start, rows left out: not up after 600 s"

    def fails_later(run):
        calls.append("later")
        run.rows["import_spans"] = 4.0
        raise RuntimeError("the export answered 500")

    notes.clear()
    run = peers.run_peer(
        _peer(peers), fails_later, lambda folder: peers.Run([], 3, 0, 1, folder), notes
    )
    assert calls[2:] == ["later"] and run.rows == {"import_spans": 4.0}
    assert notes == [
        "doccano 1.8.4 failed here, rows left out: RuntimeError: the export answered 500"
    ]


def test_a_peer_process_that_exits_is_not_up(peers, tmp_path):
    processes = peers.Processes()
    log = tmp_path / "peer.log"
    log.write_text("the last line of its log\n")
    processes.start(
        [sys.executable, "-c", "pass"], env=dict(peers.os.environ), cwd=tmp_path, log=log
    )
    processes.started[-1].wait(30)
    url = f"http://127.0.0.1:{peers.free_port()}/health"
    with pytest.raises(peers.NotUp, match="exited with 0"):
        peers.wait_until_up(url, processes, log, seconds=30)
    processes.stop()
