"""Footfall's own referrer facts, written by hand for ``build_referrers.py``.

Everything here is a plain fact (this host serves webmail, that one serves Google's ads), noted
by Footfall's authors from the providers' own sites and from public test suites' expectations;
nothing is copied from a list under a licence (in particular not from GPL lists such as
snowplow referer-parser's ``referers.yml`` or Matomo core's test fixtures). The tables are CC0
like the rest of Footfall's data additions.

Each table is one *family* the classifier treats alike (see docs/attribution.md).
"""

from __future__ import annotations

# -- webmail and mail redirectors (kind "email") ---------------------------------------------
# Large European and ISP providers. A pattern's {} stands for a TLD or country code.
WEBMAIL: dict[str, str] = {
    # United Internet (GMX, WEB.DE, 1&1, mail.com, IONOS): mail clients and link redirectors
    "deref-gmx.{}": "gmx",
    "lightmailer.gmx.{}": "gmx",
    "lightmailer-bs.gmx.{}": "gmx",
    "lightmailer-bap.gmx.{}": "gmx",
    "navigator.gmx.{}": "gmx",
    "navigator-bs.gmx.{}": "gmx",
    "mail.gmx.{}": "gmx",
    "deref-web.de": "web.de",
    "deref-web-02.de": "web.de",
    "deref-1und1.de": "1und1",
    "deref-1und1-02.de": "1und1",
    "email.1und1.de": "1und1",
    "mail.1und1.de": "1und1",
    "deref-mail.com": "mail.com",
    "mail.com": "mail.com",
    "email.ionos.{}": "ionos",
    "mailbusiness.ionos.{}": "ionos",
    "mail.ionos.{}": "ionos",
    # Switzerland, Austria, Germany
    "email.bluewin.ch": "bluewin",
    "rich-v01.bluewin.ch": "bluewin",
    "rich-v02.bluewin.ch": "bluewin",
    "mail.infomaniak.com": "infomaniak",
    "upcmail.hispeed.ch": "upc",
    "webmail.sunrise.ch": "sunrise",
    "email.t-online.de": "t-online",
    "webmail.t-online.de": "t-online",
    "mail.vodafone.de": "vodafone",
    "webmail.vodafone.de": "vodafone",
    "webmail.freenet.de": "freenet",
    "mail.freenet.de": "freenet",
    "webmail.strato.de": "strato",
    "webmail.a1.net": "a1",
    # France, Belgium, Netherlands
    "mail01.orange.fr": "orange",
    "mail02.orange.fr": "orange",
    "wmail.orange.fr": "orange",
    "webmail1m.orange.fr": "orange",
    "messagerie.orange.fr": "orange",
    "messageriepro.orange.fr": "orange",
    "messageriepro3.orange.fr": "orange",
    "webmail.free.fr": "free",
    "zimbra.free.fr": "free",
    "webmail.sfr.fr": "sfr",
    "messagerie.sfr.fr": "sfr",
    "webmail.laposte.net": "laposte",
    "mail.ovh.net": "ovh",
    "webmail.telenet.be": "telenet",
    "webmail.proximus.be": "proximus",
    "webmail.kpnmail.nl": "kpn",
    "webmail.ziggo.nl": "ziggo",
    "webmail.xs4all.nl": "xs4all",
    # Italy, Spain, Portugal
    "webmail.tim.it": "tim",
    "mail.tim.it": "tim",
    "mail.libero.it": "libero",
    "mail.virgilio.it": "virgilio",
    "mail.tiscali.it": "tiscali",
    "webmail.aruba.it": "aruba",
    "webmail.movistar.es": "movistar",
    "webmail.sapo.pt": "sapo",
    # Nordics, Central and Eastern Europe
    "webmail.telia.com": "telia",
    "poczta.onet.pl": "onet",
    "poczta.wp.pl": "wp",
    "poczta.interia.pl": "interia",
    "poczta.o2.pl": "o2",
    "email.seznam.cz": "seznam",
    "email.centrum.cz": "centrum",
    "mail.centrum.cz": "centrum",
    "mail.abv.bg": "abv",
    "mail.ukr.net": "ukr.net",
    "touch.mail.ru": "mail_ru",
    "octavius.mail.ru": "mail_ru",
    "posteo.de": "posteo",
    "mailbox.org": "mailbox.org",
    "mail.de": "mail.de",
    "kabelmail.de": "vodafone",
    "hotmail.com": "outlook",
    # United Kingdom, North America, Asia-Pacific
    "mail.btinternet.com": "bt",
    "webmail.virginmedia.com": "virgin_media",
    "mail.yahoo.net": "yahoo_mail",
    "mail.comcast.net": "comcast",
    "connect.xfinity.com": "comcast",
    "webmail.spectrum.net": "spectrum",
    "mail.att.net": "att",
    "webmail.earthlink.net": "earthlink",
    "webmail.shaw.ca": "shaw",
    "webmail.bell.net": "bell",
    "mail.bigpond.com": "telstra",
    "mail.naver.com": "naver",
    "mail.daum.net": "daum",
    "mail.qq.com": "qq_mail",
    "wx.mail.qq.com": "qq_mail",
    "mail.163.com": "netease_mail",
    "mail.126.com": "netease_mail",
    "mail.sina.com.cn": "sina_mail",
    "mail.rediff.com": "rediffmail",
}

