"""What the fault and load scripts share: a database of their own, the app under gunicorn, the
machine's description, and a few HTTP helpers.

Nothing here touches the project's own database (db.sqlite3) or static folder: each script names
its own PostgreSQL database (or SQLite file) and collects static files into a temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
# A worktree has no .venv of its own: then the tools beside the running interpreter.
BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin").exists() else Path(sys.executable).parent
PYTHON = str(BIN / "python") if (BIN / "python").exists() else sys.executable
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
DB_DOWN_MESSAGE = "The database is unavailable for a moment"


# --- The machine ------------------------------------------------------------------------------


def checkouts(reference: str | None) -> dict[str, Path]:
    """The checkouts a before/after benchmark serves, by name: this one ("after"), preceded by
    `reference` ("before") when one is given."""
    roots = {"after": ROOT}
    if reference:
        roots = {"before": Path(reference).resolve(), **roots}
    return roots


def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }
    try:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=5) as conn:
            info["postgresql"] = conn.execute("show server_version").fetchone()[0]
    except Exception:  # noqa: BLE001 (the description is best effort)
        pass
    return info


def print_machine(title: str = "machine") -> None:
    info = machine()
    print(f"{title}: " + ", ".join(f"{k} {v}" for k, v in info.items()))


# --- Databases --------------------------------------------------------------------------------


def pg_url(name: str) -> str:
    return f"{PG_SERVER}/{name}"


def pg_database_fresh(name: str) -> str:
    """Drop and create the PostgreSQL database `name` (this script's own); returns its URL."""
    import psycopg
    from psycopg import sql

    if not name.replace("_", "").isalnum():
        raise SystemExit(f"refusing an odd database name: {name!r}")
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=10) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return pg_url(name)


def app_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment the app runs in: production settings on HTTP, on this script's database."""
    env = dict(os.environ)
    for name in ("DJANGO_DEBUG", "DJANGO_SETTINGS_MODULE", "PYTEST_XDIST_WORKER"):
        env.pop(name, None)
    env.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_HTTPS": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_STATIC_ROOT": str(Path(tempfile.gettempdir()) / "aa-bench-static"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, quiet: bool = True) -> None:
    subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )


def prepare(env: dict[str, str], *, static: bool = True) -> None:
    """Migrate the database; collect static files unless the collected manifest already names
    every file in static/ (a page naming a file the manifest lacks fails; collecting compresses
    every file, which takes minutes on a busy machine)."""
    manage(env, "migrate", "--noinput", "-v", "0")
    if static and not _manifest_covers_static(Path(env["DJANGO_STATIC_ROOT"])):
        print("collecting static files (once; a few minutes on a busy machine)...", flush=True)
        manage(env, "collectstatic", "--noinput", "-v", "0")


def _manifest_covers_static(static_root: Path) -> bool:
    import json

    try:
        paths = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    except (OSError, ValueError, KeyError):
        return False
    source = ROOT / "static"
    return all(p.relative_to(source).as_posix() in paths for p in source.rglob("*") if p.is_file())


def django_setup(env: dict[str, str]) -> None:
    """Use the app's ORM in this process, on the same database as the server."""
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "annotator.settings"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- gunicorn ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """`gunicorn annotator.wsgi` (gthread workers) on 127.0.0.1 and a free port, as a context
    manager: started and ready on enter, stopped (its own process group) on exit."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        workers: int = 2,
        threads: int = 2,
        timeout: int = 60,
        keep_alive: int = 2,
        log_path: Path | None = None,
        config: Path | None = None,
    ):
        self.env = env
        self.workers = workers
        self.threads = threads
        self.timeout = timeout
        self.keep_alive = keep_alive
        self.config = config  # a gunicorn configuration file (e.g. worker_probe.py's hooks)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path or Path(tempfile.mkstemp(prefix="aa-gunicorn-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None

    def describe(self) -> str:
        return (
            f"gunicorn annotator.wsgi, {self.workers} workers x {self.threads} threads (gthread), "
            f"timeout {self.timeout}s, keep-alive {self.keep_alive}s, "
            f"bound to 127.0.0.1:{self.port}; "
            f"DJANGO_DEBUG off, DATABASE_CONN_MAX_AGE "
            f"{self.env.get('DATABASE_CONN_MAX_AGE', '60')}s with health checks"
        )

    def command(self) -> list[str]:
        return [
            str(BIN / "gunicorn"),
            "annotator.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--worker-class",
            "gthread",
            "--timeout",
            str(self.timeout),
            "--keep-alive",
            str(self.keep_alive),
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
            "--error-logfile",
            str(self.log_path),
            *(["--config", str(self.config)] if self.config else []),
        ]

    def __enter__(self) -> Gunicorn:
        with open(self.log_path, "ab") as log:  # the app's own log lines go there too
            self.process = subprocess.Popen(
                self.command(),
                cwd=ROOT,
                env=self.env,
                start_new_session=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited at start; see {self.log_path}")
            try:
                # The API answers without static files or a session: 401 means the app is up.
                if requests.get(f"{self.url}/api/v1/corpora", timeout=5).status_code == 401:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.stop()
        raise SystemExit(f"gunicorn did not answer within 60 s; see {self.log_path}")

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the group this script started
            process.wait(timeout=10)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# --- HTTP helpers -----------------------------------------------------------------------------


def api_token(base_url: str, username: str, password: str) -> str:
    response = requests.post(
        f"{base_url}/api/v1/auth/token",
        json={"username": username, "password": password, "name": "bench"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["token"]


def page_login(session: requests.Session, base_url: str, username: str, password: str) -> None:
    """Log in through the login form, as a browser does (the CSRF cookie, then the POST)."""
    session.get(f"{base_url}/accounts/login/", timeout=30).raise_for_status()
    response = session.post(
        f"{base_url}/accounts/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        timeout=30,
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise SystemExit(f"login of {username} failed: HTTP {response.status_code}")


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        padded = [
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("| " + " | ".join(padded) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


# --- Seeding ----------------------------------------------------------------------------------

_WORDS = (
    "the a of to and in that is for on with as was by it at from this be are have has which "
    "export controls chips labs policy government officials market prices supply chain "
    "restrictions models training compute rivals domestic foreign analysts report quarter "
    "growth sales companies industry investment research security national strategy "
    "semiconductor manufacturers demand shortage tariffs agreement allies enforcement "
    "smuggling licences rules regulators critics defenders evidence data study survey "
    "economists argue suggest claim believe warn expect rose fell doubled shrank adapted "
    "quickly slowly sharply modestly despite because although while however therefore "
    "café naïve Zürich 北京 東京 🚀"
)
VOCABULARY = _WORDS.split()
STANCES = ("support", "oppose", "neutral")


def article_text(rng, words: int) -> tuple[str, list[tuple[int, int]]]:
    """About `words` words in sentences of 8-24 words; returns the text and the sentence spans
    (code points), which make natural claims."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    position, count = 0, 0
    while count < words:
        length = rng.randint(8, 24)
        sentence = " ".join(rng.choice(VOCABULARY) for _ in range(length))
        sentence = sentence[0].upper() + sentence[1:] + "."
        separator = "\n\n" if parts and rng.random() < 0.15 else (" " if parts else "")
        position += len(separator)
        spans.append((position, position + len(sentence)))
        parts.append(separator + sentence)
        position += len(sentence)
        count += length
    return "".join(parts), spans


