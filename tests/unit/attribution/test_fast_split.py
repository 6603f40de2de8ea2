"""The classifier's fast path (string split of plain http(s) URLs, decisions cached by host,
attribution params and referrer host) must decide exactly as the full `parse_url` path."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.attribution import rules

# Pieces that exercise the split: separators, escapes, case, blanks, ports, userinfo, IPv6,
# non-ASCII, control characters urlsplit deletes, and every key the rules read.
KEYS = [*sorted(rules._ATTRIBUTION_KEYS), "UTM_Source", "utm_x", " gclid", "g%63lid", "utm%5Fmedium",
        "ref", "q", "", "fbclid"]
VALUES = ["", " ", "+", "%20", "google", "Facebook", "cpc", "Paid+Social", "paid%5Fsocial", "ig",
          "x=y", "a%26b", "%ZZ", "é", "t.co", "email", "spring sale", "fb-ads", "Yahoo!",
          "https://news.ycombinator.com/x"]
HOSTS = ["shop.example", "WWW.Shop.Example", "shop.example:8443", "u:p@shop.example", "[::1]",
         "[::1", "bücher.example", "", "shop.example.", "a b", "www.google.com", "l.facebook.com",
         "t.co", "mail.google.com", "checkout.stripe.com", "chatgpt.com", "x.com", "www.bing.com",
         "localhost:3000", "127.0.0.1", "deref-gmx.net", "webmail.isp.fr", "tdsf.doubleclick.net"]
SCHEMES = ["https://", "http://", "HTTPS://", "ftp://", "", "//", " https://"]
TAILS = ["", "/", "/p/1", "/a?b", "#frag?utm_source=x", "/p\t1", "/p\n", "/i/grok", "/chat",
         "/i/grok/x", "/I/Grok"]


@st.composite
def urls(draw: st.DrawFn) -> str:
    params = draw(st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from(VALUES),
                                     st.sampled_from(["=", "", "=="])), max_size=6))
    query = "&".join(k + sep + v for k, v, sep in params)
    return (draw(st.sampled_from(SCHEMES)) + draw(st.sampled_from(HOSTS))
            + draw(st.sampled_from(TAILS)) + (("?" + query) if query or draw(st.booleans()) else "")
            + draw(st.sampled_from(["", "#x", "#a=1&gclid=2"])))


referrers = st.one_of(st.none(), st.sampled_from(["", "  "]), urls(),
                      st.sampled_from(["android-app://com.google.android.gm/", "not a url",
                                       "file:///x.html", "chrome-extension://abc/"]))
own = st.sampled_from([frozenset(), frozenset({"shop.example"})])


@settings(max_examples=400, deadline=None)
@given(urls(), referrers, own)
def test_fast_path_decides_as_the_full_parse(url: str, referrer: str | None, own_hosts: frozenset[str]) -> None:
    expected = rules._classify(url, referrer, own_hosts, full_parse=True)
    assert rules._classify(url, referrer, own_hosts) == expected
    assert rules.classify(url, referrer, own_hosts) == expected
    assert rules.classify(url, referrer, own_hosts) == expected  # from the decision cache


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(urls(), referrers), min_size=2, max_size=8))
def test_cached_decisions_never_leak_between_visits(visits: list[tuple[str, str | None]]) -> None:
    rules.clear_cache()
    for url, referrer in visits:  # same key, other click id values: each keeps its own
        assert rules.classify(url, referrer) == rules._classify(url, referrer, frozenset(), full_parse=True)
