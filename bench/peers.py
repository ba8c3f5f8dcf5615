"""Benchmark: issue 17's peers, doccano 1.8.4 and Label Studio 1.23.2, run on this machine from
PyPI and measured through their public APIs on the same generated corpus as bench/workload.py;
with `--with-app`, this app's own rows (bench/workload.py, SQLite and PostgreSQL) in the same run,
one table and the ratios the issue asks for.

    .venv/bin/python bench/peers.py --docs 300               # the two peers
    .venv/bin/python bench/peers.py --docs 300 --with-app    # + this app, one table, the ratios
    .venv/bin/python bench/peers.py --peers label-studio     # one peer

Each peer is installed on first use into a virtualenv of its own under `--cache` (default
~/.cache/argument-annotator-peers/<peer>-<version>, outside the repository) with the machine's
python3.11 and pip, and started on its default SQLite in a fresh temporary data folder, as its
docs say: doccano `init`, `createuser`, `webserver` (gunicorn, `--workers` workers) and
`task` (its celery worker, on its default broker: SQLAlchemy over the same SQLite file); Label
Studio `start --no-browser` (Django's runserver, threaded) with a user and a legacy API token.
Their processes are stopped on exit (Ctrl-C included) and their folders removed.

The work, timed from one client, one request at a time (medians of `--repeat` requests):

- bulk import of the texts until listed (doccano: file upload, import job, poll, list; Label
  Studio: the import API, then its task list shows the total);
- the same import with 20 spans per document (doccano: JSONL with labels; Label Studio: tasks
  with one annotation of 20 results each);
- creating spans through the API, the finest unit each allows: doccano one span per request
  (`--singles` of them), Label Studio one annotation of 20 results per request, one per document;
- one document with its 20 spans (doccano: the example and its spans, 2 requests; Label Studio:
  the task, whose answer holds its annotations, 1 request), the spans of one document alone, a
  page of 100 documents, a trivial GET (doccano: a project's span types, like this app's topics;
  Label Studio: the current user);
- the export of everything (doccano: the export job, polled, and its zip; Label Studio: the JSON
  export API), `--export-repeat` times one after the other, the row giving the median (each
  run's time is in the notes, the first included), and the servers' summed RSS growth meanwhile
  (every process the peer started; the peak over the runs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from workload import corpus, load_average, median_ms  # noqa: E402

BASE_PYTHON = "/root/.pyenv/versions/3.11.7/bin/python"
DEFAULT_CACHE = Path("~/.cache/argument-annotator-peers").expanduser()
PASSWORD = "bench-peers-pass-17"
ADMIN = "admin"


@dataclass(frozen=True)
class Peer:
    name: str
    title: str
    version: str
    requirements: tuple[str, ...]
    script: str  # the console script that proves the install finished

    @property
    def folder(self) -> str:
        return f"{self.name}-{self.version}"


PEERS = {
    "doccano": Peer(
        "doccano",
        "doccano",
        "1.8.4",
        # doccano's own pins stop short: the newest marshmallow (4) breaks its environs 9.5 at
        # import, and numpy 2 breaks its pandas 1.5 wheels ("numpy.dtype size changed").
        ("doccano==1.8.4", "marshmallow<3.24", "numpy<2"),
        "doccano",
    ),
    "label-studio": Peer(
        "label-studio",
        "Label Studio",
        "1.23.2",
        # Its pins stop short too: sentry-sdk 3 refuses the options it starts Sentry with
        # ("Unknown option 'send_default_pii'"), and it exits at start.
        ("label-studio==1.23.2", "sentry-sdk<3"),
        "label-studio",
    ),
}


# --- The table ----------------------------------------------------------------------------------

# (key, label, unit); `{docs}` is filled with the corpus size.
ROWS: list[tuple[str, str, str]] = [
    ("import", "bulk import of {docs} texts, until listed", "s"),
    ("import_spans", "the same import with 20 spans per document", "s"),
    ("spans_1", "creating spans through the API, 1 per request", "spans/s"),
    ("spans_20", "creating spans through the API, 20 per request", "spans/s"),
    ("document_1", "one document with its 20 spans, 1 request, median", "ms"),
    ("document_2", "one document with its 20 spans, 2 requests, median", "ms"),
    ("spans_alone", "the spans of one document alone, median", "ms"),
    ("page", "a page of 100 documents, median", "ms"),
    ("trivial", "a trivial GET, median", "ms"),
    ("export", "export of everything", "s"),
    ("export_rss", "server memory growth during export", "MB"),
]

# The issue's ratios: (label, target, numerator, denominator); a side is (column or "fastest
# peer", row key); each is computed for every column of this app.
RATIOS: list[tuple[str, float, tuple[str, str], tuple[str, str]]] = [
    (
        "one document: doccano's 2 requests / ours (1 request)",
        3.0,
        ("doccano", "document_2"),
        ("app", "document_1"),
    ),
    (
        "spans in lists: ours (20 per request) / Label Studio's",
        3.0,
        ("app", "spans_20"),
        ("Label Studio", "spans_20"),
    ),
    (
        "import with spans: fastest peer / ours",
        3.0,
        ("fastest peer", "import_spans"),
        ("app", "import_spans"),
    ),
    ("export: fastest peer / ours", 10.0, ("fastest peer", "export"), ("app", "export")),
    ("trivial GET: doccano / ours", 1.0, ("doccano", "trivial"), ("app", "trivial")),
]

Results = dict[str, dict[str, float | None]]


def cell(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "spans/s":
        return f"{value:,.0f} spans/s"
    if unit == "MB":
        return f"{value:+,.0f} MB"
    return f"{value:,.2f} {unit}"


def results_table(results: Results, docs: int) -> str:
    columns = list(results)
    rows = []
    for key, label, unit in ROWS:
        values = [results[c].get(key) for c in columns]
        if all(v is None for v in values):
            continue
        rows.append([label.format(docs=f"{docs:,}"), *(cell(v, unit) for v in values)])
    return harness.table(["work", *columns], rows)


def _side(results: Results, app_column: str, side: tuple[str, str]) -> float | None:
    column, key = side
    if column == "app":
        return results[app_column].get(key)
    if column == "fastest peer":  # the shortest time among the peers that have the row
        times = [results[p][key] for p in peer_columns(results) if results[p].get(key)]
        return min(times) if times else None  # type: ignore[type-var]
    return results[column].get(key) if column in results else None


def peer_columns(results: Results) -> list[str]:
    titles = {peer.title for peer in PEERS.values()}
    return [c for c in results if c in titles]


def app_columns(results: Results) -> list[str]:
    return [c for c in results if c.startswith("this app")]


def ratios(results: Results) -> list[tuple[str, float, dict[str, float | None]]]:
    """Each ratio of the issue for every column of this app (None when a side is missing)."""
    out = []
    for label, target, numerator, denominator in RATIOS:
        by_column: dict[str, float | None] = {}
        for column in app_columns(results):
            top = _side(results, column, numerator)
            bottom = _side(results, column, denominator)
            by_column[column] = top / bottom if top is not None and bottom else None
        out.append((label, target, by_column))
    return out


def ratios_table(results: Results) -> str:
    columns = app_columns(results)
    rows = []
    for label, target, by_column in ratios(results):
        cells = []
        for column in columns:
            value = by_column[column]
            cells.append("–" if value is None else f"{value:.2f}×")
        rows.append([label, f"≥ {target:g}×", *cells])
    return harness.table(["ratio (higher is better for us)", "target", *columns], rows)


# --- Installing and running a peer --------------------------------------------------------------


def base_python() -> str:
    return BASE_PYTHON if Path(BASE_PYTHON).exists() else shutil.which("python3.11") or "python3"


def install(peer: Peer, cache: Path) -> Path:
    """The peer's virtualenv, created and filled from PyPI on first use; raises with pip's words."""
    venv = cache / peer.folder
    done = venv / ".installed"
    wanted = " ".join(peer.requirements) + "\n"
    if done.exists() and done.read_text() == wanted:
        return venv
    cache.mkdir(parents=True, exist_ok=True)
    if done.exists():  # installed with other requirements: pip brings the same venv up to date
        print(f"updating {peer.title} {peer.version} in {venv} ({wanted.strip()})", flush=True)
        done.unlink()
    else:
        print(f"installing {peer.title} {peer.version} into {venv} (first use)", flush=True)
        subprocess.run([base_python(), "-m", "venv", "--clear", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *peer.requirements],
        capture_output=True,
        text=True,
    )
    if pip.returncode != 0 or not (venv / "bin" / peer.script).exists():
        words = [x for x in pip.stderr.splitlines() if not x.startswith("WARNING: Location")]
        raise RuntimeError(f"pip install {' '.join(peer.requirements)}: " + "\n".join(words[-15:]))
    done.write_text(wanted)
    return venv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Processes started in sessions of their own, each stopped with its whole group on exit."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []

    def start(self, args: list[str], *, env: dict[str, str], cwd: Path, log: Path):
        with log.open("ab") as out:
            process = subprocess.Popen(
                args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started.append(process)
        return process

    def pids(self) -> list[int]:
        """Every live process the started ones became (gunicorn and celery fork workers)."""
        roots = {p.pid for p in self.started}
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
        found, todo = [], list(roots)
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += children.get(pid, [])
        return found

    def stop(self) -> None:
        for process in self.started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the group's stragglers too
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
        self.started.clear()


def run_peer(
    peer: Peer,
    runner: Callable[[Run], None],
    make_run: Callable[[Path], Run],
    notes: list[str],
    *,
    keep: bool = False,
) -> Run:
    """One peer's rows (`runner` on a `Run` in a new folder); a failure is noted and the rows
    measured before it are kept. A peer that did not start (doccano's celery health check has
    timed out once in a while) is started once more, afresh."""
    for attempt in (1, 2):
        folder = Path(tempfile.mkdtemp(prefix=f"aa-peer-{peer.name}-"))
        run = make_run(folder)
        again = False
        try:
            runner(run)
        except NotUp as error:
            again = attempt == 1 and not run.rows
            notes.append(
                f"{peer.title} {peer.version} did not start"
                + (", started again afresh" if again else ", rows left out")
                + f": {error}"
            )
            print(notes[-1], flush=True)
        except Exception as error:  # noqa: BLE001 (any failure is reported, and the run goes on)
            notes.append(
                f"{peer.title} {peer.version} failed here, rows left out: "
                f"{type(error).__name__}: {error}"
            )
            print(notes[-1], flush=True)
        finally:
            run.processes.stop()
            if keep:
                print(f"{peer.title}'s data folder kept: {folder}")
            else:
                shutil.rmtree(folder, ignore_errors=True)
        if not again:
            break
    return run


class NotUp(RuntimeError):
    """A peer's server did not come up."""