# Hosts that are webmail whatever the provider: the first label names the mail front-end.
# Used only for hosts no list names, so `go.mail.ru` stays a search engine.
# The rest of the host must be a registrable domain (isp.fr, isp.co.uk), so a look-alike such
# as mail.google.com.attacker.io is not webmail.
_DOMAIN = r"[a-z0-9-]+\.(?:(?:co|com|net|org|ne|or|ac)\.[a-z]{2}|[a-z]{2,12})$"
WEBMAIL_HOST_RULES: tuple[tuple[str, str], ...] = (
    # United Internet's link dereferrers: deref-gmx.net, deref-web-02.de, deref-1und1.de …
    (r"^(?:[a-z0-9-]+\.)?deref-" + _DOMAIN, "email"),
    # webmail.example.net, webmail3.isp.fr, owa.company.de, roundcube.host.eu, mail2.isp.it …
    (
        r"^(?:webmail|webmailer|wmail|owa|roundcube|squirrelmail|horde|lightmailer(?:-[a-z]+)?"
        r"|messagerie(?:pro)?|mail|email|e-mail|posta|poczta|correo|courrier)\d*[a-z]?\."
        + _DOMAIN,
        "email",
    ),
)

# -- Google's ad-serving and ad-syndication hosts (kind "ads": google / paid, Display) ------
AD_SERVING: dict[str, str] = {
    "doubleclick.net": "google",  # tdsf., googleads.g., ad. … (Campaign Manager, Display)
    "googlesyndication.com": "google",  # pagead2., tpc., <hash>.safeframe. (AdSense, GAM)
    "googleadservices.com": "google",  # the ad-click redirector (/pagead/aclk)
    "adsensecustomsearchads.com": "google",  # AdSense for Search
    "syndicatedsearch.goog": "google",  # AdSense for Search on partner sites
    "imasdk.googleapis.com": "google",  # IMA SDK: video ads in players
    "adservice.google.com": "google",
    "2mdn.net": "google",  # Campaign Manager / Studio creatives
}

