"""Referrer host data: label-boundary matching, country patterns, package data and licences."""

from __future__ import annotations

import doctest
import json
import re
from importlib import resources

import pytest

from footfall.attribution import referrers
from footfall.attribution.referrers import (
    KINDS,
    ReferrerInfo,
    data_version,
    lookup,
    source_category,
)


@pytest.mark.parametrize(
    ("host", "kind", "name"),
    [
        ("google.com", "search", "google"),
        ("www.google.com", "search", "google"),
        ("google.de", "search", "google"),
        ("www.google.co.uk", "search", "google"),
        ("google.com.au", "search", "google"),
        ("www.google.co.in", "search", "google"),
        ("google.ch", "search", "google"),
        ("images.google.com", "search", "google"),
        ("images.google.fr", "search", "google"),
        ("news.google.com", "search", "google"),
        ("news.google.co.uk", "search", "google"),
        ("www.bing.com", "search", "bing"),
        ("cn.bing.com", "search", "bing"),
        ("duckduckgo.com", "search", "duckduckgo"),
        ("yandex.ru", "search", "yandex"),
        ("yandex.com.tr", "search", "yandex"),
        ("www.yandex.kz", "search", "yandex"),
        ("baidu.com", "search", "baidu"),
        ("m.baidu.com", "search", "baidu"),
        ("search.yahoo.com", "search", "yahoo"),
        ("de.search.yahoo.com", "search", "yahoo"),
        ("com.google.android.googlequicksearchbox", "search", "google"),
        ("facebook.com", "social", "facebook"),
        ("l.facebook.com", "social", "facebook"),
        ("lm.facebook.com", "social", "facebook"),
        ("m.facebook.com", "social", "facebook"),
        ("l.instagram.com", "social", "instagram"),
        ("t.co", "social", "twitter"),
        ("x.com", "social", "twitter"),
        ("lnkd.in", "social", "linkedin"),
        ("out.reddit.com", "social", "reddit"),
        ("youtube.com", "social", "youtube"),
        ("com.google.android.youtube", "video", "youtube"),
        ("mail.google.com", "email", "gmail"),
        ("outlook.live.com", "email", "outlook"),
        ("mail.yahoo.com", "email", "yahoo_mail"),
        ("mail.yandex.ru", "email", "yandex_mail"),  # GA4 calls it search; webmail wins
        ("com.google.android.gm", "email", "google"),
        ("chatgpt.com", "ai", "chatgpt"),
        ("www.perplexity.ai", "ai", "perplexity"),
        ("gemini.google.com", "ai", "gemini"),  # more specific than google.com
        ("copilot.microsoft.com", "ai", "copilot"),
        ("amazon.com", "shopping", "amazon"),
        ("checkout.stripe.com", "payment", "stripe"),
        ("www.paypal.com", "payment", "paypal"),
    ],
)
def test_known_hosts(host: str, kind: str, name: str) -> None:
    info = lookup(host)
    assert info is not None
    assert (info.kind, info.name) == (kind, name)


@pytest.mark.parametrize(
    "host",
    [
        "chatgpt.com.evil.org",
        "notchatgpt.com",
        "microsoft.com",  # must not match t.co
        "www.microsoft.com",
        "evilgoogle.com",
        "google.evil.org",
        "google.com.evil.org",
        "facebook.com.example",
        "mail.google.com.attacker.io",
        "l.facebook.co",
        "example.com",
        "localhost",
        "com",
        "co.uk",
        "",
        None,
        "http://google.com/",  # a URL, not a host
        "[::1]",
    ],
)
def test_unknown_hosts(host: str | None) -> None:
    assert lookup(host) is None


def test_normalisation() -> None:
    assert lookup("WWW.GOOGLE.COM") == lookup("google.com")
    assert lookup("www.google.com.") is not None
    assert lookup("www.google.com:443") is not None


def test_longest_match_wins() -> None:
    assert lookup("mail.google.com") == ReferrerInfo("email", "gmail", "mail.google.com")
    assert lookup("x.mail.google.com") == ReferrerInfo("email", "gmail", "mail.google.com")
    assert lookup("www.google.com") == ReferrerInfo("search", "google", "google.com")


