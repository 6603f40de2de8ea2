"""Changing a password: from the account page (current password, the new one twice, CSRF, rate
limit, other sessions end) and with `footfall user passwd`."""

from __future__ import annotations

import re
import subprocess
import sys
from contextlib import closing
from typing import TYPE_CHECKING

import httpx

from tests.dashboard.conftest import Dash, create_user, login

if TYPE_CHECKING:
    from playwright.sync_api import Browser

OLD, NEW = "old-password-123", "new-password-456"


def _user(dash: Dash, email: str) -> str:
    out = create_user(dash.server.data, email, OLD, "--role", "admin")
    assert out.returncode == 0, out.stderr
    return email


def _csrf(c: httpx.Client) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', c.get("/dashboard/account").text)
    assert m
    return m.group(1)


def _change(c: httpx.Client, dash: Dash, csrf: str | None = None, origin: str | None = None, **form: str) -> httpx.Response:
    data = {"current": OLD, "new": NEW, "again": NEW, "csrf": csrf if csrf is not None else _csrf(c), **form}
    return c.post("/dashboard/account", data=data, headers={"Origin": origin or dash.server.url})


def _logs_in(dash: Dash, email: str, password: str) -> bool:
    c = httpx.Client(base_url=dash.server.url, headers={"X-Forwarded-For": "203.0.113.9"})
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/dashboard/login").text)
    assert token
    r = c.post("/dashboard/login", data={"email": email, "password": password, "csrf": token.group(1)},
               headers={"Origin": dash.server.url})
    c.close()
    return r.status_code == 303


def test_change_password_ends_the_other_sessions(dash: Dash) -> None:
    email = _user(dash, "change@example.com")
    with closing(login(dash.server, email, OLD)) as me, closing(login(dash.server, email, OLD)) as elsewhere:
        _change_in_one_session(dash, email, me, elsewhere)


def _change_in_one_session(dash: Dash, email: str, me: httpx.Client, elsewhere: httpx.Client) -> None:
    page = me.get("/dashboard/account")
    assert page.status_code == 200 and 'data-testid="password-form"' in page.text
    r = _change(me, dash)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/account?changed=1"
    assert 'data-testid="password-changed"' in me.get("/dashboard/account?changed=1").text
    assert me.get(dash.report_path(), follow_redirects=False).status_code == 200  # still logged in here
    assert elsewhere.get(dash.report_path(), follow_redirects=False).status_code == 303  # not there
    assert _logs_in(dash, email, NEW) and not _logs_in(dash, email, OLD)


REFUSED = [
    ({"current": "not-my-password"}, 401, "current password is wrong"),
    ({"again": "something-else-1"}, 400, "differ"),
    ({"new": "short", "again": "short"}, 400, "at least 10"),
]


def test_refused_changes_and_forged_forms_keep_the_password(dash: Dash) -> None:
    email = _user(dash, "refuse@example.com")
    with closing(login(dash.server, email, OLD)) as c:
        for form, status, message in REFUSED:
            r = _change(c, dash, **form)
            assert r.status_code == status and message in r.text and 'data-testid="password-error"' in r.text
        for csrf, origin in (("", None), ("forged", None), (None, "https://evil.example")):
            assert _change(c, dash, csrf=csrf, origin=origin).status_code == 403, (csrf, origin)
    assert _logs_in(dash, email, OLD) and not _logs_in(dash, email, NEW)


def test_guessing_the_current_password_is_rate_limited(dash: Dash) -> None:
    email = _user(dash, "guess@example.com")
    with closing(login(dash.server, email, OLD)) as c:
        csrf = _csrf(c)
        codes = [_change(c, dash, csrf=csrf, current=f"guess-{i}-password").status_code for i in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429


def test_needs_a_session(dash: Dash) -> None:
    r = httpx.get(dash.server.url + "/dashboard/account", follow_redirects=False)
    assert r.status_code == 303 and "/dashboard/login" in r.headers["location"]
    r = httpx.post(dash.server.url + "/dashboard/account", data={"current": OLD}, follow_redirects=False)
    assert r.status_code == 303


def _passwd(dash: Dash, email: str, password: str | None) -> subprocess.CompletedProcess[str]:
    args = ["--password-stdin"] if password is not None else []
    return subprocess.run(
        [sys.executable, "-m", "footfall", "user", "passwd", email, *args, "--data", str(dash.server.data)],
        input=(password or "") + "\n", capture_output=True, text=True, timeout=60,
    )


def test_cli_passwd(dash: Dash) -> None:
    email = _user(dash, "cli@example.com")
    with closing(login(dash.server, email, OLD)) as session:
        out = _passwd(dash, email, NEW)
        assert out.returncode == 0, out.stderr
        assert session.get(dash.report_path(), follow_redirects=False).status_code == 303  # sessions ended
    assert _logs_in(dash, email, NEW)
    generated = _passwd(dash, email, None)
    assert generated.returncode == 0
    shown = re.search(r"password \(shown once\): (\S+)", generated.stdout)
    assert shown and _logs_in(dash, email, shown.group(1))
    assert _passwd(dash, "nobody@example.com", NEW).returncode == 1
    short = _passwd(dash, email, "short")
    assert short.returncode != 0 and "at least 10" in short.stderr


def test_change_password_in_chromium(pw_browser: Browser, dash: Dash) -> None:
    email = _user(dash, "browser@example.com")
    ctx = pw_browser.new_context(java_script_enabled=False)  # a plain form: no script needed
    try:
        page = ctx.new_page()
        page.goto(dash.server.url + "/dashboard/account")  # → log in, then back here
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", OLD)
        page.click("form.login button[type=submit]")
        page.fill("input[name=current]", OLD)
        page.fill("input[name=new]", NEW)
        page.fill("input[name=again]", NEW)
        page.click('[data-testid="password-form"] button[type=submit]')
        page.wait_for_selector('[data-testid="password-changed"]')
        page.click('[data-testid="account"]')  # the header links here
        assert page.url.endswith("/dashboard/account")
    finally:
        ctx.close()
    assert _logs_in(dash, email, NEW)
