"""The channel case table: GA4's default channel group (plus AI Assistant), in GA4's order.

``CASES`` runs the whole classifier (landing URL + referrer -> ``Attribution.channel``);
``GA4_CASES`` calls :func:`channel_for` on plain session source / medium / campaign values,
as the GA4 help page states its rules.
"""

from __future__ import annotations

import doctest

import pytest

from footfall.attribution import channels
from footfall.attribution.channels import (
    CHANNELS,
    PREDICATES,
    SOURCE_CATEGORY_AI,
    SOURCE_CATEGORY_EMAIL,
    SOURCE_CATEGORY_SEARCH,
    SOURCE_CATEGORY_SHOPPING,
    SOURCE_CATEGORY_SOCIAL,
    SOURCE_CATEGORY_VIDEO,
    category_of,
    channel_for,
    explain_entry,
)
from footfall.attribution.rules import classify
from tests.unit.attribution.test_rules import CASES as RULE_CASES

U = "https://shop.example.com/landing"
Q = U + "?"

# (landing url, referrer, channel)
CASES: list[tuple[str | None, str | None, str]] = [
    # --- Direct: no source, no medium (and self-referrals, excluded payment referrers) ------
    (None, None, "Direct"),
    ("", "", "Direct"),
    (U, None, "Direct"),
    (Q + "page=2&ref=abc", None, "Referral"),  # ?ref= names the source (a link from "abc")
    (U, "https://shop.example.com/cart", "Direct"),
    ("https://www.site.io/a", "https://site.io/b", "Direct"),
    (U, "https://checkout.stripe.com/c/pay/cs_1", "Direct"),
    (U, "https://www.paypal.com/checkoutnow", "Direct"),
    (U, "not a url", "Direct"),
    (U, "null", "Direct"),
    (U + "#utm_source=google&utm_medium=cpc", None, "Direct"),
    (Q + "utm_source=(direct)&utm_medium=(none)", None, "Direct"),
    (Q + "utm_source=direct", None, "Direct"),
    # --- Cross-network: campaign contains "cross-network" ----------------------------------
    (Q + "utm_source=google&utm_medium=cpc&utm_campaign=cross-network", None, "Cross-network"),
    (Q + "gclid=x&utm_campaign=Cross-Network%20PMax", None, "Cross-network"),
    (Q + "utm_campaign=cross-network", None, "Cross-network"),
    (Q + "utm_source=facebook&utm_medium=cpc&utm_campaign=fb_cross-network_q3", None, "Cross-network"),
    (Q + "utm_source=newsletter&utm_medium=email&utm_campaign=cross-network", None, "Cross-network"),
    (Q + "utm_source=google&utm_medium=cpc&utm_campaign=crossnetwork", None, "Paid Search"),
    # --- Paid Shopping: shopping source or shop campaign, and a paid medium -----------------
    (Q + "utm_source=google&utm_medium=cpc&utm_campaign=shopping", None, "Paid Shopping"),
    (Q + "utm_source=google&utm_medium=cpc&utm_campaign=Summer_Shopping", None, "Paid Shopping"),
    (Q + "utm_source=amazon&utm_medium=cpc", None, "Paid Shopping"),
    (Q + "utm_source=IGShopping&utm_medium=paid", None, "Paid Shopping"),
    (Q + "utm_source=ebay&utm_medium=ppc", None, "Paid Shopping"),
    (Q + "gclid=x&utm_campaign=pmax-shop", None, "Paid Shopping"),
    (Q + "utm_source=facebook&utm_medium=paid_social&utm_campaign=shop_now", None, "Paid Shopping"),
    (Q + "utm_source=google&utm_medium=cpc&utm_campaign=workshop", None, "Paid Search"),
    (Q + "utm_source=google&utm_medium=cpc&utm_campaign=eshop", None, "Paid Shopping"),
    (Q + "utm_source=walmart&utm_medium=retargeting", None, "Paid Shopping"),
    (Q + "utm_source=google.com&utm_medium=cpc&utm_campaign=SHOPPING-DE", None, "Paid Shopping"),
    (Q + "utm_source=shopify&utm_medium=cpc", None, "Paid Shopping"),
    # --- Paid Search: search source and a paid medium; Google/Bing click ids -----------------
    (Q + "utm_source=google&utm_medium=cpc", None, "Paid Search"),
    (Q + "utm_source=Google&utm_medium=CPC", None, "Paid Search"),
    (Q + "utm_source=google&utm_medium=Paid", None, "Paid Search"),
    (Q + "utm_source=bing&utm_medium=ppc", None, "Paid Search"),
    (Q + "UTM_SOURCE=Bing&UTM_MEDIUM=Cpc", None, "Paid Search"),
    (Q + "gclid=abc", None, "Paid Search"),
    (Q + "gbraid=x", None, "Paid Search"),
    (Q + "wbraid=x", None, "Paid Search"),
    (Q + "gad_source=1", None, "Paid Search"),
    (Q + "msclkid=m1", None, "Paid Search"),
    (Q + "gclid=x&utm_source=newsletter&utm_medium=email", None, "Paid Search"),
    (Q + "gclid=x&utm_source=youtube&utm_medium=cpc", None, "Paid Video"),  # GA4 from the tags
    (Q + "gclid=x", "https://www.facebook.com/", "Paid Search"),
    (Q + "utm_source=google&utm_medium=cpm", None, "Paid Search"),  # cpm matches .*cp.* first
    (Q + "utm_source=google&utm_medium=sem", None, "Paid Search"),  # classifier says paid
    (Q + "utm_source=adwords&utm_medium=cpc", None, "Paid Search"),
    (Q + "utm_source=www.google.de&utm_medium=cpc", None, "Paid Search"),
    (Q + "utm_source=baidu&utm_medium=cpc", None, "Paid Search"),
    (Q + "utm_source=yahoo&utm_medium=paid_search", None, "Paid Search"),
    (Q + "utm_source=duckduckgo&utm_medium=cpc", None, "Paid Search"),
    (Q + "utm_source=yandex&utm_medium=cpc&utm_campaign=brand", None, "Paid Search"),
    (Q + "utm_source=google&utm_medium=retargeting", None, "Paid Search"),
    # --- Paid Social: social source and a paid medium; social click ids, fbclid -------------
    (Q + "utm_source=facebook&utm_medium=cpc", None, "Paid Social"),
    (Q + "utm_source=fb&utm_medium=paid", None, "Paid Social"),
    (Q + "utm_source=instagram&utm_medium=paid_social", None, "Paid Social"),
    (Q + "utm_source=IG&utm_medium=Paid-Social", None, "Paid Social"),
    (Q + "utm_source=linkedin&utm_medium=cpc", None, "Paid Social"),
    (Q + "utm_source=tiktok&utm_medium=paid", None, "Paid Social"),
    (Q + "utm_source=twitter&utm_medium=cpc", None, "Paid Social"),
    (Q + "utm_source=x&utm_medium=cpc", None, "Paid Social"),
    (Q + "utm_source=pinterest&utm_medium=cpc", None, "Paid Social"),
    (Q + "utm_source=reddit&utm_medium=cpc", None, "Paid Social"),
    (Q + "utm_source=snapchat&utm_medium=paid", None, "Paid Social"),
    (Q + "utm_source=quora&utm_medium=cpc", None, "Paid Social"),
    (Q + "utm_source=whatsapp&utm_medium=paid", None, "Paid Social"),
    (Q + "utm_source=m.facebook.com&utm_medium=cpc", None, "Paid Social"),
    (Q + "utm_source=meta&utm_medium=cpc", None, "Paid Social"),
    (Q + "fbclid=abc", "https://l.facebook.com/", "Paid Social"),
    (Q + "fbclid=abc", None, "Paid Social"),
    (Q + "fbclid=abc&utm_source=instagram", None, "Paid Social"),
    (Q + "fbclid=abc&utm_source=meta", None, "Paid Social"),
    (Q + "fbclid=x&utm_source=newsletter&utm_medium=email", "https://l.facebook.com/", "Paid Social"),
    (Q + "ttclid=t1", None, "Paid Social"),
    (Q + "li_fat_id=l1", None, "Paid Social"),
    (Q + "twclid=x", "https://t.co/abc", "Paid Social"),
    (Q + "epik=x", None, "Paid Social"),
    (Q + "rdt_cid=x", None, "Paid Social"),
    (Q + "sccid=x", None, "Paid Social"),
    (Q + "utm_source=facebook&utm_medium=cpc", "https://www.google.com/", "Paid Social"),
    # --- Paid Video: video source and a paid medium ----------------------------------------
    (Q + "utm_source=youtube&utm_medium=cpc", None, "Paid Video"),
    (Q + "utm_source=youtube&utm_medium=cpv", None, "Paid Video"),
    (Q + "utm_source=yt&utm_medium=paid_video", None, "Paid Video"),
    (Q + "utm_source=youtube.com&utm_medium=cpc", None, "Paid Video"),
    (Q + "utm_source=vimeo&utm_medium=cpc", None, "Paid Video"),
    (Q + "utm_source=twitch&utm_medium=paid", None, "Paid Video"),
    (Q + "utm_source=netflix&utm_medium=cpm", None, "Paid Video"),
    (Q + "utm_source=dailymotion&utm_medium=ppc", None, "Paid Video"),
    # --- Display: display, banner, expandable, interstitial, cpm -------------------------
    (Q + "utm_source=criteo&utm_medium=cpm", None, "Display"),
    (Q + "utm_source=criteo&utm_medium=display", None, "Display"),
    (Q + "utm_source=gdn&utm_medium=banner", None, "Display"),
    (Q + "utm_source=taboola&utm_medium=Interstitial", None, "Display"),
    (Q + "utm_source=acme&utm_medium=expandable", None, "Display"),
    (Q + "utm_source=adroll&utm_medium=CPM", None, "Display"),
    (Q + "utm_source=google&utm_medium=display", None, "Display"),  # not a GA4 paid medium
    (Q + "utm_source=facebook&utm_medium=banner", None, "Display"),
    (Q + "utm_source=youtube&utm_medium=display", None, "Display"),
    (Q + "utm_medium=display", None, "Display"),
    (Q + "dclid=x", None, "Display"),
    (Q + "gclid=x&utm_medium=display", None, "Display"),
    # --- Paid Other: any other paid medium ---------------------------------------------------
    (Q + "utm_medium=cpc", None, "Paid Other"),
    (Q + "utm_medium=PAID_SOCIAL", None, "Paid Other"),
    (Q + "utm_source=criteo&utm_medium=cpc", None, "Paid Other"),
    (Q + "utm_source=partner&utm_medium=cpa", None, "Paid Other"),
    (Q + "utm_source=partner&utm_medium=ppc", None, "Paid Other"),
    (Q + "utm_source=newsletter_sponsor&utm_medium=paid", None, "Paid Other"),
    (Q + "utm_source=taboola&utm_medium=paid_native", None, "Paid Other"),
    (Q + "utm_source=outbrain&utm_medium=sponsored", None, "Paid Other"),  # classifier: paid
    (Q + "utm_source=podcast_network&utm_medium=cpl", None, "Paid Other"),
    (Q + "utm_source=criteo&utm_medium=retargeting", None, "Paid Other"),
    (Q + "utm_source=chatgpt.com&utm_medium=cpc", None, "Paid Other"),  # paid beats AI
    (Q + "utm_source=microsoft.com&utm_medium=cpc", None, "Paid Other"),  # not t.co
    # --- AI Assistant: AI referrers and tags ------------------------------------------------
    (U, "https://chatgpt.com/", "AI Assistant"),
    (U, "https://chat.openai.com/", "AI Assistant"),
    (U, "https://www.perplexity.ai/search?q=x", "AI Assistant"),
    (U, "https://claude.ai/chat/x", "AI Assistant"),
    (U, "https://gemini.google.com/app", "AI Assistant"),  # not google.com's Organic Search
    (U, "https://copilot.microsoft.com/", "AI Assistant"),
    (U, "https://chat.deepseek.com/", "AI Assistant"),
    (U, "https://grok.com/", "AI Assistant"),
    (U, "https://chat.mistral.ai/", "AI Assistant"),
    (U, "https://meta.ai/", "AI Assistant"),
    (U, "https://duck.ai/", "AI Assistant"),
    (U, "https://notebooklm.google.com/", "AI Assistant"),
    (Q + "utm_source=chatgpt.com", None, "AI Assistant"),
    (Q + "utm_source=chatgpt.com", "https://chatgpt.com/", "AI Assistant"),
    (Q + "utm_source=ChatGPT&utm_medium=referral", None, "AI Assistant"),
    (Q + "utm_source=perplexity", None, "AI Assistant"),
    (Q + "utm_source=claude.ai", None, "AI Assistant"),
    (Q + "utm_source=copilot.microsoft.com", None, "AI Assistant"),
    (Q + "utm_source=gemini.google.com", None, "AI Assistant"),
    (Q + "utm_source=chatgpt.com&utm_medium=social", None, "AI Assistant"),
    # --- hosts match on label boundaries, never as substrings ------------------------------
    (U, "https://chatgpt.com.evil.org/", "Referral"),
    (U, "https://notchatgpt.com/", "Referral"),
    (U, "https://microsoft.com/", "Referral"),
    (U, "https://www.microsoft.com/", "Referral"),
    (U, "https://myfacebook.com/", "Referral"),
    (U, "https://google.evil.org/", "Referral"),
    (U, "https://mail.google.com.attacker.io/", "Referral"),
    (Q + "utm_source=chatgpt.com.evil.org", None, "Unassigned"),
    # --- Organic Shopping: shopping source or shop campaign ---------------------------------
    (U, "https://www.amazon.com/dp/1", "Organic Shopping"),
    (U, "android-app://com.ebay.mobile/", "Organic Shopping"),
    (U, "https://www.etsy.com/", "Organic Shopping"),
    (U, "https://www.walmart.com/", "Organic Shopping"),
    (U, "https://shopping.yahoo.com/", "Organic Shopping"),
    (Q + "utm_source=amazon", None, "Organic Shopping"),
    (Q + "utm_source=newsletter&utm_campaign=shopping_week", None, "Organic Shopping"),
    (Q + "utm_campaign=black-friday-shop", None, "Organic Shopping"),
    (Q + "utm_source=igshopping&utm_medium=social", None, "Organic Shopping"),
    (Q + "utm_source=facebook&utm_medium=social&utm_campaign=Shop", None, "Organic Shopping"),
    # --- Organic Social: social source or social medium -------------------------------------
    (U, "https://www.facebook.com/", "Organic Social"),
    (U, "https://m.facebook.com/story.php", "Organic Social"),
    (U, "https://l.facebook.com/", "Organic Social"),  # no fbclid: a shared link
    (U, "https://l.instagram.com/?u=x", "Organic Social"),
    (U, "https://t.co/abc123", "Organic Social"),
    (U, "https://x.com/someone/status/1", "Organic Social"),
    (U, "https://lnkd.in/e3xyz", "Organic Social"),
    (U, "https://out.reddit.com/t3_abc", "Organic Social"),
    (U, "https://news.ycombinator.com/item?id=1", "Organic Social"),
    (U, "https://bsky.app/profile/x", "Organic Social"),
    (U, "https://digg.com/", "Organic Social"),  # GA4 lists digg as social
    (U, "android-app://com.linkedin.android/", "Organic Social"),
    (U, "android-app://com.zhiliaoapp.musically/", "Organic Social"),
    (Q + "utm_source=facebook&utm_medium=social", None, "Organic Social"),
    (Q + "utm_source=facebook", "https://l.facebook.com/", "Organic Social"),
    (Q + "utm_source=brand&utm_medium=social-network", None, "Organic Social"),
    (Q + "utm_source=brand&utm_medium=Social%20Media", None, "Organic Social"),
    (Q + "utm_source=brand&utm_medium=sm", None, "Organic Social"),
    (Q + "utm_source=ig", None, "Organic Social"),
    (Q + "utm_source=linkedin.com", None, "Organic Social"),
    (Q + "utm_medium=social", None, "Organic Social"),
    (Q + "utm_source=x&utm_medium=sms", None, "Organic Social"),  # social source before SMS
    # --- Organic Video: video source or medium containing "video" --------------------------
    (U, "https://www.youtube.com/watch?v=x", "Organic Video"),
    (U, "https://m.youtube.com/", "Organic Video"),
    (U, "android-app://com.google.android.youtube/", "Organic Video"),
    (U, "https://vimeo.com/1", "Organic Video"),
    (U, "https://www.twitch.tv/x", "Organic Video"),
    (U, "android-app://com.netflix.mediaclient", "Organic Video"),
    (Q + "utm_source=youtube", None, "Organic Video"),
    (Q + "utm_source=brand&utm_medium=video", None, "Organic Video"),
    (Q + "utm_source=brand&utm_medium=Explainer-Video", None, "Organic Video"),
    (Q + "utm_source=yt&utm_medium=organic", None, "Organic Video"),  # video before search
    # --- Organic Search: search source or medium "organic" ----------------------------------
    (U, "https://www.google.com/", "Organic Search"),
    (U, "https://WWW.GOOGLE.COM:443/", "Organic Search"),
    (U, "https://www.google.co.uk/", "Organic Search"),
    (U, "https://www.google.com.br/", "Organic Search"),
    (U, "https://images.google.com/", "Organic Search"),
    (U, "https://news.google.co.uk/", "Organic Search"),
    (U, "https://www.bing.com/search?q=x", "Organic Search"),
    (U, "https://duckduckgo.com/", "Organic Search"),
    (U, "https://yandex.ru/search/?text=x", "Organic Search"),
    (U, "https://www.baidu.com/s?wd=x", "Organic Search"),
    (U, "https://search.yahoo.com/", "Organic Search"),
    (U, "https://www.ecosia.org/", "Organic Search"),
    (U, "https://search.brave.com/", "Organic Search"),
    (U, "android-app://com.google.android.googlequicksearchbox/https/www.google.com", "Organic Search"),
    (Q + "utm_source=google&utm_medium=organic", None, "Organic Search"),
    (Q + "utm_source=google", None, "Organic Search"),
    (Q + "utm_source=bing", None, "Organic Search"),
    (Q + "utm_source=newsletter&utm_medium=Organic", None, "Organic Search"),
    # --- Referral: medium referral, app or link; unknown referrer hosts --------------------
    (U, "https://blog.partner.com/post", "Referral"),
    (U, "https://www.some-blog.net/", "Referral"),
    (U, "android-app://com.unknown.app/", "Referral"),
    ("https://site.io/a", "https://blog.site.io/b", "Referral"),
    (Q + "utm_source=partner-blog&utm_medium=referral", None, "Referral"),
    (Q + "utm_source=partner&utm_medium=app", None, "Referral"),
    (Q + "utm_source=partner&utm_medium=link", None, "Referral"),
    (Q + "utm_source=email&utm_medium=referral", None, "Referral"),  # Referral before Email
    (Q + "utm_medium=email", "https://blog.partner.com/", "Referral"),  # referrer wins
    # --- Email: source or medium email / e-mail / e_mail / e mail; webmail -----------------
    (U, "https://mail.google.com/mail/u/0/", "Email"),
    (U, "https://outlook.live.com/mail/0/", "Email"),
    (U, "https://mail.yahoo.com/d/folders/1", "Email"),
    (U, "https://mail.proton.me/u/0/inbox", "Email"),
    (U, "android-app://com.google.android.gm/", "Email"),
    (U, "android-app://com.microsoft.office.outlook", "Email"),
    (Q + "utm_source=newsletter&utm_medium=email", None, "Email"),
    (Q + "utm_source=Newsletter&utm_medium=E-Mail", None, "Email"),
    (Q + "utm_source=newsletter&utm_medium=e_mail", None, "Email"),
    (Q + "utm_source=newsletter&utm_medium=e%20mail", None, "Email"),
    (Q + "utm_source=email", None, "Email"),
    (Q + "utm_source=e-mail&utm_medium=newsletter", None, "Email"),
    (Q + "utm_source=mail.google.com", None, "Email"),
    (Q + "utm_medium=email", None, "Email"),
    (Q + "utm_source=firebase&utm_medium=email", None, "Email"),  # Email before Push
    (Q + "utm_source=newsletter&utm_medium=emails", None, "Email"),  # GA4's regex matches anywhere
    # --- Affiliates, Audio, SMS -------------------------------------------------------------
    (Q + "utm_source=partner_x&utm_medium=affiliate", None, "Affiliates"),
    (Q + "utm_source=awin&utm_medium=Affiliate", None, "Affiliates"),
    (Q + "utm_medium=affiliate", None, "Affiliates"),
    (Q + "utm_source=partner&utm_medium=affiliates", None, "Unassigned"),
    (Q + "utm_source=spotify&utm_medium=audio", None, "Audio"),
    (Q + "utm_source=podcast&utm_medium=AUDIO", None, "Audio"),
    (Q + "utm_medium=audio", None, "Audio"),
    (Q + "utm_source=sms", None, "SMS"),
    (Q + "utm_source=twilio&utm_medium=sms", None, "SMS"),
    (Q + "utm_source=SMS&utm_medium=text", None, "SMS"),
    (Q + "utm_medium=sms", None, "SMS"),
    # --- Mobile Push Notifications ----------------------------------------------------------
    (Q + "utm_source=firebase", None, "Mobile Push Notifications"),
    (Q + "utm_source=onesignal&utm_medium=push", None, "Mobile Push Notifications"),
    (Q + "utm_source=app&utm_medium=web-push", None, "Mobile Push Notifications"),
    (Q + "utm_source=app&utm_medium=mobile", None, "Mobile Push Notifications"),
    (Q + "utm_source=app&utm_medium=mobile_app", None, "Mobile Push Notifications"),
    (Q + "utm_source=app&utm_medium=notification", None, "Mobile Push Notifications"),
    (Q + "utm_source=braze&utm_medium=in_app_notifications", None, "Mobile Push Notifications"),
    (Q + "utm_source=app&utm_medium=pushed", None, "Unassigned"),
    # --- Unassigned ----------------------------------------------------------------------------
    (Q + "utm_campaign=spring", None, "Unassigned"),
    (Q + "utm_campaign=x", "https://checkout.stripe.com/", "Unassigned"),
    (Q + "utm_source=newsletter", None, "Email"),  # newsletters are e-mail
    (Q + "utm_source=partner&utm_medium=print", None, "Unassigned"),
    (Q + "utm_source=qr&utm_medium=offline", None, "Unassigned"),
    (Q + "utm_source=some.unknown-host.io", None, "Unassigned"),
    (Q + "utm_source=hn", None, "Organic Social"),  # hn: Hacker News
    (Q + "utm_source=ecosia", None, "Organic Search"),  # Matomo names it a search engine
]  # fmt: skip