def wait_until_up(url: str, processes: Processes, log: Path, seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for process in processes.started:
            if process.poll() is not None:
                raise NotUp(f"exited with {process.returncode}: {tail(log)}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=5).status_code == 200:
                return
        time.sleep(1)
    raise NotUp(f"not up after {seconds:.0f} s: {tail(log)}")


def tail(log: Path, lines: int = 12) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def run_logged(args: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> None:
    with log.open("ab") as out:
        done = subprocess.run(args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[1:3])} exited with {done.returncode}: {tail(log)}")


class PeakRss(threading.Thread):
    """Summed RSS (KiB) of every process of the peer, sampled every 20 ms until stopped."""

    def __init__(self, processes: Processes):
        super().__init__(daemon=True)
        self.processes = processes
        self.peak = self.now()
        self.running = True

    def now(self) -> int:
        total = 0
        for pid in self.processes.pids():
            with contextlib.suppress(OSError, ValueError, IndexError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.now())
            time.sleep(0.02)

    def stop(self) -> int:
        self.running = False
        self.join()
        return self.peak


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def check(response: requests.Response, *codes: int) -> requests.Response:
    if response.status_code not in (codes or (200,)):
        raise RuntimeError(
            f"{response.request.method} {response.url}: {response.status_code} "
            f"{response.text[:300]}"
        )
    return response


Documents = list[tuple[str, str, list[tuple[int, int]]]]


@dataclass
class Run:
    documents: Documents
    repeat: int
    singles: int
    workers: int
    folder: Path
    exports: int = 3
    title: str = ""
    processes: Processes = field(default_factory=Processes)
    rows: dict[str, float | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def note_once(self, note: str) -> None:
        """A note that each of the repeated exports would otherwise add again."""
        if note not in self.notes:
            self.notes.append(note)


# --- doccano -------------------------------------------------------------------------------------


def doccano(venv: Path, run: Run) -> None:
    env = dict(os.environ, DOCCANO_HOME=str(run.folder), PYTHONUNBUFFERED="1")
    log = run.folder / "doccano.log"
    doccano_bin = str(venv / "bin" / "doccano")
    run_logged([doccano_bin, "init"], env=env, cwd=run.folder, log=log)
    run_logged(
        [doccano_bin, "createuser", "--username", ADMIN, "--password", PASSWORD],
        env=env,
        cwd=run.folder,
        log=log,
    )
    port = free_port()
    args = [doccano_bin, "webserver", "--port", str(port), "--workers", str(run.workers)]
    run.processes.start(args, env=env, cwd=run.folder, log=log)
    run.processes.start([doccano_bin, "task"], env=env, cwd=run.folder, log=log)
    base = f"http://127.0.0.1:{port}/v1"
    wait_until_up(f"{base}/health/", run.processes, log)  # the celery check included

    http = requests.Session()
    login = check(http.post(f"{base}/auth/login/", json={"username": ADMIN, "password": PASSWORD}))
    http.cookies.clear()  # the session cookie would make every write need a CSRF token
    http.headers["Authorization"] = f"Token {login.json()['key']}"

    def project(name: str) -> tuple[int, int]:
        created = http.post(
            f"{base}/projects",
            json={
                "name": name,
                "description": name,
                "guideline": "",
                "project_type": "SequenceLabeling",
                "resourcetype": "SequenceLabelingProject",
                "allow_overlapping": True,
            },
        )
        project_id = check(created, 201).json()["id"]
        label = http.post(
            f"{base}/projects/{project_id}/span-types",
            json={"text": "claim", "background_color": "#209cee", "text_color": "#ffffff"},
        )
        return project_id, check(label, 201).json()["id"]

    def wait_task(task_id: str) -> object:
        while True:
            status = check(http.get(f"{base}/tasks/status/{task_id}", timeout=60)).json()
            if status["ready"]:
                if status["error"]:
                    raise RuntimeError(f"doccano job failed: {status['error']}")
                return status["result"]
            time.sleep(0.1)

    def import_until_listed(project_id: int, body: bytes) -> None:
        upload = http.post(
            f"{base}/fp/process/",
            files={"filepond": ("documents.jsonl", body, "application/octet-stream")},
            timeout=600,
        )
        started = http.post(
            f"{base}/projects/{project_id}/upload",
            json={
                "uploadIds": [check(upload).text],
                "format": "JSONL",
                "task": "SequenceLabeling",
                "column_data": "text",
                "column_label": "label",
            },
        )
        result = wait_task(check(started).json()["task_id"])
        # Texts without labels get a warning per line ("Column label not found"), and are imported.
        errors = result.get("error", []) if isinstance(result, dict) else []
        errors = [e for e in errors if "Column label not found" not in e.get("message", "")]
        listed = http.get(f"{base}/projects/{project_id}/examples", params={"limit": 1})
        if errors or check(listed).json()["count"] != len(run.documents):
            raise RuntimeError(f"doccano listed {listed.json()['count']} examples: {errors[:3]}")

    def jsonl(spans: bool) -> bytes:
        lines = []
        for title, text, chosen in run.documents:
            line: dict = {"text": text, "title": title}
            if spans:
                line["label"] = [[s, e, "claim"] for s, e in chosen]
            lines.append(json.dumps(line, ensure_ascii=False))
        return "\n".join(lines).encode()

    plain, _ = project("plain")
    with_spans, _ = project("spans")
    api, label = project("api")
    run.rows["import"] = timed(lambda: import_until_listed(plain, jsonl(False)))
    run.rows["import_spans"] = timed(lambda: import_until_listed(with_spans, jsonl(True)))

    import_until_listed(api, jsonl(False))
    examples = examples_of(http, f"{base}/projects/{api}/examples")
    plan = [(examples[i], s, e) for i, (_, _, c) in enumerate(run.documents) for s, e in c]
    singles = plan[: run.singles]
    started = time.perf_counter()
    for example, start, end in singles:
        check(
            http.post(
                f"{base}/projects/{api}/examples/{example}/spans",
                json={"start_offset": start, "end_offset": end, "label": label},
                timeout=60,
            ),
            201,
        )
    run.rows["spans_1"] = len(singles) / (time.perf_counter() - started)
    run.notes.append(f"doccano: {len(singles):,} spans posted one per request")

    ids = examples_of(http, f"{base}/projects/{with_spans}/examples")
    rng = random.Random(5)
    project_base = f"{base}/projects/{with_spans}"
    first = check(http.get(f"{project_base}/examples/{ids[0]}/spans")).json()
    if len(first) != len(run.documents[0][2]):
        raise RuntimeError(f"doccano imported {len(first)} spans on the first example")

    def get(url: str) -> None:
        check(http.get(url, timeout=60))

    def document() -> None:
        example = rng.choice(ids)
        get(f"{project_base}/examples/{example}")
        get(f"{project_base}/examples/{example}/spans")

    reads: list[tuple[str, Callable[[], None]]] = [
        ("document_2", document),
        ("spans_alone", lambda: get(f"{project_base}/examples/{rng.choice(ids)}/spans")),
        ("page", lambda: get(f"{project_base}/examples?limit=100&offset=0")),
        ("trivial", lambda: get(f"{project_base}/span-types")),
    ]

    def export() -> None:
        started = http.post(
            f"{project_base}/download", json={"format": "JSONL", "exportApproved": False}
        )
        task_id = check(started).json()["task_id"]
        wait_task(task_id)
        with http.get(
            f"{project_base}/download", params={"taskId": task_id}, stream=True, timeout=600
        ) as response:
            check(response)
            size = sum(len(chunk) for chunk in response.iter_content(256 * 1024))
        run.note_once(f"doccano: the export is a zip of {size / 1e6:.1f} MB (JSONL inside)")

    measure_reads_and_export(run, reads, export)


def measure_reads_and_export(
    run: Run, reads: list[tuple[str, Callable[[], None]]], export: Callable[[], None]
) -> None:
    """Each read's median (after one warm call), then the export's median over `run.exports`
    runs (one export is one sample: a single run moved by 30 % between runs of the same code) and
    the peak growth of the peer's processes' summed RSS while they run."""
    for key, call in reads:
        call()  # warm
        run.rows[key] = median_ms(call, run.repeat)
    sampler = PeakRss(run.processes)
    before = sampler.peak
    sampler.start()
    seconds = [timed(export) for _ in range(run.exports)]
    run.rows["export"] = statistics.median(seconds)
    run.rows["export_rss"] = (sampler.stop() - before) / 1024
    each = ", ".join(f"{x:.2f}" for x in seconds)
    run.notes.append(f"{run.title}: the export's runs, in order: {each} s")


def examples_of(http: requests.Session, url: str) -> list[int]:
    ids: list[int] = []
    next_url: str | None = f"{url}?limit=500&offset=0"
    while next_url:
        page = check(http.get(next_url, timeout=60)).json()
        ids += [e["id"] for e in page["results"]]
        next_url = page["next"]
    return ids


# --- Label Studio --------------------------------------------------------------------------------

LABEL_CONFIG = (
    '<View><Labels name="label" toName="text"><Label value="claim"/></Labels>'
    '<Text name="text" value="$text"/></View>'
)


def label_studio(venv: Path, run: Run) -> None:
    token = secrets.token_hex(20)
    port = free_port()
    env = dict(
        os.environ,
        LABEL_STUDIO_BASE_DATA_DIR=str(run.folder),
        LATEST_VERSION_CHECK="false",  # no call to PyPI at each start
        PYTHONUNBUFFERED="1",
    )
    log = run.folder / "label-studio.log"
    args = [str(venv / "bin" / "label-studio"), "start", "--no-browser"]
    args += ["--port", str(port), "--internal-host", "127.0.0.1", "--data-dir", str(run.folder)]
    args += ["--username", "bench@example.com", "--password", PASSWORD]
    args += ["--user-token", token, "--enable-legacy-api-token"]
    run.processes.start(args, env=env, cwd=run.folder, log=log)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}/health", run.processes, log)
    http = requests.Session()
    http.headers["Authorization"] = f"Token {token}"

    def project(name: str) -> int:
        created = http.post(
            f"{base}/api/projects", json={"title": name, "label_config": LABEL_CONFIG}
        )
        return check(created, 201).json()["id"]

    def results(text: str, chosen: list[tuple[int, int]]) -> list[dict]:
        return [
            {
                "id": f"s{i}",
                "from_name": "label",
                "to_name": "text",
                "type": "labels",
                "value": {"start": s, "end": e, "text": text[s:e], "labels": ["claim"]},
            }
            for i, (s, e) in enumerate(chosen)
        ]

    def tasks(spans: bool) -> list[dict]:
        out = []
        for title, text, chosen in run.documents:
            task: dict = {"data": {"text": text, "title": title}}
            if spans:
                task["annotations"] = [{"result": results(text, chosen)}]
            out.append(task)
        return out

    def import_until_listed(project_id: int, body: list[dict]) -> None:
        check(http.post(f"{base}/api/projects/{project_id}/import", json=body, timeout=600), 201)
        listed = http.get(f"{base}/api/tasks", params={"project": project_id, "page_size": 1})
        if check(listed).json()["total"] != len(run.documents):
            raise RuntimeError(f"Label Studio listed {listed.json()['total']} tasks")

    plain, with_spans, api = project("plain"), project("spans"), project("api")
    run.rows["import"] = timed(lambda: import_until_listed(plain, tasks(False)))
    run.rows["import_spans"] = timed(lambda: import_until_listed(with_spans, tasks(True)))

    import_until_listed(api, tasks(False))
    ids = task_ids(http, base, api)
    started = time.perf_counter()
    spans = 0
    for task_id, (_, text, chosen) in zip(ids, run.documents, strict=True):
        body = {"result": results(text, chosen)}
        check(http.post(f"{base}/api/tasks/{task_id}/annotations/", json=body, timeout=60), 201)
        spans += len(chosen)
    run.rows["spans_20"] = spans / (time.perf_counter() - started)
    run.notes.append(f"Label Studio: {spans:,} spans posted 20 per request (one annotation each)")

    ids = task_ids(http, base, with_spans)
    rng = random.Random(5)
    first = check(http.get(f"{base}/api/tasks/{ids[0]}/annotations/")).json()
    if [len(a["result"]) for a in first] != [len(run.documents[0][2])]:
        raise RuntimeError("Label Studio did not import the first task's 20 spans")

    def get(url: str) -> None:
        check(http.get(url, timeout=60))

    reads: list[tuple[str, Callable[[], None]]] = [
        ("document_1", lambda: get(f"{base}/api/tasks/{rng.choice(ids)}/")),
        ("spans_alone", lambda: get(f"{base}/api/tasks/{rng.choice(ids)}/annotations/")),
        ("page", lambda: get(f"{base}/api/tasks?project={with_spans}&page_size=100")),
        ("trivial", lambda: get(f"{base}/api/current-user/whoami")),
    ]

    def export() -> None:
        with http.get(
            f"{base}/api/projects/{with_spans}/export",
            params={"exportType": "JSON"},
            stream=True,
            timeout=600,
        ) as response:
            check(response)
            size = sum(len(chunk) for chunk in response.iter_content(256 * 1024))
        run.note_once(f"Label Studio: the export is {size / 1e6:.1f} MB of JSON")

    measure_reads_and_export(run, reads, export)


def task_ids(http: requests.Session, base: str, project_id: int) -> list[int]:
    ids: list[int] = []
    page = 1
    while True:
        response = http.get(
            f"{base}/api/tasks", params={"project": project_id, "page_size": 500, "page": page}
        )
        if response.status_code == 404:  # past the last page
            break
        batch = check(response).json()["tasks"]
        ids += [t["id"] for t in batch]
        if len(batch) < 500:
            break
        page += 1
    return sorted(ids)


RUNNERS: dict[str, Callable[[Path, Run], None]] = {
    "doccano": doccano,
    "label-studio": label_studio,
}


# --- This app (bench/workload.py, one database per subprocess) ----------------------------------

# workload.py's row labels (their beginnings) -> this table's keys.
APP_ROWS = {
    "bulk import of": "import",
    "the same import with 20 spans": "import_spans",
    "spans through the API, 1 per request": "spans_1",
    "spans through the API, 20 per request": "spans_20",
    "one document with its 20 spans (1 request": "document_1",
    "one document with its 20 spans (2 requests)": "document_2",
    "the spans of one document alone": "spans_alone",
    "a page of 100 documents": "page",
    "a trivial GET": "trivial",
    "export of everything": "export",
    "server memory growth during export": "export_rss",
}


def app_rows(workload_rows: list[list]) -> dict[str, float | None]:
    rows: dict[str, float | None] = {}
    for label, value, _unit in workload_rows:
        for prefix, key in APP_ROWS.items():
            if label.startswith(prefix):
                rows[key] = value
    return rows


def run_app(db: str, options: argparse.Namespace) -> tuple[dict[str, float | None], list[float]]:
    args = [harness.PYTHON, str(Path(__file__).with_name("workload.py")), "--one", db]
    args += ["--docs", str(options.docs), "--repeat", str(options.repeat)]
    args += ["--singles", str(options.singles), "--workers", str(options.workers)]
    args += ["--export-repeat", str(options.export_repeat)]
    # A session of its own: Ctrl-C reaches it once, from here, and its `with Gunicorn` stops the
    # server it started (a killed workload.py would leave its gunicorn behind).
    process = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A database of this script's own: workload.py drops and recreates it.
        env={"WORKLOAD_PG_DATABASE": "aa_peers_workload", **os.environ},
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate()
    except BaseException:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
        raise
    lines = [x for x in stdout.splitlines() if x.startswith("RESULT ")]
    if process.returncode != 0 or not lines:
        raise RuntimeError(stdout[-2000:] + stderr[-3000:])
    result = json.loads(lines[-1][len("RESULT ") :])
    return app_rows(result["rows"]), result.get("exports_s", [])


# --- The parent -----------------------------------------------------------------------------------


@contextlib.contextmanager
def stopped_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP end the run like Ctrl-C does, so every `finally` stops its peer."""

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=40, help="requests per median")
    parser.add_argument("--singles", type=int, default=2000, help="spans posted one at a time")
    parser.add_argument(
        "--export-repeat", type=int, default=3, metavar="N", help="exports per median (each party)"
    )
    parser.add_argument(
        "--peers", default="doccano,label-studio", help="comma-separated: doccano, label-studio"
    )
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="the peers' virtualenvs")
    parser.add_argument(
        "--workers", type=int, default=3, help="gunicorn workers, doccano's and this app's"
    )
    parser.add_argument("--with-app", action="store_true", help="also this app's rows, same run")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--keep", action="store_true", help="keep the peers' data folders")
    options = parser.parse_args()
    chosen = [name.strip() for name in options.peers.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in PEERS]
    if unknown:
        parser.error(f"--peers: unknown {', '.join(unknown)} (known: {', '.join(PEERS)})")

    documents = corpus(options.docs)
    words = sum(len(text.split()) for _, text, _ in documents)
    spans = sum(len(c) for _, _, c in documents)
    harness.print_machine()
    print(f"load average before: {load_average()}", flush=True)
    results: Results = {}
    notes: list[str] = []
    with stopped_on_signals():
        for name in chosen:
            peer = PEERS[name]
            results[peer.title] = {}
            try:
                venv = install(peer, options.cache)
            except (RuntimeError, subprocess.CalledProcessError) as error:
                notes.append(f"{peer.title} {peer.version} could not be installed here: {error}")
                print(notes[-1], flush=True)
                continue
            run = run_peer(
                peer,
                lambda run, venv=venv, name=name: RUNNERS[name](venv, run),
                lambda folder, peer=peer: Run(
                    documents,
                    options.repeat,
                    options.singles,
                    options.workers,
                    folder,
                    exports=options.export_repeat,
                    title=peer.title,
                ),
                notes,
                keep=options.keep,
            )
            results[peer.title].update(run.rows)
            notes += run.notes
            print(f"load average after {peer.title}: {load_average()}", flush=True)
        if options.with_app:
            names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
            for db in ["sqlite", "postgres"] if options.db == "both" else [options.db]:
                column = f"this app, {names[db]}"
                try:
                    results[column], exports = run_app(db, options)
                    each = ", ".join(f"{x:.2f}" for x in exports)
                    notes.append(f"{column}: the export's runs, in order: {each} s")
                except RuntimeError as error:
                    results[column] = {}
                    notes.append(f"{column} failed: {error}")
                print(f"load average after {column}: {load_average()}", flush=True)

    print(
        f"\nsizes: {len(documents):,} documents, {words:,} words, {spans:,} spans; "
        f"one client, medians of {options.repeat} requests; doccano"
        f"{' and this app' if options.with_app else ''} under gunicorn, "
        f"{options.workers} workers; Label Studio under its runserver\n"
    )
    print(results_table(results, len(documents)))
    if app_columns(results) and peer_columns(results):
        print()
        print(ratios_table(results))
    print()
    for note in notes:
        print(f"- {note}")
    print(f"\nload average at the end: {load_average()}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt as interruption:
        raise SystemExit(
            f"interrupted ({interruption or 'Ctrl-C'}); the peers were stopped"
        ) from None
