"""The classifier's families (docs/attribution.md), one table each.

The cases are the kinds of visit the public test suites of Snowplow's referer-parser, Matomo,
Plausible, PostHog and GA4's channel rules expect, written here in Footfall's terms: where the
Millimetric contract decides (a click id wins, webmail is email/email, no source is unknown)
the row says what the contract says.

Each row: landing URL, referrer, expected (source, medium, channel).
"""

from __future__ import annotations

import pytest

from footfall.attribution import referrers
from footfall.attribution.rules import classify

U = "https://shop.example.com/landing"
Q = U + "?"
Row = tuple[str | None, str | None, str, str, str]

# -- 1. webmail and mail redirectors of large European and ISP providers -------------------
WEBMAIL: list[Row] = [
    (U, f"https://{host}/", "email", "email", "Email")
    for host in (
        "deref-gmx.net", "deref-gmx.de", "deref-gmx.at", "deref-gmx.ch", "deref-gmx.fr",
        "deref-gmx.es", "deref-gmx.it", "deref-gmx.com", "deref-gmx.co.uk",
        "lightmailer.gmx.de", "lightmailer.gmx.co.uk", "lightmailer-bs.gmx.net",
        "lightmailer-bap.gmx.net", "navigator.gmx.net", "deref-web.de", "deref-web-02.de",
        "3c.web.de", "3c-bap.web.de", "lightmailer-bs.web.de", "deref-1und1-02.de",
        "email.ionos.de", "email.ionos.co.uk", "mailbusiness.ionos.fr", "mailbusiness.ionos.mx",
        "mail.infomaniak.com", "deref-mail.com", "3c-lxa.mail.com", "lightmailer.mail.com",
        "rich-v01.bluewin.ch", "rich-v02.bluewin.ch", "email.bluewin.ch",
        "mail01.orange.fr", "mail02.orange.fr", "wmail.orange.fr", "webmail1m.orange.fr",
        "messagerie.orange.fr", "messageriepro3.orange.fr", "mail.proton.me",
        "email.t-online.de", "webmail.tim.it", "upcmail.hispeed.ch", "mail.vodafone.de",
        "36ohk6dgmcd1n-c.c.yom.mail.yahoo.net", "co106w.col106.mail.live.com",
        "poczta.onet.pl", "mail.naver.com", "mail.qq.com", "touch.mail.ru", "posteo.de", "mail.de",
        # any provider: webmail front-ends and United Internet's dereferrers
        "webmail.some-isp.fr", "webmail3.provider.co.uk", "owa.company.de", "mail2.isp.it",
        "deref-newprovider.de",
    )
] + [
    (U, "http://webmail1m.orange.fr/webmail/fr_FR/read.html?FOLDER=SF_INBOX", "email", "email", "Email"),
    (U, "https://deref-gmx.net/mail/client/I_fLA6c/dereferrer/?redirectUrl=x", "email", "email", "Email"),
    (U, "android-app://com.google.android.gm/", "email", "email", "Email"),
    # a look-alike is not webmail; portals stay what they are
    (U, "https://mail.google.com.attacker.io/", "mail.google.com.attacker.io", "referral", "Referral"),
    (U, "https://go.mail.ru/search?q=x", "mailru", "organic", "Organic Search"),
    ("https://webmail.example.com/x", "https://webmail.example.com/inbox", "internal", "direct", "Direct"),  # own site
]  # fmt: skip

# -- 2. Google's ad-serving and ad-syndication hosts: google / paid, Display -----------------
AD_SERVING: list[Row] = [
    (U, f"https://{host}/", "google", "paid", "Display")
    for host in (
        "tdsf.doubleclick.net", "googleads.g.doubleclick.net", "www.adsensecustomsearchads.com",
        "syndicatedsearch.goog", "pagead2.googlesyndication.com", "tpc.googlesyndication.com",
        "2bb5cd7f10ba63d8b55ecfac1a3948db.safeframe.googlesyndication.com",
        "www.googleadservices.com", "imasdk.googleapis.com",
    )
] + [
    # a click id still decides the source; the placement says Display
    (Q + "gclid=EAIaIQob", "https://2bb5.safeframe.googlesyndication.com/", "google", "paid", "Display"),
    # tags win over the referrer
    (Q + "utm_source=google&utm_medium=cpc", "https://tdsf.doubleclick.net/", "google", "paid", "Paid Search"),
    (Q + "utm_source=newsletter&utm_medium=email", "https://tdsf.doubleclick.net/", "newsletter", "email", "Email"),
]  # fmt: skip