# (source, medium, campaign, expected): GA4's rules on plain session values.
GA4_CASES: list[tuple[str | None, str | None, str | None, str]] = [
    ("(direct)", "(none)", None, "Direct"),
    ("(direct)", "(not set)", None, "Direct"),
    ("(DIRECT)", "(None)", None, "Direct"),
    ("(direct)", None, None, "Direct"),
    ("direct", None, None, "Direct"),
    ("(direct)", "referral", None, "Referral"),
    (None, None, None, "Unassigned"),  # (not set) / (not set) is not Direct
    ("", "", "", "Unassigned"),
    ("google", "cpc", "cross-network", "Cross-network"),
    ("(direct)", "(none)", "cross-network", "Direct"),
    ("google", "cpc", "Shopping", "Paid Shopping"),
    ("IGShopping", "cpc", None, "Paid Shopping"),
    ("acme", "paid", "e-shop", "Paid Shopping"),
    ("acme", "paid", "workshop", "Paid Other"),
    ("acme", "paid", "shoppers", "Paid Shopping"),  # ^shop
    ("acme", "paid", "bookshop", "Paid Other"),
    ("google", "cpc", None, "Paid Search"),
    ("google", "cpm", None, "Paid Search"),
    ("google", "sem", None, "Organic Search"),  # not a GA4 paid medium ...
    ("bing.com", "ppc", None, "Paid Search"),
    ("search.yahoo.com", "paidsearch", None, "Paid Search"),
    ("facebook", "Paid", None, "Paid Social"),
    ("m.facebook.com", "cpc", None, "Paid Social"),
    ("t.co", "cpc", None, "Paid Social"),
    ("youtube", "cpv", None, "Paid Video"),
    ("criteo", "cpm", None, "Display"),
    ("acme", "Banner", None, "Display"),
    ("acme", "expandable", None, "Display"),
    ("acme", "interstitial", None, "Display"),
    ("google", "display", None, "Display"),
    ("acme", "CPV", None, "Paid Other"),
    ("acme", "tcp", None, "Paid Other"),  # .*cp.*
    ("acme", "ppc", None, "Paid Other"),
    ("acme", "PaidSearch", None, "Paid Other"),
    ("acme", "retargeting", None, "Paid Other"),
    ("acme", "remarketing", None, "Unassigned"),
    ("chatgpt.com", None, None, "AI Assistant"),
    ("chatgpt.com", "referral", None, "AI Assistant"),
    ("claude", "referral", None, "AI Assistant"),
    ("chatgpt.com", "cpc", None, "Paid Other"),
    ("chatgpt.com.evil.org", "referral", None, "Referral"),
    ("you", "referral", None, "Referral"),  # too generic a name
    ("amazon", "referral", None, "Organic Shopping"),
    ("Google Shopping", "organic", None, "Organic Shopping"),
    ("acme", "referral", "shop", "Organic Shopping"),
    ("facebook.com", "referral", None, "Organic Social"),
    ("acme", "social network", None, "Organic Social"),
    ("acme", "socialmedia", None, "Unassigned"),
    ("youtube.com", "referral", None, "Organic Video"),
    ("acme", "video-ad", None, "Organic Video"),
    ("google", "organic", None, "Organic Search"),
    ("acme", "ORGANIC", None, "Organic Search"),
    ("microsoft.com", "referral", None, "Referral"),
    ("acme", "link", None, "Referral"),
    ("acme", "app", None, "Referral"),
    ("acme", "apps", None, "Unassigned"),
    ("mail.google.com", "referral", None, "Referral"),  # GA4 order: Referral before Email
    ("mail.google.com", None, None, "Email"),
    ("e mail", "x", None, "Email"),
    ("acme", "E_Mail", None, "Email"),
    ("acme", "affiliate", None, "Affiliates"),
    ("acme", "audio", None, "Audio"),
    ("sms", None, None, "SMS"),
    ("firebase", None, None, "Mobile Push Notifications"),
    ("acme", "webpush", None, "Mobile Push Notifications"),
    ("acme", "Push", None, "Mobile Push Notifications"),
    ("acme", "notifications", None, "Mobile Push Notifications"),
    ("acme", "print", None, "Unassigned"),
]  # fmt: skip