def article_line(
    rng, *, title: str, words: int, claims: int, annotators: list[str], topic: str
) -> dict:
    """One native JSONL line: an article with `claims` sentence claims, each tagged by up to
    two of `annotators` with a span of evidence."""
    text, spans = article_text(rng, words)
    chosen = sorted(rng.sample(range(len(spans)), min(claims, len(spans))))
    line_claims = []
    for index in chosen:
        start, end = spans[index]
        evidence_start, evidence_end = spans[(index + 1) % len(spans)]
        tags = []
        for name in rng.sample(annotators, min(2, len(annotators))):
            tags.append(
                {
                    "annotator": name,
                    "topic": topic,
                    "stance": rng.choice(STANCES),
                    "confidence": rng.randint(1, 5),
                    "status": "submitted",
                    "evidence": [
                        {
                            "kind": "span",
                            "start": evidence_start,
                            "end": evidence_end,
                            "evidence_type": "example",
                            "role": "supports",
                        }
                    ],
                }
            )
        line_claims.append(
            {"start": start, "end": end, "exact": text[start:end], "annotations": tags}
        )
    return {"title": title, "text": text, "claims": line_claims, "relations": []}


def seed_team(
    *,
    slug: str,
    annotators: list[str],
    curators: list[str],
    password: str,
    articles: int,
    words: int,
    claims_per_article: int,
    rng_seed: int = 1,
) -> dict:
    """Users (one password hash for all: hashing is slow on purpose), a corpus owned by `owner`
    with two topics, every user a member, and `articles` articles with tagged claims, imported
    through the app's own importer. Call django_setup() first."""
    import json
    import random

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from articles import imports, services
    from articles.models import Corpus, Role

    User = get_user_model()
    hashed = make_password(password)
    names = ["owner", *annotators, *curators]
    User.objects.bulk_create(
        [User(username=n, password=hashed, email=f"{n}@example.org") for n in names],
        ignore_conflicts=True,
    )
    owner = User.objects.get(username="owner")
    topic = "US export controls on AI chips are effective"
    corpus = Corpus.objects.filter(slug=slug).first() or services.corpus_create(
        actor=owner,
        name=f"Bench {slug}",
        slug=slug,
        topics=[{"label": topic}, {"label": "Chip subsidies pay off"}],
    )
    for name, role in [(n, Role.ANNOTATOR) for n in annotators] + [
        (n, Role.CURATOR) for n in curators
    ]:
        with contextlib.suppress(services.Conflict):
            services.membership_add(
                actor=owner, corpus=corpus, role=Role.OWNER, username=name, new_role=role
            )
    rng = random.Random(rng_seed)
    lines = [
        json.dumps(
            article_line(
                rng,
                title=f"Article {i + 1}: chips and controls",
                words=words,
                claims=claims_per_article,
                annotators=annotators,
                topic=topic,
            ),
            ensure_ascii=False,
        )
        for i in range(articles)
    ]
    if lines:
        imports.import_file(
            actor=owner,
            corpus=corpus,
            role=Role.OWNER,
            name="seed.jsonl",
            data="\n".join(lines).encode(),
        )
    return {"slug": slug, "topic": topic, "owner": owner.username}
