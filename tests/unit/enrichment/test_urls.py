"""URL parsing never raises and keeps what the classifier needs."""

from __future__ import annotations

import doctest
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.enrichment import urls
from footfall.enrichment.urls import ParsedUrl, host_of, parse_url


def test_full_url() -> None:
    u = parse_url("HTTPS://Shop.Example.COM:8443/a/b?utm_source=FB&x=1&x=2&empty=#frag")
    assert u == ParsedUrl(
        href="HTTPS://Shop.Example.COM:8443/a/b?utm_source=FB&x=1&x=2&empty=#frag",
        scheme="https",
        host="shop.example.com",
        path="/a/b",
        query="utm_source=FB&x=1&x=2&empty=",
        hash="frag",
        params={"utm_source": "FB", "x": "1", "empty": ""},
        params_all={"utm_source": ["FB"], "x": ["1", "2"], "empty": [""]},
    )


def test_www_is_kept() -> None:
    assert parse_url("https://WWW.example.com/").host == "www.example.com"


def test_percent_and_plus_decoding_keys_as_sent() -> None:
    u = parse_url("https://a.test/?UTM_Term=running+shoes&c=%E2%9C%93&q=a%26b")
    assert u.params == {"UTM_Term": "running shoes", "c": "✓", "q": "a&b"}


def test_relative_and_scheme_less() -> None:
    rel = parse_url("/pricing?utm_source=google")
    assert (rel.host, rel.path, rel.params) == ("", "/pricing", {"utm_source": "google"})
    bare = parse_url("yoursite.com/landing?gclid=x")
    assert (bare.host, bare.path, bare.params) == ("yoursite.com", "/landing", {"gclid": "x"})
    assert parse_url("?a=1").params == {"a": "1"}
    assert parse_url("//cdn.example.com/x").host == "cdn.example.com"


def test_ipv6_host_and_trailing_dot() -> None:
    assert parse_url("http://[2001:db8::1]:8080/x").host == "2001:db8::1"
    assert parse_url("https://example.com./").host == "example.com"


@pytest.mark.parametrize(
    "garbage",
    [None, "", "   ", "http://[::1", "https://exa mple.com/", "::::", "\x00\x01", "http://",
     "https://a.test:99999999/", "%", "ftp://" + "a" * 10000, 42, b"https://a.test/"],
)  # fmt: skip
def test_garbage_never_raises(garbage: Any) -> None:
    result = parse_url(garbage)
    assert isinstance(result, ParsedUrl)


def test_garbage_is_empty() -> None:
    assert parse_url(None) == ParsedUrl()
    assert parse_url("http://[::1") == ParsedUrl()
    assert parse_url("") == ParsedUrl()


@settings(database=None)  # no .hypothesis/ directory in the repo
@given(st.text(max_size=200))
def test_fuzz_parse_url_never_raises(text: str) -> None:
    assert isinstance(parse_url(text), ParsedUrl)
    host = host_of(text)
    assert host is None or (host == host.lower() and host)


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("https://www.Google.com/search?q=x", "www.google.com"),
        ("http://l.facebook.com:80/l.php", "l.facebook.com"),
        ("google.com", "google.com"),
        ("Google.COM", "google.com"),
        ("lnkd.in/abc", "lnkd.in"),
        ("//t.co/x", "t.co"),
        ("android-app://com.google.android.gm/", "com.google.android.gm"),
        ("android-app://com.google.android.googlequicksearchbox/https/www.google.com",
         "com.google.android.googlequicksearchbox"),
        ("ANDROID-APP://Com.Instagram.Android", "com.instagram.android"),
        ("ios-app://284882215/fb", "284882215"),
        ("", None),
        (None, None),
        ("/relative/path", None),
        ("not a url", None),
        ("null", None),
        ("android-app://", None),
        ("http://[::1", None),
    ],
)  # fmt: skip
def test_host_of(value: str | None, host: str | None) -> None:
    assert host_of(value) == host


def test_frozen() -> None:
    u = parse_url("https://a.test/")
    with pytest.raises(AttributeError):
        u.host = "b.test"  # type: ignore[misc]


def test_doctests() -> None:
    assert doctest.testmod(urls).failed == 0


def test_public_api() -> None:
    assert sorted(urls.__all__) == ["MAX_URL_LENGTH", "ParsedUrl", "host_of", "parse_url", "path_of"]
