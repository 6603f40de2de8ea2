"""Share links: made by an admin, opened logged out, read-only, the same numbers as the API;
password, rate limit, revoke and expiry; embed mode and its frame-ancestors; the token is
stored only hashed. Chromium: the embed in a frame on another origin, dark (screenshot)."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import re
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.dashboard.conftest import ADMIN, VIEWER, Dash, login
from tests.dashboard.test_report import _kpi, _total
from tests.support.browser import PageWatch

if TYPE_CHECKING:
    from playwright.sync_api import Browser

IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
TODAY = datetime.now(UTC).date()
RANGE = {"period": "custom", "from": (TODAY - timedelta(days=29)).isoformat(), "to": TODAY.isoformat()}


def _csrf(page: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m, page[:2000]
    return m.group(1)


def _share(admin: httpx.Client, dash: Dash, env: str = "live", **form: str) -> tuple[str, str]:
    """Create a link from the Share page; returns (its path with the token, its id)."""
    path = dash.report_path(env=env) + "/share"
    csrf = _csrf(admin.get(path).text)
    r = admin.post(path, data={"csrf": csrf, **form}, headers={"Origin": dash.server.url})
    assert r.status_code == 201, r.text[:2000]
    url = re.search(r'value="([^"]+)" data-testid="share-url"', r.text)
    assert url, r.text[:3000]
    token_path = "/" + url.group(1).split("/", 3)[3]
    # Not the list's first row: links made in the same second are ordered by id there.
    created = re.search(r'data-testid="share-created" data-link-id="(shr_[0-9a-f]+)"', r.text)
    assert created, r.text[:3000]
    link_id = created.group(1)
    return token_path, link_id


@pytest.fixture(scope="module")
def link(admin: httpx.Client, dash: Dash) -> tuple[str, str]:
    return _share(admin, dash, label="Investors")


@pytest.fixture
def anon(dash: Dash) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=dash.server.url, timeout=30, headers={"X-Forwarded-For": "203.0.113.9"}) as c:
        yield c


def test_link_opens_the_report_logged_out_with_the_apis_numbers(anon: httpx.Client, dash: Dash, link: tuple[str, str]) -> None:
    path, _id = link
    assert path.startswith("/dashboard/share/") and len(path.rsplit("/", 1)[1]) >= 40
    page = anon.get(path, params=RANGE)
    assert page.status_code == 200, page.text[:500]
    assert _kpi(page.text, "visitors") == _total(dash, metric="uniques") > 0
    assert _kpi(page.text, "pageviews") == _total(dash, metric="count", event="$pageview")
    # A filter click stays on the link (relative URLs) and filters like the API.
    filtered = anon.get(path, params={**RANGE, "source": "google"})
    assert _kpi(filtered.text, "visitors") == _total(dash, metric="uniques", source="google")
    assert re.search(r'href="\?period=custom[^"]*source=google', page.text)
    # A panel alone (htmx) works on the link too.
    panel = anon.get(path, params={**RANGE, "panel": "sources"}, headers={"HX-Request": "true"})
    assert panel.status_code == 200 and 'data-testid="panel-sources"' in panel.text


def test_shared_page_shows_nothing_else(anon: httpx.Client, admin: httpx.Client, dash: Dash, link: tuple[str, str]) -> None:
    page = anon.get(link[0]).text
    other_name = "other"  # the second project (conftest)
    assert dash.other not in page and f">{other_name}<" not in page
    for secret in dash.server.keys.values():
        assert secret not in page
    for key in dash.other_keys.values():
        assert key not in page
    assert ADMIN[0] not in page and VIEWER[0] not in page and "@" not in page
    assert "/logout" not in page and 'data-testid="nav-' not in page and "switcher" not in page
    assert "/segments" not in page and "/share\"" not in page
    assert 'data-testid="api-' not in page  # API calls need a key a visitor does not have
    assert 'data-testid="to-sessions"' not in page  # people and sessions are members-only
    assert 'data-testid="csv-sources"' in page  # downloads stay: the same numbers, read-only
    assert not re.search(r"\b(85\.214|8\.8\.8\.8|133\.11)\.", page)  # the seeded client IPs
    # Nothing of it opens another project or section: those need a session.
    assert anon.get(link[0] + "/realtime").status_code == 404
    assert anon.get(dash.report_path()).status_code == 303
    # Non-embed: never framed.
    r = anon.get(link[0])
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"


def test_token_is_stored_only_hashed(dash: Dash, link: tuple[str, str]) -> None:
    token = link[0].rsplit("/", 1)[1]
    raw = (dash.server.data / "meta.sqlite").read_bytes()
    wal = dash.server.data / "meta.sqlite-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    assert token.encode() not in raw
    with sqlite3.connect(dash.server.data / "meta.sqlite") as db:
        hashes = {r[0] for r in db.execute("SELECT token_hash FROM share_links")}
    assert hashlib.sha256(token.encode()).hexdigest() in hashes


def test_list_shows_created_and_last_used(admin: httpx.Client, anon: httpx.Client, dash: Dash, link: tuple[str, str]) -> None:
    anon.get(link[0], params={"period": "7d"})
    page = admin.get(dash.report_path() + "/share").text
    row = re.search(rf'data-testid="share-{link[1]}".*?</tr>', page, re.S)
    assert row, page
    cells = re.findall(r"<td>(.*?)</td>", row.group(0), re.S)
    assert cells[0] == "Investors" and cells[1] == "no" and ADMIN[0] in cells[2]
    assert cells[3] == "never" and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", cells[4])
    assert link[0].rsplit("/", 1)[1] not in page  # the token is never shown again


def test_password_link(admin: httpx.Client, dash: Dash) -> None:
    path, _id = _share(admin, dash, password="open sesame 1")
    with httpx.Client(base_url=dash.server.url, timeout=30, headers={"X-Forwarded-For": "203.0.113.20"}) as c:
        form = c.get(path)
        assert form.status_code == 200 and 'data-testid="share-password"' in form.text
        assert 'data-testid="kpi-visitors"' not in form.text
        origin = {"Origin": dash.server.url}
        wrong = c.post(path, data={"csrf": _csrf(form.text), "password": "nope"}, headers=origin)
        assert wrong.status_code == 401 and "Wrong password" in wrong.text
        assert "footfall_share=" not in wrong.headers.get("set-cookie", "")
        # CSRF: a missing or forged token, or another site's form, is refused.
        for data, headers in (({"password": "open sesame 1"}, origin),
                              ({"csrf": "forged", "password": "open sesame 1"}, origin),
                              ({"csrf": _csrf(wrong.text), "password": "open sesame 1"}, {"Origin": "https://evil.example"})):
            r = c.post(path, data=data, headers=headers)
            assert r.status_code == 403 and "footfall_share=" not in r.headers.get("set-cookie", "")
        ok = c.post(path, data={"csrf": _csrf(r.text), "password": "open sesame 1"}, headers=origin)
        assert ok.status_code == 303 and ok.headers["location"] == path
        cookie = ok.headers["set-cookie"]
        assert f"Path={path}" in cookie and "HttpOnly" in cookie
        page = c.get(path)
        assert page.status_code == 200 and 'data-testid="kpi-visitors"' in page.text
    # The cookie opens only its own link: another password link still asks.
    other_path, _ = _share(admin, dash, password="another one 2")
    with httpx.Client(base_url=dash.server.url, timeout=30) as c:
        c.cookies.set("footfall_share", cookie.split(";")[0].split("=", 1)[1])
        assert 'data-testid="share-password"' in c.get(other_path).text


def test_password_attempts_are_rate_limited(admin: httpx.Client, dash: Dash) -> None:
    path, _id = _share(admin, dash, password="right password")
    codes = []
    with httpx.Client(base_url=dash.server.url, timeout=30, headers={"X-Forwarded-For": "203.0.113.30"}) as c:
        csrf = _csrf(c.get(path).text)
        for _ in range(7):
            r = c.post(path, data={"csrf": csrf, "password": "guess-guess"}, headers={"Origin": dash.server.url})
            codes.append(r.status_code)
            csrf = _csrf(r.text)
        assert codes[:5] == [401] * 5 and codes[-1] == 429
        assert int(r.headers["retry-after"]) >= 1
        # Even the right password waits now: the limit is per link, before any password work.
        r = c.post(path, data={"csrf": csrf, "password": "right password"}, headers={"Origin": dash.server.url})
        assert r.status_code == 429
    # Per link: from another address the same link is limited too.
    with httpx.Client(base_url=dash.server.url, timeout=30, headers={"X-Forwarded-For": "203.0.113.31"}) as c:
        csrf = _csrf(c.get(path).text)
        assert c.post(path, data={"csrf": csrf, "password": "x"}, headers={"Origin": dash.server.url}).status_code == 429


def test_revoke_is_immediate_even_with_a_cookie(admin: httpx.Client, dash: Dash) -> None:
    path, link_id = _share(admin, dash, password="revoke me 123")
    with httpx.Client(base_url=dash.server.url, timeout=30, headers={"X-Forwarded-For": "203.0.113.40"}) as c:
        csrf = _csrf(c.get(path).text)
        assert c.post(path, data={"csrf": csrf, "password": "revoke me 123"}, headers={"Origin": dash.server.url}).status_code == 303
        assert c.get(path).status_code == 200
        share_page = dash.report_path() + "/share"
        csrf_admin = _csrf(admin.get(share_page).text)
        # Revoking needs the CSRF token too.
        assert admin.post(f"{share_page}/{link_id}/revoke", data={"csrf": "forged"}).status_code == 403
        assert c.get(path).status_code == 200
        r = admin.post(f"{share_page}/{link_id}/revoke", data={"csrf": csrf_admin})
        assert r.status_code == 303
        gone = c.get(path)
        assert gone.status_code == 404 and "does not exist or has expired" in gone.text
        assert c.get(path, params={"panel": "sources"}, headers={"HX-Request": "true"}).status_code == 404
        assert c.post(path, data={"csrf": csrf, "password": "revoke me 123"}).status_code == 404
    assert "revoked" in admin.get(share_page).text


def test_expired_link_is_gone(admin: httpx.Client, anon: httpx.Client, dash: Dash) -> None:
    path, link_id = _share(admin, dash, expires="1h")
    assert anon.get(path).status_code == 200
    # The hour passes: move its expiry into the past, as the clock would.
    past = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with sqlite3.connect(dash.server.data / "meta.sqlite") as db:
        db.execute("UPDATE share_links SET expires_at = ? WHERE id = ?", (past, link_id))
    assert anon.get(path).status_code == 404


def test_unknown_tokens_are_404(anon: httpx.Client) -> None:
    for token in ("x", "A" * 43, "A" * 500, "%00" * 30):
        assert anon.get(f"/dashboard/share/{token}").status_code == 404


def test_embed_mode_and_frame_ancestors(admin: httpx.Client, anon: httpx.Client, dash: Dash, link: tuple[str, str]) -> None:
    r = anon.get(link[0], params={"embed": "true", "theme": "dark"})
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors *;" in csp
    assert "x-frame-options" not in r.headers
    assert "script-src 'self'" in csp  # the rest of the policy stays as strict
    assert '<header class="top">' not in r.text and "project-nav" not in r.text
    assert 'data-theme="dark"' in r.text and 'data-testid="kpi-visitors"' in r.text
    # Links inside the embed stay embedded.
    assert re.search(r'href="\?period=7d[^"]*embed=true&amp;theme=dark', r.text)
    # A link limited to some sites names exactly them.
    limited, _ = _share(admin, dash, origins="https://blog.example http://localhost:8080")
    r = anon.get(limited, params={"embed": "true"})
    assert "frame-ancestors https://blog.example http://localhost:8080;" in r.headers["content-security-policy"]
    # A password link's form may be framed too (embedded, it asks first), without chrome.
    locked, _ = _share(admin, dash, password="embedded pw 1")
    r = anon.get(locked, params={"embed": "true", "theme": "light"})
    assert 'data-testid="share-password"' in r.text and '<header class="top">' not in r.text
    assert "frame-ancestors *;" in r.headers["content-security-policy"]
    # The logged-in report never embeds, even when asked.
    r = admin.get(dash.report_path(), params={"embed": "true"})
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"] and "project-nav" in r.text


def test_only_admins_create_and_bad_forms_are_refused(admin: httpx.Client, dash: Dash) -> None:
    path = dash.report_path() + "/share"
    csrf = _csrf(admin.get(path).text)
    for form, message in (
        ({"password": "short"}, "at least 8"),
        ({"origins": "javascript:alert(1)"}, "Not an origin"),
        ({"expires": "forever"}, "expires"),
    ):
        r = admin.post(path, data={"csrf": csrf, **form})
        assert r.status_code == 400 and message in r.text
    assert admin.post(path, data={"csrf": "forged"}).status_code == 403
    viewer = login(dash.server, *VIEWER)
    vpath = dash.report_path(dash.other) + "/share"
    page = viewer.get(vpath)
    assert page.status_code == 200 and "Only an admin" in page.text and 'data-testid="share-form"' not in page.text
    r = viewer.post(vpath, data={"csrf": _csrf(page.text)})
    assert r.status_code == 403
    assert viewer.get(path).status_code == 404  # not their project
    viewer.close()


def test_embed_in_chromium_dark(pw_browser: Browser, dash: Dash, link: tuple[str, str]) -> None:
    ctx = pw_browser.new_context(viewport={"width": 1100, "height": 900})
    try:
        page = ctx.new_page()
        watch = PageWatch(page)
        page.goto(dash.server.url + link[0] + "?embed=true&theme=dark")
        page.wait_for_selector("#chart.drawn canvas")
        assert page.locator("header").count() == 0 and page.locator("nav.project-nav").count() == 0
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(15, 17, 21)"
        assert float(page.get_attribute('[data-testid="kpi-visitors"]', "data-value") or 0) == _total(dash, metric="uniques")
        assert watch.console_errors == [] and watch.page_errors == [] and watch.foreign_hosts() == set()
        page.screenshot(path=str(IMG / "dashboard-embed-dark.png"), full_page=True)
        # Framed by pages on other sites: the embed shows; the plain link is refused.
        framing = ctx.new_page()
        with _other_site(dash.server.url + link[0] + "?embed=true") as blog:
            framing.goto(blog)  # waits for the load event, which waits for the frame
            framing.frame_locator("iframe").locator('[data-testid="kpi-visitors"]').wait_for()
        with _other_site(dash.server.url + link[0]) as blog:
            framing.goto(blog)
            assert framing.frames[1].url.startswith("chrome-error://")  # frame-ancestors 'none'
    finally:
        ctx.close()


@contextlib.contextmanager
def _other_site(src: str) -> Iterator[str]:
    """Another origin (its own port on 127.0.0.1) serving a page that frames `src`."""
    body = f'<!doctype html><title>blog</title><iframe src="{src}" width="900" height="600"></iframe>'.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/"
    finally:
        srv.shutdown()
        srv.server_close()


def test_share_made_by_clicking_opens_logged_out(pw_browser: Browser, dash: Dash) -> None:
    ctx = pw_browser.new_context(viewport={"width": 1100, "height": 800})
    try:
        page = ctx.new_page()
        watch = PageWatch(page)
        page.goto(dash.server.url + dash.report_path(env="test"))
        page.fill("input[name=email]", ADMIN[0])
        page.fill("input[name=password]", ADMIN[1])
        page.click("form.login button[type=submit]")
        page.click('[data-testid="nav-share"]')
        page.fill('[data-testid="share-form"] input[name=label]', "Board meeting")
        page.fill('[data-testid="share-form"] input[name=password]', "board secret 1")
        page.select_option('[data-testid="share-form"] select[name=expires]', "30d")
        page.click('[data-testid="share-form"] button')
        url = page.input_value('[data-testid="share-url"]')
        page.screenshot(path=str(IMG / "dashboard-share.png"), full_page=True)
        assert watch.console_errors == [] and watch.page_errors == []
    finally:
        ctx.close()
    ctx = pw_browser.new_context(viewport={"width": 1100, "height": 800})  # nobody logged in
    try:
        page = ctx.new_page()
        watch = PageWatch(page)
        page.goto(url)
        page.fill("input[name=password]", "board secret 1")
        page.click('[data-testid="share-password"] button')
        page.wait_for_selector('[data-testid="kpi-visitors"]')
        assert page.is_visible('[data-testid="test-banner"]')  # made from the test env: test data
        assert page.locator('[data-testid="shared-project"]').inner_text() == "default"
        assert page.locator(".logout, nav.project-nav").count() == 0
        assert watch.console_errors == [] and watch.page_errors == [] and watch.foreign_hosts() == set()
    finally:
        ctx.close()


MARK = "<x-fuzz>"
TEXT = st.text(max_size=40).map(lambda t: t + MARK)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(st.sampled_from(["embed", "theme", "period", "segment", "panel", "source", "x"]),
                           st.one_of(st.sampled_from(["true", "dark", "light", "7d", "seg_000000000000"]), TEXT), max_size=5),
    form=st.dictionaries(st.sampled_from(["csrf", "password", "x"]), TEXT, max_size=3),
    token=st.one_of(st.just(""), st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC-_0123456789", min_size=1, max_size=200)),
)
def test_fuzz_share_urls_and_forms(anon: httpx.Client, link: tuple[str, str], params: dict[str, str], form: dict[str, str], token: str) -> None:
    r = anon.get(link[0], params=params)
    assert r.status_code == 200 and MARK not in r.text
    if token:
        r = anon.get(f"/dashboard/share/{token}", params=params)
        assert r.status_code == 404 and MARK not in r.text
        assert anon.post(f"/dashboard/share/{token}", data=form).status_code == 404
    r = anon.post(link[0], params=params, data=form)  # no password: back to the report
    assert r.status_code == 303 and MARK not in r.headers["location"].replace("%3Cx-fuzz%3E", "")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.dictionaries(st.sampled_from(["label", "password", "expires", "origins", "x"]),
                            st.one_of(st.sampled_from(["never", "1h", "https://a.example", "long enough pw"]), TEXT), max_size=5))
def test_fuzz_share_create_form(admin: httpx.Client, dash: Dash, form: dict[str, str]) -> None:
    path = dash.report_path() + "/share"
    csrf = _csrf(admin.get(path).text)
    r = admin.post(path, data={**form, "csrf": csrf})
    assert r.status_code in (201, 400), r.text[:500]
    assert MARK not in r.text.replace("&lt;x-fuzz&gt;", "")


def test_a_panel_shown_whole_on_a_link_has_no_member_navigation(anon: httpx.Client, link: tuple[str, str]) -> None:
    """The "show all" of a panel, opened as a page of its own (no htmx: a new tab, JavaScript
    off), answers on the link like the report: the project's name, no member navigation."""
    path, _id = link
    for extra in ({}, {"embed": "true"}):
        r = anon.get(path, params={**RANGE, "panel": "pages", "all": "1", **extra})
        assert r.status_code == 200, r.text[:500]
        assert 'data-testid="panel-pages"' in r.text and 'data-testid="back-to-report"' in r.text
        assert 'data-testid="env-switch"' not in r.text and "/dashboard/p/" not in r.text
    assert 'data-testid="shared-project"' in r.text or 'class="embed"' in r.text


