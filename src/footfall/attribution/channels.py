"""GA4 default channel group, plus an **AI Assistant** channel.

:func:`channel_for` evaluates :data:`PREDICATES`, an ordered tuple of named predicates over
plain values (source, medium, campaign, the source's category), and returns the name of the
first that matches. The order and the names are GA4's published ones ("[GA4] Default channel
group"); all matching is case-insensitive:

======================== ===================================================================
Direct                   source is ``(direct)`` and medium is ``(none)`` or ``(not set)``
Cross-network            campaign contains ``cross-network``
Paid Shopping            (shopping source or campaign matches :data:`SHOP_CAMPAIGN`) and
                         paid medium (:data:`PAID_MEDIUM` = ``^(.*cp.*|ppc|retargeting|paid.*)$``)
Paid Search              search source and paid medium
Paid Social              social source and paid medium
Paid Video               video source and paid medium
Display                  medium is display, banner, expandable, interstitial or cpm
Paid Other               paid medium
**AI Assistant**         source is an AI assistant (Footfall's addition, see below)
Organic Shopping         shopping source or shopping campaign
Organic Social           social source or medium social, social-network, social-media, sm,
                         social network, social media
Organic Video            video source or medium contains ``video``
Organic Search           search source or medium is ``organic``
Referral                 medium is referral, app or link
Email                    source or medium is email, e-mail, e_mail or e mail
Affiliates               medium is affiliate
Audio                    medium is audio
SMS                      source or medium is sms
Mobile Push Notifications medium ends with ``push`` or contains ``mobile`` or
                         ``notification``, or source is ``firebase``
Unassigned               anything else
======================== ===================================================================

"Shopping/search/social/video source" means the source's GA4 source category
(``SOURCE_CATEGORY_SHOPPING`` ...), looked up in the GA4 list shipped in ``referrers.json``;
hosts are recognised on label boundaries through :func:`referrers.lookup`.

**Where AI Assistant sits, and why.** Right after *Paid Other* and before *Organic Shopping*.
After the paid block, because a paid tag is a stronger statement than the source's identity
(``utm_source=chatgpt.com&utm_medium=cpc`` is an ad bought on ChatGPT: Paid Other). Before
every organic category and Referral, because those would otherwise swallow it: an AI answer
arrives as a plain referral (``chatgpt.com``, medium ``referral``), ``gemini.google.com`` sits
under google.com (a search source), and AI tools add ``utm_source=chatgpt.com`` with no medium.

**Footfall's additions**, all marked in the code: the AI Assistant channel
(:data:`SOURCE_CATEGORY_AI`); webmail hosts and mail apps count for Email
(:data:`SOURCE_CATEGORY_EMAIL`, GA4 would call ``mail.google.com`` a Referral); ``direct`` is
accepted as a spelling of ``(direct)``; ``paid=True`` / a click id marks a visit as paid even
when its medium does not say so (the classifier decided it was paid: gclid, fbclid, ``sem``...).

>>> channel_for("google", "cpc")
'Paid Search'
>>> channel_for("facebook", "Paid")
'Paid Social'
>>> channel_for("(direct)", "(none)")
'Direct'
>>> channel_for("chatgpt.com", None), channel_for("chatgpt.com.evil.org", "referral")
('AI Assistant', 'Referral')
>>> channel_for("google", None, click_id_type="gclid")
'Paid Search'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from footfall.attribution import referrers
from footfall.attribution.referrers import ReferrerInfo

__all__ = [
    "AI_ASSISTANT",
    "CHANNELS",
    "DISPLAY_MEDIUMS",
    "PAID_MEDIUM",
    "PREDICATES",
    "SHOP_CAMPAIGN",
    "SOURCE_CATEGORY_AI",
    "SOURCE_CATEGORY_EMAIL",
    "SOURCE_CATEGORY_SEARCH",
    "SOURCE_CATEGORY_SHOPPING",
    "SOURCE_CATEGORY_SOCIAL",
    "SOURCE_CATEGORY_VIDEO",
    "ChannelInput",
    "category_of",
    "channel_for",
    "explain_entry",
    "is_email_tag",
    "referrer_category",
]

SOURCE_CATEGORY_SEARCH = "SOURCE_CATEGORY_SEARCH"
SOURCE_CATEGORY_SOCIAL = "SOURCE_CATEGORY_SOCIAL"
SOURCE_CATEGORY_SHOPPING = "SOURCE_CATEGORY_SHOPPING"
SOURCE_CATEGORY_VIDEO = "SOURCE_CATEGORY_VIDEO"
SOURCE_CATEGORY_AI = "SOURCE_CATEGORY_AI"  # Footfall
SOURCE_CATEGORY_EMAIL = "SOURCE_CATEGORY_EMAIL"  # Footfall: webmail hosts, mail apps

AI_ASSISTANT = "AI Assistant"

# referrers.json kinds -> GA4 source categories ("payment" is never a source).
_KIND_CATEGORY = {
    "search": SOURCE_CATEGORY_SEARCH,
    "social": SOURCE_CATEGORY_SOCIAL,
    "shopping": SOURCE_CATEGORY_SHOPPING,
    "video": SOURCE_CATEGORY_VIDEO,
    "ai": SOURCE_CATEGORY_AI,
    "email": SOURCE_CATEGORY_EMAIL,
}

PAID_MEDIUM = re.compile(r"^(.*cp.*|ppc|retargeting|paid.*)$", re.IGNORECASE)
SHOP_CAMPAIGN = re.compile(r"^(.*(([^a-df-z]|^)shop|shopping).*)$", re.IGNORECASE)
DISPLAY_MEDIUMS = frozenset({"display", "banner", "expandable", "interstitial", "cpm"})
_SOCIAL_MEDIUMS = frozenset(
    {"social", "social-network", "social-media", "sm", "social network", "social media"}
)
_REFERRAL_MEDIUMS = frozenset({"referral", "app", "link"})
# GA4's regex `email|e-mail|e_mail|e mail` matches anywhere in the value ("Email-Weekly"),
# and newsletters are e-mail (Footfall, as Plausible: utm_source=Newsletter-UK is Email).
_EMAIL_TAG = re.compile(r"e[-_ ]?mail|newsletter")
_DIRECT_SOURCES = frozenset({"(direct)", "direct"})
_DIRECT_MEDIUMS = frozenset({"", "(none)", "(not set)", "direct"})
# Medium implied by a click id when the visit's own medium says nothing paid; dclid comes
# from Campaign Manager / Display & Video 360, i.e. display ads.
_CLICK_ID_MEDIUMS = {"dclid": "display"}
_MIN_AI_NAME = 4  # bare utm_source names shorter than this ("you") are too generic


@dataclass(frozen=True, slots=True)
class ChannelInput:
    """What the predicates read: lower-cased, stripped strings ("" when absent)."""

    source: str
    medium: str
    campaign: str
    category: str | None

    @property
    def paid(self) -> bool:
        return bool(PAID_MEDIUM.match(self.medium))

    @property
    def shop_campaign(self) -> bool:
        return bool(SHOP_CAMPAIGN.match(self.campaign))


Predicate = Callable[[ChannelInput], bool]


def _direct(c: ChannelInput) -> bool:
    return c.source in _DIRECT_SOURCES and c.medium in _DIRECT_MEDIUMS


def _cross_network(c: ChannelInput) -> bool:
    return "cross-network" in c.campaign


def _paid_shopping(c: ChannelInput) -> bool:
    return (c.category == SOURCE_CATEGORY_SHOPPING or c.shop_campaign) and c.paid


def _paid(category: str) -> Predicate:
    def predicate(c: ChannelInput) -> bool:
        return c.category == category and c.paid

    return predicate


def _display(c: ChannelInput) -> bool:
    return c.medium in DISPLAY_MEDIUMS


def _paid_other(c: ChannelInput) -> bool:
    return c.paid


def _ai_assistant(c: ChannelInput) -> bool:
    return c.category == SOURCE_CATEGORY_AI


def _organic_shopping(c: ChannelInput) -> bool:
    return c.category == SOURCE_CATEGORY_SHOPPING or c.shop_campaign


def _organic_social(c: ChannelInput) -> bool:
    return c.category == SOURCE_CATEGORY_SOCIAL or c.medium in _SOCIAL_MEDIUMS


def _organic_video(c: ChannelInput) -> bool:
    return c.category == SOURCE_CATEGORY_VIDEO or "video" in c.medium


def _organic_search(c: ChannelInput) -> bool:
    return c.category == SOURCE_CATEGORY_SEARCH or c.medium == "organic"


def _referral(c: ChannelInput) -> bool:
    return c.medium in _REFERRAL_MEDIUMS


def is_email_tag(value: str | None) -> bool:
    """Whether a source or medium value says e-mail (``Email``, ``e_mail``, ``newsletter-uk``)."""
    return bool(value and _EMAIL_TAG.search(value.lower()))


def _email(c: ChannelInput) -> bool:
    return (
        is_email_tag(c.source)
        or is_email_tag(c.medium)
        or c.category == SOURCE_CATEGORY_EMAIL  # Footfall: webmail hosts and mail apps
    )


def _affiliates(c: ChannelInput) -> bool:
    return c.medium == "affiliate"


def _audio(c: ChannelInput) -> bool:
    return c.medium == "audio"


def _sms(c: ChannelInput) -> bool:
    return c.source == "sms" or c.medium == "sms"


def _mobile_push(c: ChannelInput) -> bool:
    m = c.medium
    return m.endswith("push") or "mobile" in m or "notification" in m or c.source == "firebase"


def _unassigned(c: ChannelInput) -> bool:
    return True


PREDICATES: tuple[tuple[str, Predicate], ...] = (
    ("Direct", _direct),
    ("Cross-network", _cross_network),
    ("Paid Shopping", _paid_shopping),
    ("Paid Search", _paid(SOURCE_CATEGORY_SEARCH)),
    ("Paid Social", _paid(SOURCE_CATEGORY_SOCIAL)),
    ("Paid Video", _paid(SOURCE_CATEGORY_VIDEO)),
    ("Display", _display),
    ("Paid Other", _paid_other),
    (AI_ASSISTANT, _ai_assistant),  # Footfall: after the paid block, before organic/referral
    ("Organic Shopping", _organic_shopping),
    ("Organic Social", _organic_social),
    ("Organic Video", _organic_video),
    ("Organic Search", _organic_search),
    ("Referral", _referral),
    ("Email", _email),
    ("Affiliates", _affiliates),
    ("Audio", _audio),
    ("SMS", _sms),
    ("Mobile Push Notifications", _mobile_push),
    ("Unassigned", _unassigned),
)
CHANNELS: tuple[str, ...] = tuple(name for name, _ in PREDICATES)


@functools.cache
def _ai_names() -> frozenset[str]:
    """AI assistant names usable as a bare ``utm_source`` (``chatgpt``, ``claude`` ...)."""
    return frozenset(n for n in referrers.ai_names() if len(n) >= _MIN_AI_NAME)


def referrer_category(info: ReferrerInfo | None) -> str | None:
    """GA4 source category of a known referrer host (or app id).

    The host's kind decides, except where the lists disagree on a search or social host:
    Matomo files video platforms (YouTube, Vimeo, Youku) as social networks and a few social
    sites (Digg, MySpace) as search engines; GA4's category for the same source name wins
    then, so ``youtube.com`` is a video source, as in GA4.

    >>> referrer_category(referrers.lookup("m.youtube.com"))
    'SOURCE_CATEGORY_VIDEO'
    >>> referrer_category(referrers.lookup("mail.google.com"))
    'SOURCE_CATEGORY_EMAIL'
    """
    if info is None:
        return None
    if info.kind in ("search", "social"):
        ga4 = referrers.source_category(info.name)
        if ga4 in ("social", "video"):
            return _KIND_CATEGORY[ga4]
    return _KIND_CATEGORY.get(info.kind)


def category_of(source: str | None) -> str | None:
    """GA4 source category of a source value: a bare name (``google``, ``IGShopping``), a host
    (``m.facebook.com``, matched on label boundaries) or an AI assistant's name (``claude``).

    >>> category_of("Google"), category_of("m.facebook.com"), category_of("claude")
    ('SOURCE_CATEGORY_SEARCH', 'SOURCE_CATEGORY_SOCIAL', 'SOURCE_CATEGORY_AI')
    >>> category_of("microsoft.com") is None  # not t.co
    True
    """
    if not source:
        return None
    s = source.strip().lower()
    if not s:
        return None
    if s in _ai_names():  # before the lists that file some assistants as search engines
        return SOURCE_CATEGORY_AI
    ga4 = referrers.source_category(s)
    if ga4 is not None:
        return _KIND_CATEGORY[ga4]
    if "." in s and " " not in s:
        return referrer_category(referrers.lookup(s))
    return _name_category(s)


def _name_category(name: str) -> str | None:
    kind = referrers.source_name_kind(name) or referrers.source_name_kind(re.sub(r"[\s-]+", "_", name))
    return _KIND_CATEGORY.get(kind) if kind else None


def _norm(value: str | None) -> str:
    return value.strip().lower() if value else ""


def channel_for(
    source: str | None,
    medium: str | None,
    campaign: str | None = None,
    *,
    category: str | None = None,
    paid: bool = False,
    click_id_type: str | None = None,
) -> str:
    """The channel of a visit with this session ``source`` / ``medium`` / ``campaign``.

    ``source`` and ``medium`` are what GA4 calls the session source and medium: the utm
    values when tagged, ``google`` / ``organic`` for a search engine, ``<host>`` / ``referral``
    for other referrers, ``(direct)`` / ``(none)`` for none. ``category`` is the source's
    GA4 category (``SOURCE_CATEGORY_*``); when ``None`` it is looked up from ``source``.
    ``paid`` (or a ``click_id_type`` such as ``gclid``) says the visit is known to be paid even
    if ``medium`` does not match :data:`PAID_MEDIUM`; it then counts as ``cpc`` (``display``
    for ``dclid``), unless the medium is already a paid or display one.

    >>> channel_for("google", "cpm"), channel_for("criteo", "cpm"), channel_for("acme", "CPV")
    ('Paid Search', 'Display', 'Paid Other')
    >>> channel_for("google", "sem"), channel_for("google", "sem", paid=True)
    ('Organic Search', 'Paid Search')
    """
    m = _norm(medium)
    if (paid or click_id_type) and not PAID_MEDIUM.match(m) and m not in DISPLAY_MEDIUMS:
        m = _CLICK_ID_MEDIUMS.get(_norm(click_id_type), "cpc")
    c = ChannelInput(
        source=_norm(source),
        medium=m,
        campaign=_norm(campaign),
        category=category if category is not None else category_of(source),
    )
    for name, predicate in PREDICATES:
        if predicate(c):
            return name
    return "Unassigned"  # pragma: no cover - the last predicate always matches


def explain_entry(channel: str) -> str:
    """The ``explain`` entry naming the channel predicate that fired: ``channel:<name>``."""
    return f"channel:{channel}"