GA4_ORDER = (
    "Direct", "Cross-network", "Paid Shopping", "Paid Search", "Paid Social", "Paid Video",
    "Display", "Paid Other", "Organic Shopping", "Organic Social", "Organic Video",
    "Organic Search", "Referral", "Email", "Affiliates", "Audio", "SMS",
    "Mobile Push Notifications", "Unassigned",
)  # fmt: skip
PAID_CHANNELS = frozenset(
    {"Cross-network", "Paid Shopping", "Paid Search", "Paid Social", "Paid Video", "Display",
     "Paid Other"}
)  # fmt: skip


@pytest.mark.parametrize(("url", "referrer", "channel"), CASES)
def test_case_table(url: str | None, referrer: str | None, channel: str) -> None:
    assert classify(url, referrer).channel == channel


@pytest.mark.parametrize(("source", "medium", "campaign", "channel"), GA4_CASES)
def test_ga4_rules(
    source: str | None, medium: str | None, campaign: str | None, channel: str
) -> None:
    assert channel_for(source, medium, campaign) == channel


def test_case_tables_are_big_and_cover_every_channel() -> None:
    assert len(CASES) >= 150
    assert len(CASES) + len(GA4_CASES) + len(RULE_CASES) >= 300
    assert {c[2] for c in CASES} == set(CHANNELS)
    assert {c[3] for c in GA4_CASES} == set(CHANNELS)


