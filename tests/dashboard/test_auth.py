"""Login, session cookie, CSRF, rate limits, logout, and who may see which project."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.dashboard.conftest import ADMIN, VIEWER, Dash, create_user, login


def _form(c: httpx.Client) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', c.get("/dashboard/login").text)
    assert m
    return m.group(1)


def test_pages_need_a_session(dash: Dash) -> None:
    with httpx.Client(base_url=dash.server.url) as c:
        for path in ("/dashboard/", dash.report_path(), dash.report_path(dash.other, "test")):
            r = c.get(path + "?period=7d")
            assert r.status_code == 303
            assert r.headers["location"].startswith("/dashboard/login?next=%2Fdashboard%2F")
        assert c.get("/dashboard").status_code == 308


def test_login_page_is_locked_down(dash: Dash) -> None:
    r = httpx.get(dash.server.url + "/dashboard/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe" not in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    assert 'name="email"' in r.text and 'name="password"' in r.text
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", r.text)  # no inline script


def test_session_cookie_flags(dash: Dash) -> None:
    c = login(dash.server, *ADMIN)
    cookie = next(h for h in c.cookies.jar if h.name == "footfall_session")
    assert cookie.path == "/dashboard" and not cookie.secure
    assert cookie.has_nonstandard_attr("HttpOnly")
    c.close()
    with httpx.Client(base_url=dash.server.url) as c:
        csrf = _form(c)
        r = c.post(
            "/dashboard/login", data={"email": ADMIN[0], "password": ADMIN[1], "csrf": csrf},
            headers={"X-Forwarded-Proto": "https", "Origin": "https://" + dash.server.url.split("//")[1]},
        )
        assert r.status_code == 303
        set_cookie = r.headers["set-cookie"].lower()
        # Behind a trusted proxy that terminated TLS, the cookie is Secure.
        assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "secure" in set_cookie


def test_wrong_password_and_unknown_user(dash: Dash) -> None:
    with httpx.Client(base_url=dash.server.url) as c:
        for email, password in ((ADMIN[0], "wrong-password"), ("nobody@example.com", ADMIN[1])):
            r = c.post("/dashboard/login", data={"email": email, "password": password, "csrf": _form(c)})
            assert r.status_code == 401
            assert "Wrong e-mail address or password" in r.text
            assert "footfall_session" not in r.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    ("csrf", "origin"),
    [(None, None), ("forged", None), ("ok", "https://evil.example")],
    ids=["missing", "wrong", "cross-site"],
)
def test_login_refuses_bad_csrf(dash: Dash, csrf: str | None, origin: str | None) -> None:
    with httpx.Client(base_url=dash.server.url) as c:
        token = _form(c)
        data = {"email": ADMIN[0], "password": ADMIN[1]}
        if csrf is not None:
            data["csrf"] = token if csrf == "ok" else csrf
        r = c.post("/dashboard/login", data=data, headers={"Origin": origin} if origin else {})
        assert r.status_code == 403
        assert "footfall_session" not in r.headers.get("set-cookie", "")


def test_login_is_rate_limited(dash: Dash) -> None:
    with httpx.Client(base_url=dash.server.url) as c:
        codes = []
        for _ in range(7):
            r = c.post(
                "/dashboard/login",
                data={"email": "guess@example.com", "password": "guess-guess", "csrf": _form(c)},
            )
            codes.append(r.status_code)
        assert codes[:5] == [401] * 5 and codes[-1] == 429
        assert int(r.headers["retry-after"]) >= 1


def test_no_open_redirect_after_login(dash: Dash) -> None:
    with httpx.Client(base_url=dash.server.url) as c:
        r = c.post(
            "/dashboard/login",
            data={"email": ADMIN[0], "password": ADMIN[1], "csrf": _form(c), "next": "//evil.example/x"},
        )
        assert r.status_code == 303 and r.headers["location"] == "/dashboard/"


def test_logout_needs_csrf_and_ends_the_session(dash: Dash) -> None:
    c = login(dash.server, *ADMIN)
    page = c.get(dash.report_path())
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    assert c.post("/dashboard/logout", data={"csrf": "forged"}).status_code == 403
    assert c.get(dash.report_path()).status_code == 200
    assert c.post("/dashboard/logout", data={"csrf": token.group(1)}).status_code == 303
    assert c.get(dash.report_path()).status_code == 303
    c.close()


def test_viewer_sees_only_their_projects(dash: Dash) -> None:
    c = login(dash.server, *VIEWER)
    # One project: straight to its report.
    home = c.get("/dashboard/")
    assert home.status_code == 303 and home.headers["location"] == dash.report_path(dash.other)
    assert c.get(dash.report_path(dash.other)).status_code == 200
    assert c.get(dash.report_path(dash.other, "test")).status_code == 200
    # Another project and one that does not exist answer alike.
    theirs, missing = c.get(dash.report_path()), c.get(dash.report_path("prj_000000000000"))
    assert theirs.status_code == missing.status_code == 404
    assert "No such project" in theirs.text and dash.project not in theirs.text
    assert c.get(dash.report_path(dash.other, "staging")).status_code == 404
    c.close()


def test_deleting_a_user_ends_their_sessions(dash: Dash) -> None:
    assert create_user(dash.server.data, "temp@example.com", "temp-password-1", "--role", "admin").returncode == 0
    c = login(dash.server, "temp@example.com", "temp-password-1")
    assert c.get(dash.report_path()).status_code == 200
    from tests.support.server import cli

    cli(dash.server.data, "user", "delete", "temp@example.com")
    assert c.get(dash.report_path()).status_code == 303
    c.close()


def test_oversized_or_garbled_forms(dash: Dash) -> None:
    with httpx.Client(base_url=dash.server.url) as c:
        big = c.post("/dashboard/login", content=b"email=" + b"a" * 20_000,
                     headers={"content-type": "application/x-www-form-urlencoded"})
        assert big.status_code in (400, 413)
        chunked = c.post("/dashboard/login", content=iter([b"email=", b"a" * 20_000]),
                         headers={"content-type": "application/x-www-form-urlencoded"})
        assert chunked.status_code in (400, 413)
        many = c.post("/dashboard/login", content="&".join(f"f{i}=1" for i in range(50)).encode(),
                      headers={"content-type": "application/x-www-form-urlencoded"})
        assert many.status_code == 400
        assert c.post("/dashboard/login", content=b"\xff\xfe=\x00").status_code == 400