@pytest.mark.parametrize(
    ("host", "kind", "name", "matched"),
    [
        # GA4 / PostHog list subdomains of a listed parent host with another category
        ("shopping.naver.com", "shopping", "naver", "shopping.naver.com"),
        ("m.shopping.naver.com", "shopping", "naver", "m.shopping.naver.com"),
        ("deep.shopping.naver.com", "shopping", "naver", "shopping.naver.com"),
        ("blog.naver.com", "social", "naver", "blog.naver.com"),
        ("naver.com", "search", "naver", "naver.com"),
        ("cafe.naver.com", "social", "naver", "cafe.naver.com"),
        ("other.naver.com", "search", "naver", "naver.com"),
        ("groups.google.com", "social", "google", "groups.google.com"),
        ("sites.google.com", "social", "google", "sites.google.com"),
        ("www.sites.google.com", "social", "google", "sites.google.com"),
        ("news.google.com", "search", "google", "news.google.com"),
        ("images.google.com", "search", "google", "images.google.com"),
        ("mail.google.com", "email", "gmail", "mail.google.com"),
        ("www.google.com", "search", "google", "google.com"),
        ("shop.tiktok.com", "shopping", "tiktok", "shop.tiktok.com"),
        ("www.tiktok.com", "social", "tiktok", "tiktok.com"),
        ("m.youtube.com", "video", "youtube", "m.youtube.com"),
        ("m.vk.com", "social", "vkontakte", "m.vk.com"),  # keeps the parent's source name
        ("news.google.co.uk", "search", "google", "news.google.{}"),  # pattern, longer suffix
        ("x.scholar.google.fr", "search", "google", "scholar.google.{}"),  # not google.fr
    ],
)
def test_most_specific_entry_wins(host: str, kind: str, name: str, matched: str) -> None:
    assert lookup(host) == ReferrerInfo(kind, name, matched)


def test_every_listed_subdomain_is_kept() -> None:
    hosts = json.loads(
        resources.files("footfall.attribution").joinpath("data/referrers.json").read_bytes()
    )["hosts"]
    for host in ("naver.com", "shopping.naver.com", "cr.shopping.naver.com", "google.com",
                 "groups.google.com", "sites.google.com", "messages.google.com"):  # fmt: skip
        assert host in hosts, host


def test_most_literal_pattern_wins() -> None:
    # Alphabetically "x.{}.{}.com" sorts first; "{}.b.c.com" names more labels and must win.
    data = referrers._Data(
        {
            "version": "test",
            "hosts": {},
            "patterns": {"x.{}.{}.com": ["search", "generic"], "{}.b.c.com": ["social", "bc"]},
        }
    )
    assert data.pattern_keys == ["{}.b.c.com", "x.{}.{}.com"]
    assert data.pattern_re is not None
    m = data.pattern_re.match("x.b.c.com")
    assert m is not None and m.lastgroup == "p0"
    m = data.pattern_re.match("x.y.z.com")
    assert m is not None and m.lastgroup == "p1"


def test_ai_names() -> None:
    names = referrers.ai_names()
    assert isinstance(names, frozenset)
    assert {"chatgpt", "claude", "perplexity", "gemini", "copilot"} <= names
    assert "google" not in names and "facebook" not in names


def test_pattern_tld_must_look_like_a_tld() -> None:
    assert lookup("google.co.jp") is not None
    assert lookup("google.something.jp") is None  # only co/com/net/... may precede a country code


def test_lookup_is_cached() -> None:
    lookup.cache_clear()
    lookup("www.google.com")
    lookup("www.google.com")
    assert lookup.cache_info().hits >= 1


def test_source_category_and_aliases() -> None:
    assert source_category("Google") == "search"
    assert source_category("ig") == "social"
    assert source_category("no-such-source") is None
    assert referrers.aliases()["ig"] == "instagram"
    assert referrers.aliases()["fb"] == "facebook"


def test_package_data_shape_and_size() -> None:
    root = resources.files("footfall.attribution").joinpath("data")
    raw = root.joinpath("referrers.json").read_bytes()
    assert len(raw) < 1_000_000
    data = json.loads(raw)
    assert data["version"] == data_version()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}\.[0-9a-f]{12}", data["version"])
    assert len(data["hosts"]) > 1500
    for host, (kind, name) in data["hosts"].items():
        assert kind in KINDS, host
        assert name == name.lower() and name, host
        assert host == host.lower() and "/" not in host and "{}" not in host
    assert all("{}" in p for p in data["patterns"])
    assert "google.{}" in data["patterns"]


def test_licences_and_readme_are_shipped() -> None:
    root = resources.files("footfall.attribution").joinpath("data")
    for vendor in ("matomo", "ga4", "posthog"):
        assert root.joinpath("licenses", f"{vendor}.txt").read_text("utf-8").strip()
    assert "CC0" in root.joinpath("licenses", "matomo.txt").read_text("utf-8")
    readme = root.joinpath("README.md").read_text("utf-8")
    for origin in (
        "github.com/matomo-org/searchengine-and-social-list",
        "github.com/Velir/dbt-ga4",
        "github.com/PostHog/posthog",
    ):
        assert origin in readme
    assert data_version() in readme


def test_doctests() -> None:
    assert doctest.testmod(referrers).failed == 0


def test_public_api() -> None:
    assert sorted(referrers.__all__) == sorted(
        [
            "KINDS",
            "ReferrerInfo",
            "ai_names",
            "aliases",
            "data_version",
            "lookup",
            "lookup_path",
            "paid_source",
            "path_hosts",
            "source_category",
            "source_name_kind",
        ]
    )
