"""User-agent parsing: browser, OS, device type and bot detection.

Uses ``ua_parser`` 1.x with the Rust-accelerated ``ua_parser_rs`` resolver (installed by
``ua-parser[regex]``), falling back to the pure-Python resolver only if it is missing
(:data:`RESOLVER` says which one is in use). Results are cached per UA string.

>>> d = parse_user_agent("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
...                      "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1")
>>> (d.browser, d.os, d.os_version, d.device_type, d.brand, d.model)
('Mobile Safari', 'iOS', '16.6', 'tablet', 'Apple', 'iPad')
"""

from __future__ import annotations

import functools
import re

import msgspec
import ua_parser
from crawleruseragents import is_crawler
from ua_parser import Domain, Parser, load_lazy_builtins

__all__ = ["BOT_PATTERN", "HTTP_TOOL_PATTERN", "RESOLVER", "Device", "is_http_tool", "parse_user_agent"]

try:
    from ua_parser.regex import Resolver as _RegexResolver

    _resolver: ua_parser.Resolver = _RegexResolver(load_lazy_builtins())
    RESOLVER = "regex"
    """Name of the ua_parser resolver in use: ``regex`` (Rust, ``ua_parser_rs``) or ``basic``."""
except ImportError:  # pragma: no cover - ua-parser[regex] is a declared dependency
    _resolver = ua_parser.BasicResolver(ua_parser.load_builtins())
    RESOLVER = "basic"

_parser = Parser(_resolver)

_MAX_UA = 1024
BOT_PATTERN = re.compile(
    r"bot\b|bot/|crawler|crawl|spider|slurp|headless|phantomjs|puppeteer|playwright|selenium|"
    r"webdriver|lighthouse|pagespeed|pingdom|uptimerobot|monitor|curl/|wget/|python-requests|"
    r"python-urllib|python-httpx|httpx/|aiohttp|go-http-client|okhttp|java/|apache-httpclient|"
    r"libwww|scrapy|axios/|node-fetch|undici|facebookexternalhit|embedly|preview|"
    r"feedfetcher|mediapartners|google-inspectiontool|bingpreview|ahrefs|semrush|mj12|petalbot",
    re.IGNORECASE,
)
# HTTP libraries and command-line tools: a bot when they use a public browser key, but the
# normal sender of server-side events (secret keys), where they describe the sender's backend.
HTTP_TOOL_PATTERN = re.compile(
    r"^(curl|wget|python-requests|python-urllib|python-httpx|httpx|aiohttp|go-http-client|"
    r"okhttp|java|apache-httpclient|libwww-perl|axios|node-fetch|undici|node|ruby|php|"
    r"guzzlehttp|dart|footfall-[a-z]+)\b",
    re.IGNORECASE,
)


def is_http_tool(ua: str | None) -> bool:
    """True for HTTP libraries and command-line tools.

    >>> is_http_tool("curl/8.5.0"), is_http_tool("Mozilla/5.0 (compatible; Googlebot/2.1)")
    (True, False)
    """
    return bool(ua) and bool(HTTP_TOOL_PATTERN.match(ua.strip()))  # type: ignore[union-attr]


# Device names that contain a bot keyword but are phones.
_NOT_BOT = re.compile(r"\bcubot\b", re.IGNORECASE)
_DESKTOP_OS = frozenset(
    {"Windows", "Mac OS X", "macOS", "Linux", "Ubuntu", "Chrome OS", "ChromeOS", "Fedora",
     "FreeBSD", "OpenBSD", "NetBSD", "Debian", "Mint", "Arch Linux", "Solaris", "Gentoo"}
)  # fmt: skip
_MOBILE_OS = frozenset({"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "HarmonyOS"})
_GENERIC_BRANDS = frozenset({"Generic", "Generic_Android", "Generic_Android_Tablet", "Spider"})
_TABLET_HINTS = re.compile(r"ipad|tablet|kindle|silk/|playbook|nexus (?:7|9|10)\b", re.IGNORECASE)
_MOBILE_HINTS = re.compile(r"mobile|iphone|ipod|phone|android.*mobile", re.IGNORECASE)


class Device(msgspec.Struct, frozen=True, kw_only=True):
    """What a user agent says about the visitor's software and hardware.
    ``device_type`` is ``mobile``, ``tablet``, ``desktop``, ``bot`` or ``other``."""

    browser: str | None = None
    browser_version: str | None = None
    os: str | None = None
    os_version: str | None = None
    device_type: str = "other"
    brand: str | None = None
    model: str | None = None
    is_bot: bool = False


_EMPTY = Device()


def _version(*parts: str | None) -> str | None:
    out: list[str] = []
    for p in parts:
        if p is None or p == "":
            break
        out.append(p)
    return ".".join(out) or None


def _is_bot(ua: str, device_family: str | None) -> bool:
    if device_family == "Spider":
        return True
    if _NOT_BOT.search(ua):
        return False
    # The maintained crawler list (crawler-user-agents, MIT) first; our own keywords catch
    # tools and monitors it leaves out.
    return is_crawler(ua) or bool(BOT_PATTERN.search(ua))


def _device_type(ua: str, os_family: str | None, family: str | None, brand: str | None) -> str:
    joined = f"{family or ''} {brand or ''}"
    if _TABLET_HINTS.search(joined) or _TABLET_HINTS.search(ua):
        return "tablet"
    if os_family == "Android":
        return "mobile" if "mobile" in ua.lower() else "tablet"
    if os_family in _MOBILE_OS or _MOBILE_HINTS.search(joined) or _MOBILE_HINTS.search(ua):
        return "mobile"
    if os_family in _DESKTOP_OS:
        return "desktop"
    return "other"


@functools.lru_cache(maxsize=10000)
def parse_user_agent(ua: str | None) -> Device:
    """Parse a User-Agent header. Unknown parts are ``None``; never raises.

    >>> parse_user_agent("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)").device_type
    'bot'
    """
    if not ua or not isinstance(ua, str) or not ua.strip():
        return _EMPTY
    ua = ua.strip()[:_MAX_UA]
    try:
        result = _parser(ua, Domain.ALL)
    except Exception:  # pragma: no cover - defensive: a parser bug must not drop an event
        return _EMPTY
    agent, os_, dev = result.user_agent, result.os, result.device
    browser = agent.family if agent and agent.family != "Other" else None
    os_family = os_.family if os_ and os_.family != "Other" else None
    dev_family = dev.family if dev and dev.family != "Other" else None
    brand = dev.brand if dev and dev.brand not in _GENERIC_BRANDS else None
    model = dev.model if dev and dev.brand != "Spider" else None
    bot = _is_bot(ua, dev_family)
    kind = "bot" if bot else _device_type(ua, os_family, dev_family, dev.brand if dev else None)
    return Device(
        browser=browser,
        browser_version=_version(agent.major, agent.minor, agent.patch) if agent else None,
        os=os_family,
        os_version=_version(os_.major, os_.minor, os_.patch) if os_ else None,
        device_type=kind,
        brand=brand,
        model=model,
        is_bot=bot,
    )