# -- 3. paid spellings of utm_source -------------------------------------------------------
PAID_SPELLINGS: list[Row] = [
    (Q + "utm_source=fb-ads", None, "facebook", "paid", "Paid Social"),
    (Q + "utm_source=fbad", None, "facebook", "paid", "Paid Social"),
    (Q + "utm_source=fbads", None, "facebook", "paid", "Paid Social"),
    (Q + "utm_source=facebook-ads", None, "facebook", "paid", "Paid Social"),
    (Q + "utm_source=facebook_ad", None, "facebook", "paid", "Paid Social"),
    (Q + "utm_source=Reddit-ads", None, "reddit", "paid", "Paid Social"),
    (Q + "utm_source=twitter-ads", None, "twitter", "paid", "Paid Social"),
    (Q + "utm_source=x_ads", None, "twitter", "paid", "Paid Social"),
    (Q + "utm_source=linkedin_ads", None, "linkedin", "paid", "Paid Social"),
    (Q + "utm_source=tiktokads", None, "tiktok", "paid", "Paid Social"),
    (Q + "utm_source=ig-ad", None, "instagram", "paid", "Paid Social"),
    (Q + "utm_source=pinterest_paid", None, "pinterest", "paid", "Paid Social"),
    (Q + "utm_source=snapchat-ads", None, "snapchat", "paid", "Paid Social"),
    (Q + "utm_source=google_ads", None, "google", "paid", "Paid Search"),
    (Q + "utm_source=Google-ads", None, "google", "paid", "Paid Search"),
    (Q + "utm_source=googleads", None, "google", "paid", "Paid Search"),
    (Q + "utm_source=Adwords", None, "google", "paid", "Paid Search"),
    (Q + "utm_source=bing-ads", None, "bing", "paid", "Paid Search"),
    (Q + "utm_source=microsoftads", None, "bing", "paid", "Paid Search"),
    (Q + "utm_source=yt-ads", None, "youtube", "paid", "Paid Video"),
    (Q + "utm_source=youtube_ads", None, "youtube", "paid", "Paid Video"),
    (Q + "utm_source=amazon-ads", None, "amazon", "paid", "Paid Shopping"),
    (Q + "utm_source=ads-tiktok", None, "tiktok", "paid", "Paid Social"),
    # a network name alone is not paid; a word ending in "ad" is not a network
    (Q + "utm_source=yt", None, "youtube", "unknown", "Organic Video"),
    (Q + "utm_source=fb", None, "facebook", "unknown", "Organic Social"),
    (Q + "utm_source=ipad", None, "ipad", "unknown", "Unassigned"),
    (Q + "utm_source=download", None, "download", "unknown", "Unassigned"),
    (Q + "utm_source=adventure", None, "adventure", "unknown", "Unassigned"),
]  # fmt: skip

# -- 4. messaging and community apps, link-in-bio pages: Organic Social ----------------------
COMMUNITY: list[Row] = [
    (U, f"https://{host}/", name, "social", "Organic Social")
    for host, name in (
        ("teams.microsoft.com", "microsoft_teams"), ("statics.teams.cdn.office.net", "microsoft_teams"),
        ("app.slack.com", "slack"), ("slack-redir.net", "slack"), ("discord.com", "discord"),
        ("discord.gg", "discord"), ("web.telegram.org", "telegram"), ("t.me", "telegram"),
        ("web.whatsapp.com", "whatsapp"), ("wa.me", "whatsapp"), ("www.messenger.com", "messenger"),
        ("signal.org", "signal"), ("line.me", "line"), ("steamcommunity.com", "steam"),
        ("github.com", "github"), ("news.ycombinator.com", "hacker_news"),
        ("www.producthunt.com", "producthunt"), ("bsky.app", "bluesky"), ("go.bsky.app", "bluesky"),
        ("mastodon.social", "mastodon"), ("fosstodon.org", "mastodon"), ("l.threads.com", "threads"),
        ("vk.com", "vkontakte"), ("l.workplace.com", "workplace"), ("lm.workplace.com", "workplace"),
        ("linktr.ee", "linktree"), ("lnk.bio", "lnk.bio"), ("beacons.ai", "beacons"),
        ("bio.link", "bio.link"), ("taplink.cc", "taplink"), ("bento.me", "bento"),
    )
] + [
    (U, "android-app://com.slack/", "slack", "social", "Organic Social"),
    (U, "android-app://org.telegram.messenger/", "telegram", "social", "Organic Social"),
    (U, "android-app://com.whatsapp/", "whatsapp", "social", "Organic Social"),
    (U, "android-app://com.discord/", "discord", "social", "Organic Social"),
    (U, "android-app://com.microsoft.teams/", "microsoft_teams", "social", "Organic Social"),
    (Q + "utm_source=slack", None, "slack", "unknown", "Organic Social"),
    (Q + "utm_source=discord", None, "discord", "unknown", "Organic Social"),
    (Q + "utm_source=Telegram", None, "telegram", "unknown", "Organic Social"),
    (Q + "utm_source=linktree", None, "linktree", "unknown", "Organic Social"),
    # not messaging: still referrals
    (U, "https://en.m.wikipedia.org/wiki/X", "en.m.wikipedia.org", "referral", "Referral"),
    (U, "https://cac-excel.officeapps.live.com/", "cac-excel.officeapps.live.com", "referral", "Referral"),
]  # fmt: skip

