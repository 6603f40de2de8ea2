"""User-agent parsing via ua_parser's Rust resolver."""

from __future__ import annotations

import doctest
from typing import Any

import pytest

from footfall.enrichment import useragent
from footfall.enrichment.useragent import Device, parse_user_agent

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
)
WIN_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Safari/605.1.15"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
CUBOT = (
    "Mozilla/5.0 (Linux; Android 12; CUBOT X50) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)


def test_iphone_safari() -> None:
    assert parse_user_agent(IPHONE) == Device(
        browser="Mobile Safari",
        browser_version="17.2",
        os="iOS",
        os_version="17.2",
        device_type="mobile",
        brand="Apple",
        model="iPhone",
        is_bot=False,
    )


@pytest.mark.parametrize(
    ("ua", "browser", "os", "device_type", "brand"),
    [
        (IPAD, "Mobile Safari", "iOS", "tablet", "Apple"),
        (WIN_CHROME, "Chrome", "Windows", "desktop", None),
        (MAC_SAFARI, "Safari", "Mac OS X", "desktop", "Apple"),
        (ANDROID_PHONE, "Chrome Mobile", "Android", "mobile", "Samsung"),
        (ANDROID_TABLET, "Chrome", "Android", "tablet", None),
        (FIREFOX_LINUX, "Firefox", "Linux", "desktop", None),
        (CUBOT, "Chrome Mobile", "Android", "mobile", "Cubot"),  # "bot" inside a brand name
    ],
)
def test_devices(ua: str, browser: str, os: str, device_type: str, brand: str | None) -> None:
    d = parse_user_agent(ua)
    assert (d.browser, d.os, d.device_type, d.brand, d.is_bot) == (
        browser,
        os,
        device_type,
        brand,
        False,
    )


def test_versions() -> None:
    assert parse_user_agent(WIN_CHROME).browser_version == "120.0.0"
    assert parse_user_agent(WIN_CHROME).os_version == "10"
    assert parse_user_agent(MAC_SAFARI).os_version == "10.15.7"
    assert parse_user_agent(ANDROID_PHONE).model == "SM-S918B"


@pytest.mark.parametrize(
    "ua",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
        "curl/8.4.0",
        "Wget/1.21",
        "python-requests/2.31.0",
        "python-httpx/0.27.0",
        "Go-http-client/1.1",
        "okhttp/4.12.0",
        "Java/17.0.2",
        "Scrapy/2.11 (+https://scrapy.org)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        "Some-Crawler/1.0",
        "UptimeRobot/2.0",
    ],
)  # fmt: skip
def test_bots(ua: str) -> None:
    d = parse_user_agent(ua)
    assert d.is_bot is True
    assert d.device_type == "bot"


def test_spider_brand_and_model_hidden() -> None:
    d = parse_user_agent("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
    assert (d.brand, d.model) == (None, None)


@pytest.mark.parametrize("ua", [None, "", "   ", "garbage", "x" * 100_000, 42])
def test_unknown_or_junk(ua: Any) -> None:
    d = parse_user_agent(ua)
    assert d.device_type == "other"
    assert d.is_bot is False
    assert d.browser is None and d.os is None


def test_rust_resolver_is_used() -> None:
    import ua_parser_rs
    from ua_parser.regex import Resolver

    assert useragent.RESOLVER == "regex"
    resolver = useragent._parser.resolver
    assert isinstance(resolver, Resolver)
    assert isinstance(resolver.ua, ua_parser_rs.UserAgentExtractor)
    assert isinstance(resolver.de, ua_parser_rs.DeviceExtractor)


def test_results_are_cached() -> None:
    parse_user_agent.cache_clear()
    first = parse_user_agent(IPHONE)
    assert parse_user_agent(IPHONE) is first
    info = parse_user_agent.cache_info()
    assert (info.hits, info.maxsize) == (1, 10000)


def test_doctests() -> None:
    assert doctest.testmod(useragent).failed == 0


def test_public_api() -> None:
    assert sorted(useragent.__all__) == ["BOT_PATTERN", "Device", "HTTP_TOOL_PATTERN", "RESOLVER", "is_http_tool", "parse_user_agent"]


def test_the_maintained_crawler_list_is_consulted() -> None:
    from footfall.enrichment.useragent import BOT_PATTERN, parse_user_agent

    ua = "ia_archiver"
    assert not BOT_PATTERN.search(ua)  # only the list knows this one
    assert parse_user_agent(ua).is_bot