def test_a_forged_unlock_cookie_asks_for_the_password(admin: httpx.Client, dash: Dash) -> None:
    path, _id = _share(admin, dash, password="cookie cutter 1")
    # A superscript two (one byte, read as Latin-1) passed `isdigit` and failed `int`: a 500.
    for forged in (b"\xb2.abc", "\u0661\u0662\u0663.abc".encode(), b"1.2.3", b"", b".", b"9" * 300):
        with httpx.Client(base_url=dash.server.url, timeout=30) as c:
            r = c.get(path, headers={"Cookie": b"footfall_share=" + forged})
            assert r.status_code == 200 and 'data-testid="share-password"' in r.text, forged


def test_the_test_envs_page_cannot_revoke_a_live_link(admin: httpx.Client, anon: httpx.Client, dash: Dash) -> None:
    path, link_id = _share(admin, dash, env="live")
    test_share = dash.report_path(env="test") + "/share"
    r = admin.post(f"{test_share}/{link_id}/revoke", data={"csrf": _csrf(admin.get(test_share).text)})
    assert r.status_code == 404
    assert anon.get(path, params=RANGE).status_code == 200


def test_a_flood_of_new_addresses_does_not_reset_a_links_guesses() -> None:
    """The login limiter once forgot every bucket past 50k: a flood of new e-mail addresses
    from many IPs gave a share password's guesser fresh tries."""
    from footfall.state import LoginLimiter

    limiter = LoginLimiter()
    guesses = [limiter.wait("198.51.100.7", "shr_1", kind="share") for _ in range(6)]
    assert guesses[:5] == [0.0] * 5 and guesses[5] > 0
    for i in range(LoginLimiter.MAX_BUCKETS):
        limiter.wait(f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}", f"a{i}@example.com")
    assert limiter.wait("198.51.100.7", "shr_1", kind="share") > 0
    # One address's refused flood makes no bucket per name it tries.
    one = LoginLimiter()
    for i in range(1000):
        one.wait("192.0.2.1", f"b{i}@example.com")
    assert len(one._buckets) < 40