# -- 4b. search engines the vendor lists miss -------------------------------------------------
SEARCH_GAPS: list[Row] = [
    (U, "http://www.aolsearch.com/search?query=x", "aol", "organic", "Organic Search"),
    (U, "http://www.dalesearch.com/?q=x", "dalesearch", "organic", "Organic Search"),
    (U, "http://web.gougou.com/search?search=x", "baidu", "organic", "Organic Search"),
    (U, "http://www.cathoogle.com/results?q=x", "google", "organic", "Organic Search"),
    (U, "http://search.nation.com/pemonitorhosted/ws/results/Web/x", "infospace", "organic", "Organic Search"),
    (U, "http://www.pricerunner.co.uk/search?q=x", "pricerunner", "organic", "Organic Search"),
    (U, "https://search.brave.com/search?q=x", "brave", "organic", "Organic Search"),
    (U, "https://kagi.com/search?q=x", "kagi", "organic", "Organic Search"),
    (U, "https://www.mojeek.com/search?q=x", "mojeek", "organic", "Organic Search"),
    (U, "https://presearch.com/search?q=x", "presearch", "organic", "Organic Search"),
    (U, "android-app://com.duckduckgo.mobile.android/", "duckduckgo", "organic", "Organic Search"),
    (U, "android-app://com.google.android.apps.searchlite/", "google", "organic", "Organic Search"),
]  # fmt: skip

# -- 5. AI assistants win over search lists that also name them -----------------------------
AI: list[Row] = [
    (U, f"https://{host}/", name, "referral", "AI Assistant")
    for host, name in (
        ("chatgpt.com", "chatgpt"), ("chat.openai.com", "chatgpt"), ("custom.chatgpt.com", "chatgpt"),
        ("claude.ai", "claude"), ("www.perplexity.ai", "perplexity"), ("pplx.ai", "perplexity"),
        ("gemini.google.com", "gemini"), ("copilot.microsoft.com", "copilot"), ("copilot.com", "copilot"),
        ("phind.com", "phind"), ("www.phind.com", "phind"), ("chat.deepseek.com", "deepseek"),
        ("grok.com", "grok"), ("you.com", "you"), ("chat.mistral.ai", "le_chat"), ("meta.ai", "meta_ai"),
        ("duck.ai", "duck.ai"), ("poe.com", "poe"),
    )
] + [
    (U, "https://x.com/i/grok?conversation=1", "grok", "referral", "AI Assistant"),
    (U, "android-app://com.openai.chatgpt/", "chatgpt", "referral", "AI Assistant"),
    (U, "android-app://ai.perplexity.app.android/", "perplexity", "referral", "AI Assistant"),
    (U, "android-app://com.google.android.apps.bard/", "gemini", "referral", "AI Assistant"),
    (U, "https://x.com/i/grokking", "twitter", "social", "Organic Social"),
    (U, "https://x.com/someone", "twitter", "social", "Organic Social"),
    (U, "https://www.bing.com/chat?q=x", "copilot", "referral", "AI Assistant"),
    (U, "https://www.bing.com/search?q=x", "bing", "organic", "Organic Search"),
    (U, "https://chatgpt.com.custom.org/", "chatgpt.com.custom.org", "referral", "Referral"),
    (Q + "utm_source=chatgpt.com", None, "chatgpt", "unknown", "AI Assistant"),
    (Q + "utm_source=phind", None, "phind", "unknown", "AI Assistant"),
    (Q + "utm_source=perplexity", None, "perplexity", "unknown", "AI Assistant"),
    (Q + "utm_source=chatgpt.com&utm_medium=cpc", None, "chatgpt", "paid", "Paid Other"),
]  # fmt: skip