def test_channels_are_ga4_order_plus_ai_assistant() -> None:
    assert tuple(c for c in CHANNELS if c != "AI Assistant") == GA4_ORDER
    ai = CHANNELS.index("AI Assistant")
    assert CHANNELS[ai - 1] == "Paid Other" and CHANNELS[ai + 1] == "Organic Shopping"
    assert CHANNELS[-1] == "Unassigned"
    assert len(set(CHANNELS)) == len(CHANNELS) == len(PREDICATES)


@pytest.mark.parametrize(("url", "referrer"), [(c[0], c[1]) for c in RULE_CASES + CASES])
def test_channel_agrees_with_source_and_medium(url: str | None, referrer: str | None) -> None:
    """Across both tables: paid visits land in a paid channel, direct visits in Direct."""
    a = classify(url, referrer)
    assert a.channel in CHANNELS
    if a.medium == "paid":
        assert a.channel in PAID_CHANNELS
    if a.rule_id in ("direct", "self_referral"):
        assert a.channel == "Direct"
    if a.rule_id == "ai_referrer":
        assert a.channel == "AI Assistant"
    if a.rule_id == "webmail_referrer":
        assert a.channel == "Email"


@pytest.mark.parametrize(
    ("referrer", "own", "channel"),
    [
        ("https://app.example.org/dashboard", frozenset({"example.org"}), "Direct"),
        ("https://docs.example.com/", frozenset({"example.com"}), "Direct"),
        ("https://docs.example.com/", frozenset(), "Referral"),
        ("https://example.com.evil.org/", frozenset({"example.com"}), "Referral"),
    ],
)
def test_own_hosts(referrer: str, own: frozenset[str], channel: str) -> None:
    assert classify(U, referrer, own).channel == channel


