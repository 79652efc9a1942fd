"""Fixtures of the binding tests: the running server (started by mobile-bindings/tests/run), an
adviser over REST, and fresh young people with their phones (OfflineClient in temporary dirs).

Env (set by the run script): SERVER_URL, DEMO_PASSWORD, ADVISER_EMAIL.
"""

import json
import os
import threading
import urllib.error
import urllib.request
import uuid

import pytest

import pass_emploi_sync as pe

SERVER_URL = os.environ.get("SERVER_URL", "")
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "")
ADVISER_EMAIL = os.environ.get("ADVISER_EMAIL", "")


def pytest_configure(config):
    if not (SERVER_URL and DEMO_PASSWORD and ADVISER_EMAIL):
        raise pytest.UsageError("run these tests with mobile-bindings/tests/run (SERVER_URL, DEMO_PASSWORD, ADVISER_EMAIL)")


class HttpError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def http(method, path, body=None, token=None):
    """One REST call; returns the decoded JSON (None for 204)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(SERVER_URL + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raise HttpError(e.code, e.read().decode(errors="replace")) from None


class Adviser:
    """The young person's adviser, on the web (REST only)."""

    def __init__(self):
        self.token = http("POST", "/api/v1/auth/login", {"email": ADVISER_EMAIL, "password": DEMO_PASSWORD})[
            "access_token"
        ]

    def plan(self, young_person_id):
        return http("GET", f"/api/v1/young-people/{young_person_id}/plan", token=self.token)

    def create_action(self, young_person_id, **fields):
        return http("POST", f"/api/v1/young-people/{young_person_id}/actions", fields, self.token)

    def patch_action(self, young_person_id, action_id, **fields):
        return http("PATCH", f"/api/v1/young-people/{young_person_id}/actions/{action_id}", fields, self.token)

    def qualify_action(self, young_person_id, action_id, code, comment=None):
        body = {"code": code, **({"comment": comment} if comment else {})}
        path = f"/api/v1/young-people/{young_person_id}/actions/{action_id}/qualification"
        return http("POST", path, body, self.token)

    def comment_action(self, young_person_id, action_id, text):
        path = f"/api/v1/young-people/{young_person_id}/actions/{action_id}/comments"
        return http("POST", path, {"text": text}, self.token)


class Tokens(pe.TokenSource):
    """The app's side of the session: keeps the pair, refreshes it when the library asks."""

    def __init__(self, api, session):
        self.api = api
        self.session = session
        self.lock = threading.Lock()
        self.refreshes = 0

    def access_token(self):
        with self.lock:
            return self.session.access_token if self.session else None

    def refresh_access_token(self):
        with self.lock:
            if not self.session:
                return None
            try:
                self.session = self.api.refresh(self.session.refresh_token)
            except pe.MobileError:
                self.session = None
                return None
            self.refreshes += 1
            return self.session.access_token


class YoungPerson:
    """A young person created by the adviser, activated and logged in through ServerApi."""

    def __init__(self, adviser, api):
        self.api = api
        suffix = uuid.uuid4().hex[:10]
        created = http(
            "POST",
            "/api/v1/young-people",
            {"first_name": "Test", "last_name": f"Bindings {suffix}", "email": f"yp-{suffix}@exemple.fr"},
            adviser.token,
        )
        self.id = created["id"]
        self.email = f"yp-{suffix}@exemple.fr"
        self.password = f"mot-de-passe-{suffix}"
        api.activate(created["activation_code"], self.password)

    def login(self):
        return self.api.login(self.email, self.password)

    def phone(self, data_dir):
        """Logs in (each phone has its own session) and opens an OfflineClient in `data_dir`."""
        session = self.login()
        tokens = Tokens(self.api, session)
        me = self.api.me(session.access_token)
        config = pe.client_config(SERVER_URL, str(data_dir), me)
        client = pe.OfflineClient.open(config, tokens)
        client.tokens = tokens
        client.config = config
        return client


@pytest.fixture(scope="session")
def api():
    return pe.ServerApi(SERVER_URL)


@pytest.fixture(scope="session")
def adviser():
    return Adviser()


@pytest.fixture
def young(adviser, api):
    return YoungPerson(adviser, api)