# -- 6. ?ref= / ?source= like utm_source; noise referrers ------------------------------------
TAGS_AND_NOISE: list[Row] = [
    (Q + "ref=producthunt", None, "producthunt", "social", "Organic Social"),
    (Q + "ref=Newsletter", None, "newsletter", "email", "Email"),
    (Q + "source=Newsletter-UK", None, "newsletter-uk", "email", "Email"),
    (Q + "ref=betalist", None, "betalist", "referral", "Referral"),
    (Q + "ref=https://news.ycombinator.com/item?id=1", None, "hacker_news", "social", "Organic Social"),
    (Q + "ref=producthunt", "https://www.producthunt.com/posts/x", "producthunt", "social", "Organic Social"),
    (Q + "source=twitter&ref=other", None, "twitter", "social", "Organic Social"),
    (Q + "utm_source=newsletter&ref=producthunt", None, "newsletter", "unknown", "Email"),
    (Q + "ref=partner&utm_medium=cpc", None, "partner", "paid", "Paid Other"),
    (Q + "ref=", None, "direct", "direct", "Direct"),
    (U, "ftp://files.example.net/pub/x", "direct", "direct", "Direct"),
    (U, "file:///C:/Users/x/page.html", "direct", "direct", "Direct"),
    (U, "chrome-extension://abcdefghijklmnop/popup.html", "direct", "direct", "Direct"),
    (U, "moz-extension://1234/page.html", "direct", "direct", "Direct"),
    (U, "about:blank", "direct", "direct", "Direct"),
    (U, "javascript:void(0)", "direct", "direct", "Direct"),
    (U, "http://localhost:3000/dev", "direct", "direct", "Direct"),
    (U, "http://127.0.0.1:8080/", "direct", "direct", "Direct"),
    (U, "http://app.localhost/", "direct", "direct", "Direct"),
    (U, "http://[::1]:8000/", "direct", "direct", "Direct"),
    (U, "android-app://com.google.android.googlequicksearchbox/", "google", "organic", "Organic Search"),
    (U, "https://partner.example.net/post", "partner.example.net", "referral", "Referral"),
    (U, "www.google.com", "google", "organic", "Organic Search"),  # a bare host is a referrer
    (U + "?utm_source=google&utm_medium=cpc", "ftp://x.test/", "google", "paid", "Paid Search"),
]  # fmt: skip

# -- 7. the GA4 channel follows GA4's rule order from the utm / click-id evidence ------------
GA4_ORDER: list[Row] = [
    (Q + "gclid=x&utm_medium=display", None, "google", "paid", "Display"),
    (Q + "gclid=x&utm_source=youtube", None, "google", "paid", "Paid Video"),
    (Q + "gclid=x&utm_source=youtube&utm_medium=cpc", None, "google", "paid", "Paid Video"),
    (Q + "gclid=x", "https://www.youtube.com/", "google", "paid", "Paid Video"),
    (Q + "gclid=x", "https://www.google.com/", "google", "paid", "Paid Search"),
    (Q + "gclid=x", "https://duckduckgo.com/", "google", "paid", "Paid Search"),
    (Q + "msclkid=x", "https://www.bing.com/", "bing", "paid", "Paid Search"),
    (Q + "gclid=x&utm_source=ebay", None, "google", "paid", "Paid Shopping"),
    (Q + "gclid=x&utm_campaign=cross-network", None, "google", "paid", "Cross-network"),
    (Q + "gclid=x&utm_campaign=summer-shopping", None, "google", "paid", "Paid Shopping"),
    (Q + "gad_source=1&utm_source=google&utm_medium=pmax", None, "google", "paid", "Paid Search"),
    (Q + "dclid=x", None, "google", "paid", "Display"),
    (Q + "ttclid=x", None, "tiktok", "paid", "Paid Social"),
    (Q + "utm_medium=banner", None, "unknown", "paid", "Display"),
    (Q + "utm_medium=paid", "https://www.youtube.com/", "unknown", "paid", "Paid Video"),
    (Q + "utm_medium=paid", "https://duckduckgo.com/", "unknown", "paid", "Paid Search"),
    (Q + "utm_medium=paid", "https://www.tiktok.com/", "unknown", "paid", "Paid Social"),
    (Q + "utm_medium=paid", "https://shopify.com/", "unknown", "paid", "Paid Shopping"),
    (Q + "utm_medium=ppc", "https://www.ebay.co.uk/", "unknown", "paid", "Paid Shopping"),
    (Q + "utm_medium=email", "https://www.google.com/", "google", "organic", "Organic Search"),
    (Q + "utm_medium=cpc", None, "unknown", "paid", "Paid Other"),
    (Q + "utm_source=facebook&utm_medium=cpc&fbclid=x", "https://l.facebook.com/", "facebook", "paid", "Paid Social"),
]  # fmt: skip