def test_paid_and_click_ids() -> None:
    assert channel_for("google", "sem", paid=True) == "Paid Search"
    assert channel_for("google", None, click_id_type="gclid") == "Paid Search"
    assert channel_for("google", "email", click_id_type="GCLID") == "Paid Search"
    assert channel_for("google", None, click_id_type="dclid") == "Display"
    assert channel_for("google", "display", click_id_type="gclid") == "Display"
    assert channel_for("google", "cpm", click_id_type="dclid") == "Paid Search"
    assert channel_for("facebook", "social", paid=True) == "Paid Social"
    assert channel_for(None, None, paid=True) == "Paid Other"
    assert channel_for("google", "cpc", "Shopping", click_id_type="gclid") == "Paid Shopping"


def test_explicit_category_wins() -> None:
    assert channel_for("acme", "referral", category=SOURCE_CATEGORY_VIDEO) == "Organic Video"
    assert channel_for("acme", "referral", category=SOURCE_CATEGORY_AI) == "AI Assistant"
    assert channel_for("acme", "email", category=SOURCE_CATEGORY_EMAIL) == "Email"
    assert channel_for("google", "cpc", category=SOURCE_CATEGORY_SOCIAL) == "Paid Social"


@pytest.mark.parametrize(
    ("source", "category"),
    [
        ("google", SOURCE_CATEGORY_SEARCH),
        ("Google", SOURCE_CATEGORY_SEARCH),
        (" google ", SOURCE_CATEGORY_SEARCH),
        ("www.google.co.uk", SOURCE_CATEGORY_SEARCH),
        ("facebook", SOURCE_CATEGORY_SOCIAL),
        ("m.facebook.com", SOURCE_CATEGORY_SOCIAL),
        ("t.co", SOURCE_CATEGORY_SOCIAL),
        ("digg.com", SOURCE_CATEGORY_SOCIAL),
        ("youtube", SOURCE_CATEGORY_VIDEO),
        ("youtube.com", SOURCE_CATEGORY_VIDEO),
        ("com.google.android.youtube", SOURCE_CATEGORY_VIDEO),
        ("amazon", SOURCE_CATEGORY_SHOPPING),
        ("Google Shopping", SOURCE_CATEGORY_SHOPPING),
        ("chatgpt.com", SOURCE_CATEGORY_AI),
        ("gemini.google.com", SOURCE_CATEGORY_AI),
        ("perplexity", SOURCE_CATEGORY_AI),
        ("mail.google.com", SOURCE_CATEGORY_EMAIL),
        ("com.google.android.gm", SOURCE_CATEGORY_EMAIL),
        ("shopping.naver.com", SOURCE_CATEGORY_SHOPPING),
        ("naver.com", SOURCE_CATEGORY_SEARCH),
        ("groups.google.com", SOURCE_CATEGORY_SOCIAL),
        ("sites.google.com", SOURCE_CATEGORY_SOCIAL),
        ("news.google.com", SOURCE_CATEGORY_SEARCH),
        ("checkout.stripe.com", None),  # payment providers are not a source
        ("microsoft.com", None),
        ("chatgpt.com.evil.org", None),
        ("you", None),
        ("newsletter", None),
        ("", None),
        (None, None),
    ],
)
def test_category_of(source: str | None, category: str | None) -> None:
    assert category_of(source) == category


