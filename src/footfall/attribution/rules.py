"""Source/medium classifier: Millimetric's published rule order, first match wins.

``classify(url, referrer)`` reads the landing URL's query (utm_* and click ids) and the
referrer host and returns an :class:`Attribution` naming the rule that fired, so stored
history can be audited and re-classified when the rules or the referrer data change.

The rules are an ordered tuple of named predicates over plain values (:data:`RULES`). The
GA4 channel (:mod:`footfall.attribution.channels`) is computed from the same decision and put
in :attr:`Attribution.channel`.

>>> a = classify("https://shop.test/?utm_source=facebook&utm_medium=cpc&fbclid=abc",
...              "https://l.facebook.com/")
>>> (a.source, a.medium, a.confidence, a.rule_id, a.channel)
('facebook', 'paid', 'high', 'fb_ad_redirect', 'Paid Social')
>>> classify(None, None).rule_id
'direct'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote_plus

import msgspec

from footfall.attribution.channels import (
    SOURCE_CATEGORY_EMAIL,
    SOURCE_CATEGORY_SEARCH,
    SOURCE_CATEGORY_SOCIAL,
    SOURCE_CATEGORY_VIDEO,
    category_of,
    channel_for,
    is_email_tag,
    referrer_category,
)
from footfall.attribution.referrers import (
    ReferrerInfo,
    data_version,
    lookup,
    lookup_path,
    paid_source,
    path_hosts,
    source_category,
    source_name_kind,
)
from footfall.attribution.referrers import aliases as _aliases
from footfall.enrichment.urls import MAX_URL_LENGTH, host_of, parse_url, path_of

__all__ = [
    "CAMPAIGN_ALIASES",
    "CLICK_IDS",
    "PAID_MEDIUMS",
    "RULES",
    "RULE_IDS",
    "Attribution",
    "Signals",
    "classify",
    "is_paid_medium",
    "signals",
]

# Exact utm_medium values (after lower-casing and mapping "-"/" " to "_") that mean paid.
PAID_MEDIUMS = frozenset(
    {
        "cpc", "ppc", "paid", "paid_social", "paidsocial", "cpm", "cpv", "cpa", "cpi", "cpl",
        "cpe", "display", "banner", "expandable", "interstitial", "paid_search", "paidsearch",
        "sem", "retargeting", "remarketing", "ads", "ad", "paid_media", "paidmedia", "paid_video",
        "paid_display", "sponsored", "promoted",
    }
)  # fmt: skip

# Click ids in priority order -> (source, rule id). fbclid is handled by rules 5, 6 and 11.
CLICK_IDS: tuple[tuple[str, str], ...] = (
    ("gclid", "google"),
    ("msclkid", "bing"),
    ("ttclid", "tiktok"),
    ("li_fat_id", "linkedin"),
    ("gbraid", "google"),
    ("wbraid", "google"),
    ("gad_source", "google"),
    ("dclid", "google"),
    ("twclid", "twitter"),
    ("epik", "pinterest"),
    ("rdt_cid", "reddit"),
    ("sccid", "snapchat"),
    ("fbclid", "facebook"),
)
_CLICK_SOURCE = dict(CLICK_IDS)
_FB_REDIRECTS = frozenset({"l.facebook.com", "lm.facebook.com"})
_FB_NETWORKS = frozenset({"facebook", "instagram", "meta"})
# `source` and `ref` name the source like utm_source where it is missing (launch sites,
# directories and newsletters link with `?ref=<site>`), in this order of precedence.
_TAG_KEYS = ("utm_source", "source", "ref")
_LOOSE_TAG_KEYS = _TAG_KEYS[1:]  # not a campaign's: ignored on a link from the site itself
# Matomo's (and Piwik's) campaign parameters, read as the utm_* they stand for when that is
# missing: ?pk_campaign=spring is a campaign as much as ?utm_campaign=spring.
CAMPAIGN_ALIASES: dict[str, str] = {
    "mtm_source": "utm_source", "pk_source": "utm_source", "matomo_source": "utm_source",
    "mtm_medium": "utm_medium", "pk_medium": "utm_medium", "matomo_medium": "utm_medium",
    "mtm_campaign": "utm_campaign", "pk_campaign": "utm_campaign",
    "matomo_campaign": "utm_campaign", "piwik_campaign": "utm_campaign",
    "mtm_keyword": "utm_term", "mtm_kwd": "utm_term", "pk_keyword": "utm_term",
    "pk_kwd": "utm_term", "matomo_keyword": "utm_term", "piwik_kwd": "utm_term",
    "mtm_content": "utm_content", "pk_content": "utm_content",
    "mtm_cid": "utm_id", "pk_cid": "utm_id",
}  # fmt: skip
_ATTRIBUTION_KEYS = frozenset(
    {"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id",
     "campaign_id", *_TAG_KEYS, *CAMPAIGN_ALIASES, *_CLICK_SOURCE}
)  # fmt: skip
# A referrer is a source only over these schemes; ftp:, file:, chrome-extension:, about: …
# and pages on the visitor's own machine are noise.
_REFERRER_SCHEMES = frozenset({"http", "https", "android-app"})
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):(?!\d)")
_LOOPBACK = re.compile(r"^(?:localhost|.+\.localhost|127(?:\.\d{1,3}){3}|0\.0\.0\.0|\[?::1\]?)$")


class Attribution(msgspec.Struct, frozen=True, kw_only=True):
    """Where a visit came from. ``explain`` lists the rules considered in order
    (``considered:<id>``), notes (``note:...``) and the rule that fired (``fired:<id>``).
    ``channel`` is the GA4 default channel group (plus AI Assistant) of that decision."""

    source: str
    medium: str
    campaign: str | None = None
    term: str | None = None
    content: str | None = None
    campaign_id: str | None = None
    channel: str = "Unassigned"
    confidence: str = "low"
    rule_id: str = "referral"
    click_id_type: str | None = None
    click_id: str | None = None
    referrer_host: str | None = None
    referrer_version: str = ""
    explain: tuple[str, ...] = ()


def is_paid_medium(medium: str | None) -> bool:
    """True for paid utm_medium values (``cpc``, ``Paid-Social``, ``paid_anything``, ...)."""
    if not medium:
        return False
    m = re.sub(r"[\s-]+", "_", medium.strip().lower())
    return m in PAID_MEDIUMS or m.startswith("paid")


def _normalise_source(value: str) -> str:
    s = value.strip().lower()
    if "://" in s:  # ?ref=https://news.ycombinator.com/item?id=1
        s = host_of(s) or s
    alias = _aliases().get(s)
    if alias:
        return alias
    if "." in s and " " not in s:
        info = lookup(s)
        if info is not None and info.kind != "payment":
            return info.name
    # display names as people type them: "Yahoo!", "X (Twitter)", "Hacker News"
    plain = re.sub(r"[^a-z0-9.+]+", " ", s).strip()
    if plain != s:
        for candidate in (plain, plain.replace(" ", "_")):
            if candidate in _aliases():
                return _aliases()[candidate]
            if source_category(candidate) or source_name_kind(candidate):
                return candidate
    return s


def _own(host: str, own_hosts: frozenset[str]) -> bool:
    bare = host.removeprefix("www.")
    for own in own_hosts:
        o = own.strip().lower().removeprefix("www.")
        if o and (bare == o or bare.endswith("." + o)):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Signals:
    """Plain values the rules read. Params are keyed lower-case, blank values dropped, the
    first occurrence winning; the fast split keeps only utm_* and click ids (all the built-in
    rules read), ``full_parse`` keeps every param (custom rules match any)."""

    params: dict[str, str]
    source: str | None  # utm_source (else `source`, else `ref`), normalised (aliases, hosts)
    medium: str | None  # utm_medium, lower-cased
    referrer_host: str | None  # None when absent, unparseable, noise or excluded
    referrer: ReferrerInfo | None
    self_referral: bool
    notes: tuple[str, ...]
    source_param: str | None = None  # which of utm_source / source / ref named the source
    source_paid: bool = False  # the utm_source spelling itself says paid ("fb-ads", "adwords")

    def has(self, key: str) -> bool:
        return key in self.params

    @property
    def paid(self) -> bool:
        return is_paid_medium(self.medium)

    @property
    def has_attribution_params(self) -> bool:
        return any(k in _ATTRIBUTION_KEYS or k.startswith("utm_") for k in self.params)


def signals(
    url: str | None,
    referrer: str | None,
    own_hosts: frozenset[str] = frozenset(),
    *,
    full_parse: bool = False,
) -> Signals:
    """Extract the plain values every rule reads from a landing URL and a referrer.

    Plain http(s) URLs are split with string operations (the same split `urlsplit` makes);
    anything else, or ``full_parse=True`` (the reference the tests compare against), goes
    through :func:`parse_url`."""
    landing = None if full_parse or not isinstance(url, str) else _plain_http(url)
    landing_host = None if landing is None else _fast_host(landing[0])
    params: dict[str, str] = {}
    if landing is not None and landing_host is not None:
        for key, raw in _attribution_params(landing[1]):
            value = _unquote(raw).strip()
            if value:
                params.setdefault(key, value)
    else:
        parsed = parse_url(url)
        landing_host = parsed.host
        for key, value in parsed.params.items():
            v = value.strip()
            if v:
                params.setdefault(key.strip().lower(), v)
    for alias, key in CAMPAIGN_ALIASES.items():
        if alias in params:
            params.setdefault(key, params[alias])
    notes: list[str] = []
    noise = _referrer_noise(referrer)
    ref_host = None if noise else _referrer_host(referrer, full_parse)
    if noise:
        notes.append(f"note:referrer_ignored:{noise}")
    elif referrer and referrer.strip() and ref_host is None:
        notes.append("note:referrer_unparseable")
    if ref_host is not None and _LOOPBACK.match(ref_host):
        notes.append("note:referrer_ignored:localhost")
        ref_host = None
    info = lookup(ref_host) if ref_host else None
    if ref_host and ref_host.removeprefix("www.") in path_hosts():  # x.com/i/grok is Grok
        info = lookup_path(ref_host, path_of(referrer or "")) or info
    if ref_host and info is not None and info.kind == "payment":
        notes.append(f"note:excluded_referrer:{info.name}:{ref_host}")
        ref_host, info = None, None
    self_ref = False
    if ref_host:
        landing_bare = landing_host.removeprefix("www.")
        self_ref = bool(landing_bare and ref_host.removeprefix("www.") == landing_bare) or _own(
            ref_host, own_hosts
        )
        if self_ref and info is not None and info.matched.startswith("^"):
            info = None  # a guess from the host's shape (mail.<own site>) yields to the site
    if self_ref and any(k in params for k in _LOOSE_TAG_KEYS):
        # The site's own links say ?ref=navbar or ?source=footer for its own reports: that is
        # navigation, not where the visit came from. Only utm_* (and Matomo's aliases, read as
        # utm_* above) make a link from the site a campaign.
        notes.extend(f"note:tag_ignored_on_self_referral:{k}" for k in _LOOSE_TAG_KEYS if k in params)
        params = {k: v for k, v in params.items() if k not in _LOOSE_TAG_KEYS}
    source_param = next((k for k in _TAG_KEYS if params.get(k)), None)
    tagged = params[source_param] if source_param else None
    utm_medium = params.get("utm_medium")
    network = paid_source(tagged) if source_param == "utm_source" and tagged else None
    if network:
        notes.append(f"note:paid_source:{tagged}")
    return Signals(
        params=params,
        source=network or (_normalise_source(tagged) if tagged else None),
        medium=utm_medium.lower() if utm_medium else None,
        referrer_host=ref_host,
        referrer=info,
        self_referral=self_ref,
        notes=tuple(notes),
        source_param=source_param,
        source_paid=network is not None,
    )


def _referrer_noise(referrer: str | None) -> str | None:
    """Why a referrer is no source at all (its scheme), or None."""
    if not referrer:
        return None
    m = _SCHEME.match(referrer.strip())
    if m is None:
        return None
    scheme = m.group(1).lower()
    return None if scheme in _REFERRER_SCHEMES else f"scheme:{scheme}"


def _referrer_host(referrer: str | None, full_parse: bool) -> str | None:
    ref = None if full_parse or not isinstance(referrer, str) else _plain_http(referrer)
    host = None if ref is None else _fast_host(ref[0])
    if host is None:
        return host_of(referrer)
    return host or None


# A rule returns (source, medium, confidence) or None.
Outcome = tuple[str, str, str]
Rule = tuple[str, Callable[[Signals], Outcome | None]]


def _click(key: str, medium: str = "paid") -> Callable[[Signals], Outcome | None]:
    def rule(s: Signals) -> Outcome | None:
        return (_CLICK_SOURCE[key], medium, "high") if s.has(key) else None

    return rule


def _fb_ad_redirect(s: Signals) -> Outcome | None:
    if s.has("fbclid") and s.referrer_host in _FB_REDIRECTS:
        return ("facebook", "paid", "high")
    return None


def _fbclid_utm_source(s: Signals) -> Outcome | None:
    if s.has("fbclid") and s.source in _FB_NETWORKS:
        return (s.source, "paid", "high")
    return None


def _utm_paid_medium(s: Signals) -> Outcome | None:
    return (s.source, "paid", "high") if s.source and s.paid else None


def _utm_paid_source(s: Signals) -> Outcome | None:
    # utm_source=fb-ads / google_ads / adwords: the network, paid, whatever the medium says
    return (s.source, "paid", "high") if s.source and s.source_paid else None


def _paid_medium_no_source(s: Signals) -> Outcome | None:
    return ("unknown", "paid", "medium") if s.paid and not s.source else None


def _fbclid_only(s: Signals) -> Outcome | None:
    return ("facebook", "paid", "medium") if s.has("fbclid") else None


def _utm_source(s: Signals) -> Outcome | None:
    if s.source and s.source_param == "utm_source":
        return (s.source, s.medium or "unknown", "high")
    return None


_CATEGORY_MEDIUM = {
    SOURCE_CATEGORY_SOCIAL: "social",
    SOURCE_CATEGORY_VIDEO: "social",
    SOURCE_CATEGORY_SEARCH: "organic",
    SOURCE_CATEGORY_EMAIL: "email",
}


def _tagged_source(s: Signals) -> Outcome | None:
    # ?source= / ?ref= without utm_source: a link from that site (medium from what it is)
    if not s.source or s.source_param == "utm_source":
        return None
    if s.medium:
        medium = s.medium
    elif is_email_tag(s.source):
        medium = "email"
    else:
        medium = _CATEGORY_MEDIUM.get(category_of(s.source) or "", "referral")
    return (s.source, medium, "medium")


def _ad_referrer(s: Signals) -> Outcome | None:
    # an ad network's serving host (doubleclick.net, googlesyndication.com …) without tags
    if s.referrer is not None and s.referrer.kind == "ads":
        return (s.referrer.name, "paid", "medium")
    return None


def _network(name: str) -> Callable[[Signals], Outcome | None]:
    def rule(s: Signals) -> Outcome | None:
        if s.referrer is not None and s.referrer.name == name:
            return (name, "social", "medium")
        return None

    return rule


def _kind(kind: str, medium: str | None) -> Callable[[Signals], Outcome | None]:
    def rule(s: Signals) -> Outcome | None:
        if s.referrer is None or s.referrer.kind != kind:
            return None
        source = "email" if kind == "email" else s.referrer.name
        return (source, medium or s.referrer.kind, "medium")

    return rule


def _self_referral(s: Signals) -> Outcome | None:
    # a tagged landing from the site itself is a campaign (utm_without_source), not internal
    if s.self_referral and not s.has_attribution_params:
        return ("internal", "direct", "high")
    return None


def _direct(s: Signals) -> Outcome | None:
    if s.referrer_host is None and not s.has_attribution_params:
        return ("direct", "direct", "high")
    return None


def _utm_without_source(s: Signals) -> Outcome | None:
    # Attribution params but no utm_source and no referrer other than the site itself (e.g.
    # only utm_campaign).
    if s.referrer_host is None or s.self_referral:
        return ("unknown", s.medium or "unknown", "low")
    return None


def _referral(s: Signals) -> Outcome | None:
    return (s.referrer_host, "referral", "low") if s.referrer_host else None


RULES: tuple[Rule, ...] = (
    ("gclid", _click("gclid")),  # 1
    ("msclkid", _click("msclkid")),  # 2
    ("ttclid", _click("ttclid")),  # 3
    ("li_fat_id", _click("li_fat_id")),  # 4
    ("gbraid", _click("gbraid")),
    ("wbraid", _click("wbraid")),
    ("gad_source", _click("gad_source")),
    ("dclid", _click("dclid")),
    ("twclid", _click("twclid")),
    ("epik", _click("epik")),
    ("rdt_cid", _click("rdt_cid")),
    ("sccid", _click("sccid")),
    ("fb_ad_redirect", _fb_ad_redirect),  # 5
    ("fbclid_utm_source", _fbclid_utm_source),  # 6
    ("utm_paid_medium", _utm_paid_medium),  # 7-9
    ("utm_paid_source", _utm_paid_source),  # 7-9: the utm_source spelling says paid
    ("paid_medium_no_source", _paid_medium_no_source),  # 10
    ("fbclid_only", _fbclid_only),  # 11
    ("utm_source", _utm_source),  # 12
    ("tagged_source", _tagged_source),  # 12: ?source= / ?ref= where utm_source is missing
    ("ad_referrer", _ad_referrer),
    ("facebook_referrer", _network("facebook")),  # 13
    ("instagram_referrer", _network("instagram")),  # 14
    ("social_referrer", _kind("social", None)),
    ("video_referrer", _kind("video", "social")),
    ("search_referrer", _kind("search", "organic")),
    ("webmail_referrer", _kind("email", "email")),
    ("ai_referrer", _kind("ai", "referral")),
    ("shopping_referrer", _kind("shopping", "referral")),
    ("self_referral", _self_referral),
    ("direct", _direct),
    ("utm_without_source", _utm_without_source),
    ("referral", _referral),
)
RULE_IDS: tuple[str, ...] = tuple(rule_id for rule_id, _ in RULES)


_REFERRER_RULES = frozenset(
    {"facebook_referrer", "instagram_referrer", "social_referrer", "video_referrer",
     "search_referrer", "webmail_referrer", "ai_referrer", "shopping_referrer"}
)  # fmt: skip
_FBCLID_RULES = frozenset({"fb_ad_redirect", "fbclid_utm_source", "fbclid_only"})
_GA4_REFERRER_MEDIUM = {"search": "organic", "email": "email"}  # else "referral"
# Referrer kinds that say on which kind of inventory a click-id ad was shown (gclid from a
# youtube.com page: Paid Video); a search referrer says nothing GA4's own rules would not.
_PLACEMENTS = frozenset({SOURCE_CATEGORY_VIDEO})


def _channel(s: Signals, fired: str, outcome: Outcome) -> str:
    """The visit in GA4's terms, then :func:`channels.channel_for`, following GA4's own rule
    order from the evidence even where the Millimetric rules chose source/medium:

    * no source -> (direct); a known referrer -> its name, GA4's medium for it, its category;
    * tags -> utm_source (its category) and utm_medium as sent; a paid spelling of the source
      (``fb-ads``) counts as paid;
    * a click id -> paid, on utm_source's category when tagged (gclid + utm_source=youtube:
      Paid Video), else on the referrer's placement (youtube.com: Paid Video; an ad-serving
      host: Display), else on the click id's network (gclid: google, Paid Search);
    * an ad-serving referrer without tags -> display.
    """
    source, medium, _ = outcome
    campaign = s.params.get("utm_campaign")
    ads = s.referrer is not None and s.referrer.kind == "ads"
    if fired in ("direct", "self_referral"):
        return channel_for("(direct)", "(none)", campaign)
    if fired in _REFERRER_RULES and s.referrer is not None:
        ga4_medium = s.medium or _GA4_REFERRER_MEDIUM.get(s.referrer.kind, "referral")
        return channel_for(source, ga4_medium, campaign, category=referrer_category(s.referrer))
    if fired == "referral":
        return channel_for(source, "referral", campaign)
    if fired == "ad_referrer":
        return channel_for(source, s.medium or "display", campaign, paid=s.paid)
    click = "fbclid" if fired in _FBCLID_RULES else fired if fired in _CLICK_SOURCE else None
    tagged = s.params.get("utm_source") if s.source_param == "utm_source" else None
    src = None if source == "unknown" else source
    shown_on = referrer_category(s.referrer)
    placement = shown_on if shown_on in _PLACEMENTS else None
    category: str | None
    if click == "fbclid" or src in _FB_NETWORKS:
        category = SOURCE_CATEGORY_SOCIAL
    elif tagged:
        category = category_of(tagged) or category_of(s.source)
    elif click and placement:
        category = placement
    elif not click and s.referrer_host is not None and not s.self_referral:
        # only a medium (utm_medium=paid from youtube.com): GA4's source is the referrer
        src = s.referrer.name if s.referrer is not None else s.referrer_host
        category = referrer_category(s.referrer)
    else:
        category = category_of(src)
    tag_medium = s.medium or ("display" if click and ads else None)
    channel = channel_for(
        src, tag_medium, campaign, category=category, paid=medium == "paid",
        click_id_type=click,
    )  # fmt: skip
    if fired == "tagged_source" and channel == "Unassigned":
        return "Referral"  # ?ref=<site>: a link from that site
    return channel


def _first_click_id(params: dict[str, str]) -> tuple[str | None, str | None]:
    for key, _source in CLICK_IDS:
        if key in params:
            return key, params[key]
    return None, None


def classify(
    url: str | None, referrer: str | None, own_hosts: frozenset[str] = frozenset()
) -> Attribution:
    """Classify a visit from its landing ``url`` and ``referrer``; first matching rule wins.

    ``own_hosts`` are the site's own hosts (subdomains included) for self-referral detection.

    >>> classify("https://a.test/?utm_source=IG&utm_medium=Paid_Social", None).source
    'instagram'
    >>> classify("https://a.test/", "android-app://com.google.android.gm/").medium
    'email'
    """
    visit = _visit(url, referrer)
    if visit is None:
        return _classify_cached(url, referrer, own_hosts)
    key, params = visit
    cache_key = (key, own_hosts)
    decided = _DECIDED.get(cache_key)
    if decided is None:
        decided = _classify(url, referrer, own_hosts)
        if len(_DECIDED) >= _DECIDED_MAX:
            _DECIDED.clear()
        _DECIDED[cache_key] = decided
    if decided.click_id_type is None:
        return decided
    click_id = _first_value(params, decided.click_id_type)
    if click_id == decided.click_id:
        return decided
    return msgspec.structs.replace(decided, click_id=click_id)


@functools.lru_cache(maxsize=8192)
def _classify_cached(
    url: str | None, referrer: str | None, own_hosts: frozenset[str]
) -> Attribution:
    return _classify(url, referrer, own_hosts)


def _classify(
    url: str | None, referrer: str | None, own_hosts: frozenset[str], *, full_parse: bool = False
) -> Attribution:
    s = signals(url, referrer, own_hosts, full_parse=full_parse)
    explain: list[str] = list(s.notes)
    outcome: Outcome = ("direct", "direct", "high")
    fired = "direct"
    for rule_id, rule in RULES:
        result = rule(s)
        if result is not None:
            outcome, fired = result, rule_id
            break
        explain.append(f"considered:{rule_id}")
    explain.append(f"fired:{fired}")
    p = s.params
    if fired in _CLICK_SOURCE:
        click_type: str | None = fired
        click_id: str | None = p[fired]
    else:
        click_type, click_id = _first_click_id(p)
    source, medium, confidence = outcome
    return Attribution(
        source=source.lower(),
        medium=medium.lower(),
        campaign=p.get("utm_campaign"),
        term=p.get("utm_term"),
        content=p.get("utm_content"),
        campaign_id=p.get("utm_id") or p.get("campaign_id"),
        channel=_channel(s, fired, outcome),
        confidence=confidence,
        rule_id=fired,
        click_id_type=click_type,
        click_id=click_id,
        referrer_host=s.referrer_host,
        referrer_version=data_version(),
        explain=tuple(explain),
    )


# -- the decision cache --------------------------------------------------------------------
# Landing URLs are nearly unique (paths, click id values), but the decision reads only the
# landing host, the attribution params and the referrer's host. Keying the cache on those
# (click id values masked: only their presence matters) lets a batch of fresh visits skip
# URL parsing and the rules; the click id value is then read back from the URL itself.
_DECIDED: dict[tuple[object, ...], Attribution] = {}
_DECIDED_MAX = 65_536


def clear_cache() -> None:
    _DECIDED.clear()
    _classify_cached.cache_clear()


def cache_size() -> int:
    return len(_DECIDED) + _classify_cached.cache_info().currsize


def _plain_http(url: str) -> tuple[str, str] | None:
    """(raw netloc, raw query) of a plain http(s) URL, split as `urllib.parse.urlsplit`
    would; None for anything else (those take the full parse)."""
    text = url.strip()[:MAX_URL_LENGTH]
    head = text[:8].lower()
    if head.startswith("https://"):
        rest = text[8:]
    elif head.startswith("http://"):
        rest = text[7:]
    else:
        return None
    if "\t" in rest or "\r" in rest or "\n" in rest:  # urlsplit deletes these first
        return None
    rest = rest.partition("#")[0]
    before_query, _, query = rest.partition("?")
    return before_query.partition("/")[0], query


def _fast_host(netloc: str) -> str | None:
    """`urlsplit(...).hostname`, cleaned as `parse_url` does ("" when there is none); None
    where only the full parse can tell (IPv6 brackets, non-ASCII)."""
    if "[" in netloc or "]" in netloc or not netloc.isascii():
        return None
    host = netloc.rpartition("@")[2].partition(":")[0].strip().lower().rstrip(".")
    return host if " " not in host else ""


def _unquote(raw: str) -> str:
    return unquote_plus(raw) if "%" in raw or "+" in raw else raw


def _attribution_params(query: str) -> list[tuple[str, str]]:
    """(normalised key, raw value) of every attribution param, in order. As in `parse_url`,
    only the first occurrence of an exact key counts, even when its value is blank."""
    out = []
    seen = set()
    for part in query.split("&"):
        raw_key, _, raw_value = part.partition("=")
        exact = _unquote(raw_key)
        if exact in seen:
            continue
        seen.add(exact)
        key = exact.strip().lower()
        if key in _ATTRIBUTION_KEYS or key.startswith("utm_"):
            out.append((key, raw_value))
    return out


def _visit(
    url: str | None, referrer: str | None
) -> tuple[tuple[object, ...], list[tuple[str, str]]] | None:
    """(what the decision depends on, the URL's attribution params), or None when the inputs
    need the full parse.

    >>> _visit("https://a.test/p/1?gclid=XYZ&x=1", "https://www.google.com/search?q=1")
    (('a.test', (('gclid', True),), 'www.google.com'), [('gclid', 'XYZ')])
    """
    if url is None or not isinstance(url, str):
        return None
    landing = _plain_http(url)
    if landing is None:
        return None
    if referrer is None or not referrer.strip():
        ref_key: str | None = None
    else:
        ref = _plain_http(referrer)
        if ref is None:
            return None
        host = ref[0].rpartition("@")[2].partition(":")[0].lower().removeprefix("www.")
        if host in path_hosts():  # the decision also depends on the path (x.com/i/grok)
            entry = lookup_path(host, path_of(referrer))
            ref_key = f"{ref[0]} {entry.matched if entry else ''}"
        else:
            ref_key = ref[0]
    netloc, query = landing
    params = _attribution_params(query)
    masked = tuple(
        (key, bool(_unquote(raw).strip())) if key in _CLICK_SOURCE else (key, raw)
        for key, raw in params
    )
    return (netloc, masked, ref_key), params


def _first_value(params: list[tuple[str, str]], key: str) -> str | None:
    """The first non-blank value of attribution param `key`, as `signals` reads it."""
    for k, raw in params:
        if k == key:
            value = _unquote(raw).strip()
            if value:
                return value
    return None
