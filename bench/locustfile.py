"""Simulated reviewers for locust: annotators read pages and tag claims, curators review them.

bench/load.py seeds a database, starts gunicorn and runs this file headless; it passes the seeded
accounts through the environment (LOAD_SLUG, LOAD_PASSWORD, LOAD_ANNOTATORS, LOAD_CURATORS) and
the think time between two actions of one reviewer (LOAD_WAIT_MIN, LOAD_WAIT_MAX, seconds).

Every reviewer logs in twice, as a person using both would: an API token from
`POST /api/v1/auth/token` for the API calls, and a session through the login form for the pages.
Annotators open the dashboard, the corpus page, articles and claim panels, tag new claims
(a claim, then their annotation with a span of evidence, through the API), tag claims others
made, edit their tags (with If-Match) and comment through the claim panel's form. Curators open
the review queue and claim review pages and settle claims (`PUT /api/v1/claims/{id}/review`,
with If-Match when a review exists); each curator owns the claims whose id modulo the number of
curators is theirs, so that two curators never race on one review. Only 127.0.0.1 is targeted.

Every request carries its locust name in an `X-Load-Name` header, so that the server's timing
hooks (bench/worker_probe.py) report their CPU under the same names as locust's table.
"""

from __future__ import annotations

import itertools
import os
import random
import re
from urllib.parse import urlsplit

from locust import HttpUser, between, events, task
from locust.exception import StopUser

SLUG = os.environ.get("LOAD_SLUG", "load")
PASSWORD = os.environ.get("LOAD_PASSWORD", "")
ANNOTATORS = int(os.environ.get("LOAD_ANNOTATORS", "40"))
CURATORS = int(os.environ.get("LOAD_CURATORS", "10"))
WAIT = (float(os.environ.get("LOAD_WAIT_MIN", "1")), float(os.environ.get("LOAD_WAIT_MAX", "3")))
STANCES = ("support", "oppose", "neutral")
SENTENCE = re.compile(r"[^\s.][^.]*\.")

annotator_names = (f"ann{i:02d}" for i in itertools.count(1))
curator_names = (f"cur{i:02d}" for i in itertools.count(1))


@events.test_start.add_listener
def only_this_machine(environment, **kwargs):
    host = urlsplit(environment.host or "").hostname
    if host != "127.0.0.1":
        raise SystemExit(f"this load test targets 127.0.0.1 only, not {host!r}")


class Reviewer(HttpUser):
    abstract = True
    wait_time = between(*WAIT)

    def on_start(self) -> None:
        self.username = self.next_name()
        if self.username is None:
            raise StopUser()
        self.client.request = self.named_request(self.client.request)
        answer = self.client.post(
            "/api/v1/auth/token",
            json={"username": self.username, "password": PASSWORD, "name": "load"},
            name="/api/v1/auth/token",
        )
        self.api = {"Authorization": f"Token {answer.json()['token']}"}
        self.client.get("/accounts/login/", name="/accounts/login/")
        self.client.post(
            "/accounts/login/",
            data={
                "username": self.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", ""),
            },
            name="/accounts/login/ (POST)",
        )
        listed = self.client.get(
            f"/api/v1/corpora/{SLUG}/articles?page_size=100",
            headers=self.api,
            name="/api/v1/corpora/[slug]/articles",
        )
        self.articles = [row["id"] for row in listed.json()["results"]]
        self.texts: dict[str, str] = {}

    def next_name(self) -> str | None:
        raise NotImplementedError

    @staticmethod
    def named_request(request):
        """The client's request, sending the request's locust name to the server."""

        def send(method, url, name=None, **kwargs):
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "X-Load-Name": name or url}
            return request(method, url, name=name, **kwargs)

        return send

    # --- shared actions ---

    def article(self) -> str:
        return random.choice(self.articles)

    def claims(self, article_id: str, query: str = "") -> list[dict]:
        answer = self.client.get(
            f"/api/v1/articles/{article_id}/claims?page_size=500{query}",
            headers=self.api,
            name=f"/api/v1/articles/[id]/claims{'?annotator=' if query else ''}",
        )
        return answer.json()["results"] if answer.ok else []

    def text(self, article_id: str) -> str:
        if article_id not in self.texts:
            answer = self.client.get(
                f"/api/v1/articles/{article_id}", headers=self.api, name="/api/v1/articles/[id]"
            )
            self.texts[article_id] = answer.json()["text"] if answer.ok else ""
        return self.texts[article_id]

    def page_headers(self, htmx: bool = False) -> dict[str, str]:
        headers = {"X-CSRFToken": self.client.cookies.get("csrftoken", "")}
        if htmx:
            headers["HX-Request"] = "true"
        return headers

    @task(2)
    def dashboard(self) -> None:
        self.client.get("/", name="/ (dashboard)")

    @task(2)
    def corpus_page(self) -> None:
        self.client.get(f"/corpora/{SLUG}/", name="/corpora/[slug]/")