@pytest.mark.parametrize(
    ("referrer", "channel"),
    [
        ("https://shopping.naver.com/home", "Organic Shopping"),  # naver.com is search
        ("https://m.shopping.naver.com/", "Organic Shopping"),
        ("https://search.naver.com/search.naver?query=x", "Organic Search"),
        ("https://blog.naver.com/someone/1", "Organic Social"),
        ("https://groups.google.com/g/some-group", "Organic Social"),  # google.com is search
        ("https://sites.google.com/view/site", "Organic Social"),
        ("https://news.google.com/articles/x", "Organic Search"),
        ("https://images.google.com/", "Organic Search"),
        ("https://mail.google.com/mail/u/0/", "Email"),
        ("https://shop.tiktok.com/view/product/1", "Organic Shopping"),
    ],
)
def test_specific_subdomain_referrers(referrer: str, channel: str) -> None:
    assert classify(U, referrer).channel == channel


@pytest.mark.parametrize(
    ("source", "medium", "channel"),
    [
        ("shopping.naver.com", "referral", "Organic Shopping"),
        ("shopping.naver.com", "cpc", "Paid Shopping"),
        ("naver.com", "referral", "Organic Search"),
        ("groups.google.com", "referral", "Organic Social"),
        ("groups.google.com", "cpc", "Paid Social"),
        ("sites.google.com", None, "Organic Social"),
        ("news.google.com", None, "Organic Search"),
        ("google.com", "referral", "Organic Search"),
    ],
)
def test_specific_subdomain_sources(source: str, medium: str | None, channel: str) -> None:
    assert channel_for(source, medium) == channel