# -- 8. other tools' campaign parameters; tags on a landing from the site itself -------------
CAMPAIGN_PARAMS: list[Row] = [
    ("http://piwik.org/foo/bar?pk_campaign=test", "http://piwik.org", "unknown", "unknown", "Unassigned"),
    ("http://piwik.org/foo/bar?pk_campaign=test", "http://piwik.xyz/", "piwik.xyz", "referral", "Referral"),
    (Q + "mtm_campaign=spring&mtm_source=newsletter&mtm_medium=email", None, "newsletter", "email", "Email"),
    (Q + "pk_campaign=spring&pk_source=facebook&pk_medium=cpc", None, "facebook", "paid", "Paid Social"),
    (Q + "pk_source=google&pk_medium=cpc&pk_kwd=shoes", None, "google", "paid", "Paid Search"),
    (Q + "mtm_source=fb-ads", None, "facebook", "paid", "Paid Social"),
    (Q + "utm_source=bing&mtm_source=google", None, "bing", "unknown", "Organic Search"),
    (Q + "matomo_campaign=x&mtm_medium=social", None, "unknown", "social", "Organic Social"),
    (Q + "piwik_campaign=shop", None, "unknown", "unknown", "Organic Shopping"),
    (Q + "utm_medium=email", "https://shop.example.com/cart", "unknown", "email", "Email"),
    (Q + "utm_source=newsletter", "https://shop.example.com/cart", "newsletter", "unknown", "Email"),
    (U, "https://shop.example.com/cart", "internal", "direct", "Direct"),
]  # fmt: skip

FAMILIES = {
    "webmail": WEBMAIL, "ad_serving": AD_SERVING, "paid_spellings": PAID_SPELLINGS,
    "community": COMMUNITY, "ai": AI, "tags_and_noise": TAGS_AND_NOISE, "ga4_order": GA4_ORDER,
    "campaign_params": CAMPAIGN_PARAMS, "search_gaps": SEARCH_GAPS,
}  # fmt: skip
ALL = [(family, *row) for family, rows in FAMILIES.items() for row in rows]


@pytest.mark.parametrize(("family", "url", "referrer", "source", "medium", "channel"), ALL)
def test_family_table(family: str, url: str | None, referrer: str | None, source: str, medium: str, channel: str) -> None:
    a = classify(url, referrer)
    assert (a.source, a.medium, a.channel) == (source, medium, channel), (family, a.rule_id, a.explain)


def test_every_family_has_cases() -> None:
    assert all(len(rows) >= 10 for rows in FAMILIES.values())
    assert len(ALL) >= 200


def test_noise_referrers_leave_a_note() -> None:
    assert "note:referrer_ignored:scheme:ftp" in classify(U, "ftp://x.test/").explain
    assert "note:referrer_ignored:localhost" in classify(U, "http://localhost:8000/").explain


def test_paid_spelling_leaves_a_note() -> None:
    a = classify(Q + "utm_source=fb-ads", None)
    assert a.rule_id == "utm_paid_source" and "note:paid_source:fb-ads" in a.explain


def test_path_entries_are_matched_on_segments() -> None:
    assert referrers.lookup_path("x.com", "/i/grok") is not None
    assert referrers.lookup_path("www.x.com", "/i/grok/abc") is not None
    assert referrers.lookup_path("x.com", "/i/grokking") is None
    assert referrers.lookup_path("example.com", "/i/grok") is None
    assert "x.com" in referrers.path_hosts()


def test_decision_cache_keeps_path_and_tag_decisions_apart() -> None:
    # the decision cache keys on the referrer's host; path-qualified hosts bypass it
    assert classify(U, "https://x.com/i/grok").source == "grok"
    assert classify(U, "https://x.com/home").source == "twitter"
    assert classify(U, "https://x.com/i/grok").source == "grok"
    assert classify(Q + "ref=a", None).source == "a"
    assert classify(Q + "ref=b", None).source == "b"


def test_docs_name_every_rule_and_family() -> None:
    from pathlib import Path

    from footfall.attribution.rules import RULE_IDS

    doc = (Path(__file__).parents[3] / "docs" / "attribution.md").read_text()
    assert all(f"`{rule}`" in doc for rule in RULE_IDS)
    assert all(f"**{family}**" in doc for family in FAMILIES)