# -- messaging and community apps, link-in-bio pages (kind "social") -------------------------
SOCIAL: dict[str, str] = {
    # team chat
    "teams.microsoft.com": "microsoft_teams",
    "teams.live.com": "microsoft_teams",
    "teams.cloud.microsoft": "microsoft_teams",
    "statics.teams.cdn.office.net": "microsoft_teams",
    "slack.com": "slack",
    "app.slack.com": "slack",
    "slack-redir.net": "slack",
    "com.slack": "slack",  # Android app id
    "com.microsoft.teams": "microsoft_teams",
    "chat.google.com": "google_chat",
    "mail.google.com/chat": "google_chat",
    "chatwork.com": "chatwork",
    "app.element.io": "element",
    "matrix.to": "matrix",
    "mattermost.com": "mattermost",
    "zulipchat.com": "zulip",
    "rocket.chat": "rocket.chat",
    "workplace.com": "workplace",
    "l.workplace.com": "workplace",
    "lm.workplace.com": "workplace",
    # messengers
    "t.me": "telegram",
    "telegram.me": "telegram",
    "telegram.org": "telegram",
    "web.telegram.org": "telegram",
    "org.telegram.messenger": "telegram",
    "org.thunderdog.challegram": "telegram",
    "web.whatsapp.com": "whatsapp",
    "wa.me": "whatsapp",
    "com.whatsapp": "whatsapp",
    "messenger.com": "messenger",
    "m.me": "messenger",
    "l.messenger.com": "messenger",
    "com.facebook.orca": "messenger",
    "signal.org": "signal",
    "signal.me": "signal",
    "org.thoughtcrime.securesms": "signal",
    "viber.com": "viber",
    "com.viber.voip": "viber",
    "line.me": "line",
    "jp.naver.line.android": "line",
    "kakao.com": "kakaotalk",
    "com.kakao.talk": "kakaotalk",
    "web.skype.com": "skype",
    "com.skype.raider": "skype",
    "kik.com": "kik",
    "threema.ch": "threema",
    "icq.com": "icq",
    "weixin.qq.com": "wechat",
    "zalo.me": "zalo",
    # game and developer communities
    "discord.com": "discord",
    "discord.gg": "discord",
    "discordapp.com": "discord",
    "com.discord": "discord",
    "steamcommunity.com": "steam",
    "guilded.gg": "guilded",
    "revolt.chat": "revolt",
    "github.com": "github",
    "gitlab.com": "gitlab",
    "news.ycombinator.com": "hacker_news",
    "lobste.rs": "lobsters",
    "producthunt.com": "producthunt",
    "indiehackers.com": "indie_hackers",
    "dev.to": "dev.to",
    "hashnode.com": "hashnode",
    "nextdoor.com": "nextdoor",
    "bsky.app": "bluesky",
    "go.bsky.app": "bluesky",
    "threads.com": "threads",
    "l.threads.com": "threads",
    "mastodon.social": "mastodon",
    "fosstodon.org": "mastodon",
    "vk.com": "vkontakte",
    # link-in-bio pages
    "linktr.ee": "linktree",
    "lnk.bio": "lnk.bio",
    "beacons.ai": "beacons",
    "bio.link": "bio.link",
    "bio.site": "bio.site",
    "campsite.bio": "campsite",
    "taplink.cc": "taplink",
    "solo.to": "solo.to",
    "hoo.be": "hoo.be",
    "msha.ke": "milkshake",
    "linkin.bio": "linkin.bio",
    "linkbio.co": "linkbio",
    "carrd.co": "carrd",
    "allmylinks.com": "allmylinks",
    "linkpop.com": "linkpop",
    "komi.io": "komi",
    "stan.store": "stan",
    "snipfeed.co": "snipfeed",
    "bento.me": "bento",
    "tap.bio": "tap.bio",
    "linkr.bio": "linkr.bio",
    "about.me": "about.me",
    "withkoji.com": "koji",
    "contactinbio.com": "contactinbio",
}

# -- search engines and search portals the vendor lists miss (kind "search") -----------------
SEARCH: dict[str, str] = {
    "aolsearch.com": "aol",
    "dalesearch.com": "dalesearch",
    "gougou.com": "baidu",
    "cathoogle.com": "google",  # Google Custom Search
    "search.nation.com": "infospace",
    "pricerunner.com": "pricerunner",
    "pricerunner.co.uk": "pricerunner",
    "pricerunner.se": "pricerunner",
    "pricerunner.dk": "pricerunner",
    "search.brave.com": "brave",
    "kagi.com": "kagi",
    "presearch.com": "presearch",
    "mojeek.com": "mojeek",
    "search.marginalia.nu": "marginalia",
    # Android app ids of search apps
    "com.google.android.apps.searchlite": "google",
    "com.duckduckgo.mobile.android": "duckduckgo",
    "com.microsoft.bing": "bing",
    "ru.yandex.searchplugin": "yandex",
}