def test_utm_source_specific_subdomains() -> None:
    assert classify(Q + "utm_source=shopping.naver.com", None).channel == "Organic Shopping"
    assert classify(Q + "utm_source=groups.google.com", None).channel == "Organic Social"


def test_attribution_carries_the_channel() -> None:
    a = classify(Q + "utm_source=google&utm_medium=cpc", None)
    assert a.channel == "Paid Search"
    assert explain_entry(a.channel) == "channel:Paid Search"
    assert classify(None, None).channel == "Direct"


def test_public_api() -> None:
    assert sorted(channels.__all__) == sorted(
        ["AI_ASSISTANT", "CHANNELS", "DISPLAY_MEDIUMS", "PAID_MEDIUM", "PREDICATES",
         "SHOP_CAMPAIGN", "SOURCE_CATEGORY_AI", "SOURCE_CATEGORY_EMAIL", "SOURCE_CATEGORY_SEARCH",
         "SOURCE_CATEGORY_SHOPPING", "SOURCE_CATEGORY_SOCIAL", "SOURCE_CATEGORY_VIDEO",
         "ChannelInput", "category_of", "channel_for", "explain_entry", "is_email_tag",
         "referrer_category"]
    )  # fmt: skip


def test_doctests() -> None:
    assert doctest.testmod(channels).failed == 0
