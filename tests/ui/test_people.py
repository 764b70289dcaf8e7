"""Accounts, sessions, lockout, CSRF and role gates of the pages (no browser: a real uvicorn server and httpx)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from tests.api.conftest import free_port
from vcgate.canonical_schema import InputError
from vcgate.gateway import KeyPair
from vcgate.gateway._db import Database
from vcgate.gateway.api import ApiSettings, create_app
from vcgate.gateway.api.pages import LOCKOUT, MAX_FAILED_LOGINS, LoginError, People, multihash_of
from vcgate.gateway.api.pages._demo_media import digest_multibase_of
from vcgate.gateway.api.pages._people import users_table

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
def people(tmp_path: Path) -> People:
    return People(Database.open(f"sqlite:///{tmp_path / 'ui.sqlite'}"))


def test_password_is_stored_as_argon2id_and_checked(people: People) -> None:
    people.add("olivia", PASSWORD, "officer", now=T0)
    with people.db.transaction() as conn:
        stored = conn.execute(select(users_table.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    token, op = people.login("olivia", PASSWORD, now=T0)
    assert op.role == "officer"
    assert not op.can("run:jobs")
    assert op.can("read:jobs")
    assert people.session(token, now=T0 + timedelta(minutes=5)) == op
    with pytest.raises(LoginError, match="wrong user name or password"):
        people.login("olivia", "wrong password!!", now=T0)
    with pytest.raises(LoginError, match="wrong user name or password"):
        people.login("nobody", PASSWORD, now=T0)


@pytest.mark.parametrize(
    ("name", "password", "role", "message"),
    [
        ("Olivia", PASSWORD, "officer", "user name"),
        ("olivia", "short", "officer", "at least 12"),
        ("olivia", PASSWORD, "chief", "role 'chief'"),
    ],
)
def test_bad_accounts_are_refused(people: People, name: str, password: str, role: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        people.add(name, password, role, now=T0)


def test_lockout_after_repeated_failures_even_with_the_right_password(people: People) -> None:
    people.add("ana", PASSWORD, "analyst", now=T0)
    for i in range(MAX_FAILED_LOGINS):
        with pytest.raises(LoginError) as info:
            people.login("ana", f"wrong-password-{i}", now=T0)
    assert info.value.locked
    with pytest.raises(LoginError, match="locked") as info:
        people.login("ana", PASSWORD, now=T0 + LOCKOUT - timedelta(seconds=1))
    assert info.value.locked
    _token, op = people.login("ana", PASSWORD, now=T0 + LOCKOUT + timedelta(seconds=1))
    assert op.can("run:jobs")
    assert not op.can("admin")


def test_sessions_expire_and_end_at_logout(people: People) -> None:
    people.add("adam", PASSWORD, "admin", now=T0)
    token, op = people.login("adam", PASSWORD, now=T0)
    assert op.can("admin")
    assert op.can("run:jobs")
    assert people.session(token, now=T0 + timedelta(hours=9)) is None
    token, _ = people.login("adam", PASSWORD, now=T0)
    people.logout(token)
    assert people.session(token, now=T0) is None
    assert people.session("forged-token", now=T0) is None


def test_digest_multibase_matches_only_the_same_bytes() -> None:
    digest = digest_multibase_of(b"picture")
    assert multihash_of(b"picture", digest)
    assert not multihash_of(b"picture!", digest)
    assert not multihash_of(b"picture", "x" + digest[1:])
    assert not multihash_of(b"picture", "u!!")


# -- over HTTP --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, People]]:
    port = free_port()
    settings = ApiSettings(
        key=KeyPair.generate("ed25519"),
        public_url=f"http://127.0.0.1:{port}",
        database_url=f"sqlite:///{tmp_path_factory.mktemp('ui') / 'gateway.sqlite'}",
        resolve_remote_dids=False,
    )
    app = create_app(settings)
    people: People = app.state.people
    for role in ("officer", "analyst", "admin"):
        people.add(role, PASSWORD, role, now=datetime.now(UTC))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.02)
    try:
        yield settings.public_url, people
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def _login(url: str, user: str, password: str = PASSWORD) -> tuple[httpx.Client, httpx.Response]:
    http = httpx.Client(base_url=url, timeout=30)
    form = http.get("/ui/login")
    r = http.post(
        "/ui/login", data={"csrf_token": _csrf(form.text), "next": "/ui/jobs", "username": user, "password": password}
    )
    return http, r


@pytest.mark.server
def test_login_sets_a_strict_httponly_cookie_and_pages_need_it(site: tuple[str, People]) -> None:
    url, _ = site
    anonymous = httpx.get(f"{url}/ui/jobs")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/ui/login?next=")
    http, r = _login(url, "officer")
    assert r.status_code == 303
    assert r.headers["location"] == "/ui/jobs"
    cookie = r.headers["set-cookie"]
    assert "vcgate_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    page = http.get("/ui/jobs")
    assert page.status_code == 200
    assert "officer (officer)" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


@pytest.mark.server
def test_login_form_without_its_csrf_cookie_is_refused(site: tuple[str, People]) -> None:
    url, _ = site
    r = httpx.post(f"{url}/ui/login", data={"csrf_token": "x" * 32, "username": "officer", "password": PASSWORD})
    assert r.status_code == 403
    assert "login form has expired" in r.text


@pytest.mark.server
def test_wrong_password_answers_401_with_the_form(site: tuple[str, People]) -> None:
    url, _ = site
    _http, r = _login(url, "analyst", "not the password")
    assert r.status_code == 401
    assert "wrong user name or password" in r.text
    assert 'role="alert"' in r.text


@pytest.mark.server
def test_posts_without_the_session_csrf_token_are_refused(site: tuple[str, People]) -> None:
    url, _ = site
    http, _ = _login(url, "analyst")
    r = http.post("/ui/jobs", data={"entries": "{}", "csrf_token": "forged"})
    assert r.status_code == 403
    assert "did not come from this site" in r.text


@pytest.mark.server
def test_an_officer_cannot_start_a_job_or_sync(site: tuple[str, People]) -> None:
    url, _ = site
    http, _ = _login(url, "officer")
    token = _csrf(http.get("/ui/").text)
    page = http.get("/ui/jobs")
    assert "Start a job" not in page.text
    assert "analysts start them" in page.text
    r = http.post("/ui/jobs", data={"entries": '{"entryNumber": "X"}', "csrf_token": token})
    assert r.status_code == 403
    assert "may not start jobs" in r.text
    r = http.post("/ui/sync", data={"csrf_token": token})
    assert r.status_code == 403
    assert "may not sync adapters" in r.text


@pytest.mark.server
def test_logout_ends_the_session(site: tuple[str, People]) -> None:
    url, _ = site
    http, _ = _login(url, "admin")
    token = _csrf(http.get("/ui/").text)
    cookie = http.cookies["vcgate_session"]
    assert http.post("/ui/logout", data={"csrf_token": token}).status_code == 303
    replay = httpx.get(f"{url}/ui/", cookies={"vcgate_session": cookie})
    assert replay.status_code == 303
    assert "/ui/login" in replay.headers["location"]


@pytest.mark.server
def test_an_htmx_request_without_a_session_is_told_to_navigate_to_login(site: tuple[str, People]) -> None:
    url, _ = site
    r = httpx.post(f"{url}/ui/credential/verify", data={"id": "x"}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert r.headers["hx-redirect"].startswith("/ui/login?next=")
    assert r.text == ""