# -- AI assistants (kind "ai"); they win over search lists that also name them --------------
AI: dict[str, str] = {
    "chatgpt.com": "chatgpt",
    "chat.openai.com": "chatgpt",
    "labs.openai.com": "chatgpt",
    "com.openai.chatgpt": "chatgpt",
    "claude.ai": "claude",
    "com.anthropic.claude": "claude",
    "perplexity.ai": "perplexity",
    "pplx.ai": "perplexity",
    "ai.perplexity.app": "perplexity",
    "ai.perplexity.app.android": "perplexity",
    "com.google.android.apps.bard": "gemini",
    "gemini.google.com": "gemini",
    "bard.google.com": "gemini",
    "aistudio.google.com": "gemini",
    "notebooklm.google.com": "notebooklm",
    "copilot.microsoft.com": "copilot",
    "copilot.com": "copilot",
    "copilot.cloud.microsoft": "copilot",
    "m365.cloud.microsoft/chat": "copilot",
    "bing.com/chat": "copilot",
    "phind.com": "phind",
    "chat.deepseek.com": "deepseek",
    "deepseek.com": "deepseek",
    "grok.com": "grok",
    "x.com/i/grok": "grok",
    "twitter.com/i/grok": "grok",
    "you.com": "you",
    "poe.com": "poe",
    "chat.mistral.ai": "le_chat",
    "meta.ai": "meta_ai",
    "duck.ai": "duck.ai",
    "duckduckgo.com/chat": "duck.ai",
    "huggingface.co/chat": "huggingchat",
    "chat.qwen.ai": "qwen",
    "tongyi.aliyun.com": "qwen",
    "kimi.com": "kimi",
    "kimi.moonshot.cn": "kimi",
    "yiyan.baidu.com": "ernie",
    "doubao.com": "doubao",
    "chatglm.cn": "chatglm",
    "chat.z.ai": "chatglm",
    "character.ai": "character.ai",
    "pi.ai": "pi",
    "lumo.proton.me": "lumo",
    "iask.ai": "iask",
    "felo.ai": "felo",
    "andisearch.com": "andi",
    "manus.im": "manus",
    "chat.lmsys.org": "lmarena",
    "lmarena.ai": "lmarena",
}

# -- utm_source spellings ------------------------------------------------------------------
# Exact spellings that name a network (not paid by themselves).
ALIASES: dict[str, str] = {
    "fb": "facebook",
    "facebook.com": "facebook",
    "meta": "meta",
    "ig": "instagram",
    "insta": "instagram",
    "instagram.com": "instagram",
    "tw": "twitter",
    "x": "twitter",
    "x.com": "twitter",
    "twitter.com": "twitter",
    "li": "linkedin",
    "linkedin.com": "linkedin",
    "yt": "youtube",
    "youtube.com": "youtube",
    "tiktok.com": "tiktok",
    "tt": "tiktok",
    "google.com": "google",
    "bing.com": "bing",
    "microsoft": "bing",
    "ms": "bing",
    "reddit.com": "reddit",
    "pinterest.com": "pinterest",
    "pin": "pinterest",
    "snap": "snapchat",
    "sc": "snapchat",
    "teams": "microsoft_teams",
    "microsoft teams": "microsoft_teams",
    "tg": "telegram",
    "wa": "whatsapp",
    "hn": "hacker_news",
    "hackernews": "hacker_news",
    "hacker news": "hacker_news",
    "ph": "producthunt",
    "product hunt": "producthunt",
    "product_hunt": "producthunt",
    "linktr.ee": "linktree",
    "gpt": "chatgpt",
    "openai": "chatgpt",
    "x (twitter)": "twitter",
    "x twitter": "twitter",
    "google gemini": "gemini",
    "microsoft copilot": "copilot",
    "bing copilot": "copilot",
    "yahoo!": "yahoo",
    "ms teams": "microsoft_teams",
    "vkontakte": "vkontakte",
    "vk": "vkontakte",
}

# Webmail names that are also bare utm_source values (utm_source=gmail): e-mail.
EMAIL_NAMES: tuple[str, ...] = (
    "gmail", "googlemail", "outlook", "hotmail", "yahoo_mail", "yahoomail", "aol_mail",
    "proton_mail", "protonmail", "icloud_mail", "fastmail", "zoho_mail", "yandex_mail",
    "tutanota", "mailchimp", "sendgrid", "klaviyo", "substack_email",
)

# utm_source spellings that say "an ad on <network>" by themselves: the whole value, or a
# network name (or alias) followed or preceded by one of PAID_AFFIXES ("fb-ads", "fbad",
# "google_ads", "ads-tiktok"). They map to the network and count as paid.
PAID_SOURCES: dict[str, str] = {
    "adwords": "google",
    "googleadwords": "google",
    "google adwords": "google",
    "gads": "google",
    "pmax": "google",
    "bingads": "bing",
    "msads": "bing",
    "microsoftads": "bing",
    "microsoft advertising": "bing",
    "fbads": "facebook",
    "metaads": "meta",
}
PAID_AFFIXES: tuple[str, ...] = ("ads", "ad", "adwords", "paid", "cpc", "ppc", "sponsored", "promoted")
