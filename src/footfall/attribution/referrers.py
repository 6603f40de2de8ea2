"""Known referrer hosts: search engines, social networks, webmail, AI assistants, ...

The data lives in ``data/referrers.json`` (built by ``scripts/build_referrers.py`` from the
Matomo, GA4 and PostHog lists; see ``data/README.md``). It is loaded once, lazily.

Matching is on label boundaries: a listed host matches itself and its subdomains, never a
host that merely contains it. The most specific entry wins: the longest matching suffix, a
listed host before a pattern of the same length, and among patterns the one with the most
literal labels (``shopping.naver.com`` is shopping although ``naver.com`` is search).

>>> lookup("news.google.co.uk")
ReferrerInfo(kind='search', name='google', matched='news.google.{}')
>>> lookup("chatgpt.com.evil.org") is None
True
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any

import msgspec

__all__ = [
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

# "ads": a network's ad-serving host (Google's doubleclick.net, googlesyndication.com …)
KINDS = frozenset({"search", "social", "email", "ai", "shopping", "video", "payment", "ads"})

# {} stands for a TLD or country code: one label, or a second-level label + a country code.
_TLD = r"(?:(?:co|com|net|org|gov|edu|ac|ne|or|go|gob|mil|nic)\.[a-z]{2}|[a-z]{2,12})"
_HEAD = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"


class ReferrerInfo(msgspec.Struct, frozen=True):
    """``kind`` is one of :data:`KINDS`; ``name`` the lower-case source name (``google``);
    ``matched`` the listed host or pattern that matched."""

    kind: str
    name: str
    matched: str


class _Data:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.version: str = raw["version"]
        self.hosts: dict[str, tuple[str, str]] = {h: (v[0], v[1]) for h, v in raw["hosts"].items()}
        self.aliases: dict[str, str] = dict(raw.get("aliases", {}))
        self.source_categories: dict[str, str] = dict(raw.get("source_categories", {}))
        self.source_names: dict[str, str] = dict(raw.get("source_names", {}))
        patterns: dict[str, tuple[str, str]] = {
            p: (v[0], v[1]) for p, v in raw.get("patterns", {}).items()
        }
        # Most specific first: the regex alternation below takes the first alternative that
        # matches, so a pattern with more literal labels / characters must come first.
        self.pattern_keys = sorted(patterns, key=_pattern_specificity)
        self.pattern_values = [patterns[p] for p in self.pattern_keys]
        alternatives = []
        for i, pattern in enumerate(self.pattern_keys):
            labels = pattern.split(".")
            body = r"\.".join(
                (_TLD if j == len(labels) - 1 else _HEAD) if lab == "{}" else re.escape(lab)
                for j, lab in enumerate(labels)
            )
            alternatives.append(f"(?P<p{i}>{body})")
        self.pattern_re = (
            re.compile("^(?:" + "|".join(alternatives) + ")$") if alternatives else None
        )
        # "host/path-prefix" entries (x.com/i/grok is Grok, x.com is X), longest prefix first
        self.paths: dict[str, list[tuple[str, str, str]]] = {}
        for key, (kind, name) in sorted(raw.get("paths", {}).items(), key=lambda kv: -len(kv[0])):
            host, _, prefix = key.partition("/")
            self.paths.setdefault(host, []).append(("/" + prefix, kind, name))
        # whole-host rules for hosts no list names (webmail.<isp>, deref-<provider>.<tld>)
        self.host_rules = [(re.compile(rx), kind) for rx, kind in raw.get("host_rules", [])]
        self.paid_sources: dict[str, str] = dict(raw.get("paid_sources", {}))
        affixes = "|".join(re.escape(a) for a in raw.get("paid_affixes", []))
        self.paid_affix = re.compile(
            rf"^(?:(?P<head>.+?)[\s_.-]*(?:{affixes})|(?:{affixes})[\s_.-]*(?P<tail>.+))$"
            if affixes else r"(?!)"
        )


def _pattern_specificity(pattern: str) -> tuple[int, int, str]:
    literal = [lab for lab in pattern.split(".") if lab != "{}"]
    return (-len(literal), -sum(map(len, literal)), pattern)


@functools.cache
def _data() -> _Data:
    text = (
        resources.files("footfall.attribution").joinpath("data/referrers.json").read_text("utf-8")
    )
    return _Data(json.loads(text))


def data_version() -> str:
    """Version of the bundled referrer data (collection date + input digest)."""
    return _data().version


def aliases() -> dict[str, str]:
    """``utm_source`` spellings that name a known network (``ig`` -> ``instagram``)."""
    return dict(_data().aliases)


@functools.cache
def ai_names() -> frozenset[str]:
    """Source names of the AI assistants in the data (``chatgpt``, ``claude``, ``gemini`` ...).

    >>> {"chatgpt", "claude", "perplexity"} <= ai_names()
    True
    """
    data = _data()
    return frozenset(
        name for kind, name in (*data.hosts.values(), *data.pattern_values) if kind == "ai"
    )


def source_category(source: str) -> str | None:
    """Category of a bare source name from the GA4/PostHog lists (``google`` -> ``search``)."""
    return _data().source_categories.get(source.strip().lower())


@functools.cache
def path_hosts() -> frozenset[str]:
    """Hosts with path-qualified entries (``x.com`` for ``x.com/i/grok``)."""
    return frozenset(_data().paths)


def lookup_path(host: str | None, path: str | None) -> ReferrerInfo | None:
    """The path-qualified entry for ``host`` + ``path`` (``x.com`` + ``/i/grok/…`` is Grok),
    matching the path prefix on segment boundaries; None when there is none.

    >>> lookup_path("www.x.com", "/i/grok?conversation=1").name, lookup_path("x.com", "/i/grokking")
    ('grok', None)
    """
    if not host or not path:
        return None
    bare = _normalise(host).removeprefix("www.")
    for prefix, kind, name in _data().paths.get(bare) or ():
        if path == prefix or (path.startswith(prefix) and path[len(prefix)] in "/?#"):
            return ReferrerInfo(kind, name, bare + prefix)
    return None


@functools.lru_cache(maxsize=4096)
def paid_source(value: str) -> str | None:
    """The network a paid ``utm_source`` spelling names (``fb-ads``, ``fbad``,
    ``Google_Ads``, ``ads-tiktok``, ``adwords`` …), else None.

    >>> paid_source("fb-ads"), paid_source("Reddit_Ads"), paid_source("adwords"), paid_source("ipad")
    ('facebook', 'reddit', 'google', None)
    """
    data = _data()
    s = value.strip().lower()
    if s in data.paid_sources:
        return data.paid_sources[s]
    m = data.paid_affix.match(s)
    if m is None:
        return None
    base = (m.group("head") or m.group("tail") or "").strip(" _.-")
    name = data.aliases.get(base, base)
    return name if len(name) > 1 and _network(name) else None


def _network(name: str) -> bool:
    """Whether ``name`` is a network some list knows (``facebook``, ``reddit``, ``google``)."""
    data = _data()
    return name in data.source_categories or name in _known_names()


@functools.cache
def _known_names() -> frozenset[str]:
    data = _data()
    return frozenset(name for _kind, name in (*data.hosts.values(), *data.pattern_values))


def source_name_kind(name: str) -> str | None:
    """Kind of a bare source name of the curated lists (``slack`` -> ``social``,
    ``ecosia`` -> ``search``, ``perplexity`` -> ``ai``); GA4's own names are in
    :func:`source_category`."""
    return _data().source_names.get(name.strip().lower())


def _normalise(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") or ("://" in host) or "/" in host:
        return ""
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@functools.lru_cache(maxsize=65536)
def lookup(host: str | None) -> ReferrerInfo | None:
    """The known referrer for ``host`` (or an Android package name), most specific first.

    Suffixes of ``host`` are tried from the longest down; at each length a listed host is
    tried before the patterns, so a listed subdomain overrides its parent.

    >>> lookup("l.facebook.com")
    ReferrerInfo(kind='social', name='facebook', matched='l.facebook.com')
    >>> lookup("m.shopping.naver.com"), lookup("naver.com")
    (ReferrerInfo(kind='shopping', name='naver', matched='m.shopping.naver.com'), \
ReferrerInfo(kind='search', name='naver', matched='naver.com'))
    >>> lookup("microsoft.com") is None
    True
    """
    if not host:
        return None
    h = _normalise(host)
    if not h or "." not in h:
        return None
    data = _data()
    labels = h.split(".")
    for i in range(len(labels) - 1):
        suffix = ".".join(labels[i:])
        hit = data.hosts.get(suffix)
        if hit is not None:
            return ReferrerInfo(hit[0], hit[1], suffix)
        if data.pattern_re is not None and (m := data.pattern_re.match(suffix)):
            idx = int((m.lastgroup or "p0")[1:])
            kind, name = data.pattern_values[idx]
            return ReferrerInfo(kind, name, data.pattern_keys[idx])
        if i == 0:
            for rule, kind in data.host_rules:
                if rule.match(h):
                    return ReferrerInfo(kind, _site_name(labels), rule.pattern)
    return None


_SLD = frozenset({"co", "com", "net", "org", "gov", "edu", "ac", "ne", "or", "go", "gob"})


def _site_name(labels: list[str]) -> str:
    """The registrable label of a host: ``webmail.isp.co.uk`` -> ``isp``."""
    if len(labels) >= 3 and labels[-2] in _SLD and len(labels[-1]) == 2:
        return labels[-3]
    return labels[-2]