class Annotator(Reviewer):
    fixed_count = ANNOTATORS

    def next_name(self) -> str | None:
        name = next(annotator_names)
        return name if int(name[3:]) <= ANNOTATORS else None

    def on_start(self) -> None:
        super().on_start()
        self.mine: dict[str, str] = {}  # claim id -> my annotation id

    @task(5)
    def read_article(self) -> None:
        article_id = self.article()
        self.client.get(f"/articles/{article_id}/", name="/articles/[id]/")
        claims = self.claims(article_id)
        if claims:
            claim = random.choice(claims)
            self.client.get(
                f"/claims/{claim['id']}/panel",
                headers=self.page_headers(htmx=True),
                name="/claims/[id]/panel (htmx)",
            )

    @task(4)
    def tag_new_claim(self) -> None:
        article_id = self.article()
        text = self.text(article_id)
        sentences = [m.span() for m in SENTENCE.finditer(text)]
        if len(sentences) < 2:
            return
        (start, end), (ev_start, ev_end) = random.sample(sentences, 2)
        with self.client.post(
            f"/api/v1/articles/{article_id}/claims",
            json={"start": start, "end": end, "summary": f"{self.username}'s reading"},
            headers=self.api,
            name="/api/v1/articles/[id]/claims (POST)",
            catch_response=True,
        ) as created:
            claim_id = None
            if created.status_code == 409 and "existing" in created.json():
                # someone tagged this sentence already (one span, one claim): tag theirs
                created.success()
                claim_id = created.json()["existing"]
            elif created.ok:
                claim_id = created.json()["id"]
        if claim_id:
            self.annotate(claim_id, evidence=(ev_start, ev_end))

    @task(3)
    def tag_existing_claim(self) -> None:
        """A claim of the article that I have not tagged yet (the list, less mine)."""
        article_id = self.article()
        tagged = {c["id"] for c in self.claims(article_id, f"&annotator={self.username}")}
        open_claims = [c for c in self.claims(article_id) if c["id"] not in tagged]
        if open_claims:
            self.annotate(random.choice(open_claims)["id"])

    def annotate(self, claim_id: str, evidence: tuple[int, int] | None = None) -> None:
        body = {
            "stance": random.choice(STANCES),
            "confidence": random.randint(1, 5),
            "note": "tagged under load",
        }
        if evidence:
            body["evidence"] = [
                {
                    "kind": "span",
                    "start": evidence[0],
                    "end": evidence[1],
                    "evidence_type": random.choice(["statistic", "example", "expert"]),
                    "role": "supports",
                }
            ]
        with self.client.post(
            f"/api/v1/claims/{claim_id}/annotations",
            json=body,
            headers=self.api,
            name="/api/v1/claims/[id]/annotations (POST)",
            catch_response=True,
        ) as answer:
            if answer.status_code == 409:  # tagged already (a claim met again): an answer
                answer.success()
            elif answer.ok:
                self.mine[claim_id] = answer.json()["id"]

    @task(2)
    def edit_my_tag(self) -> None:
        if not self.mine:
            return
        annotation_id = self.mine[random.choice(list(self.mine))]
        current = self.client.get(
            f"/api/v1/annotations/{annotation_id}",
            headers=self.api,
            name="/api/v1/annotations/[id]",
        )
        if current.ok:
            self.client.patch(
                f"/api/v1/annotations/{annotation_id}",
                json={"confidence": random.randint(1, 5), "note": "revised under load"},
                headers={**self.api, "If-Match": current.headers["ETag"]},
                name="/api/v1/annotations/[id] (PATCH)",
            )

    @task(1)
    def comment(self) -> None:
        if not self.mine:
            return
        claim_id = random.choice(list(self.mine))
        self.client.post(
            f"/claims/{claim_id}/comments",
            data={"text": f"{self.username}: the evidence here is thin."},
            headers=self.page_headers(htmx=True),
            name="/claims/[id]/comments (form POST)",
        )


class Curator(Reviewer):
    fixed_count = CURATORS

    def next_name(self) -> str | None:
        name = next(curator_names)
        self.index = int(name[3:]) - 1
        return name if self.index < CURATORS else None

    @task(3)
    def review_queue(self) -> None:
        self.client.get(f"/corpora/{SLUG}/review/", name="/corpora/[slug]/review/")

    @task(2)
    def review_page(self) -> None:
        claims = self.claims(self.article())
        if claims:
            claim_id = random.choice(claims)["id"]
            self.client.get(f"/claims/{claim_id}/review/", name="/claims/[id]/review/")

    @task(5)
    def settle_claim(self) -> None:
        mine = [c for c in self.claims(self.article()) if int(c["id"]) % CURATORS == self.index]
        if not mine:
            return
        claim_id = random.choice(mine)["id"]
        headers = dict(self.api)
        with self.client.get(
            f"/api/v1/claims/{claim_id}/review",
            headers=self.api,
            name="/api/v1/claims/[id]/review",
            catch_response=True,
        ) as current:
            if current.status_code == 404:  # not reviewed yet: an expected answer
                current.success()
            elif current.ok:
                headers["If-Match"] = current.headers["ETag"]
        accepted = random.random() < 0.8
        body = {"decision": "accepted" if accepted else "rejected", "note": "settled under load"}
        if accepted:
            body["stance"] = random.choice(STANCES)
        self.client.put(
            f"/api/v1/claims/{claim_id}/review",
            json=body,
            headers=headers,
            name="/api/v1/claims/[id]/review (PUT)",
        )
