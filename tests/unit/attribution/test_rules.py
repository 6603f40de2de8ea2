"""The classifier case table: Millimetric's published rule order, first match wins.

Each row: landing URL, referrer, expected (source, medium, confidence, rule_id).
"""

from __future__ import annotations

import msgspec
import pytest

from footfall.attribution import rules
from footfall.attribution.referrers import data_version
from footfall.attribution.rules import RULE_IDS, Attribution, classify, is_paid_medium

U = "https://shop.example.com/landing"
OWN = frozenset({"example.com", "app.example.org"})

# (url, referrer, source, medium, confidence, rule_id)
CASES: list[tuple[str | None, str | None, str, str, str, str]] = [
    # --- spec/seed examples -----------------------------------------------------------------
    ("https://yoursite.com/?utm_source=facebook&utm_medium=cpc&fbclid=abc", "https://l.facebook.com/", "facebook", "paid", "high", "fb_ad_redirect"),
    ("https://yoursite.com/?utm_source=facebook&utm_medium=cpc", None, "facebook", "paid", "high", "utm_paid_medium"),
    ("https://yoursite.com/?fbclid=abc", None, "facebook", "paid", "medium", "fbclid_only"),
    ("https://a-track.io/pricing?utm_source=google&utm_campaign=spring-launch&campaign_id=cmp_123&gclid=gclid_123&fbclid=fbclid_123", None, "google", "paid", "high", "gclid"),
    ("https://a-track.io/pricing?utm_source=google", None, "google", "unknown", "high", "utm_source"),
    (None, None, "direct", "direct", "high", "direct"),
    ("", "", "direct", "direct", "high", "direct"),
    (U, None, "direct", "direct", "high", "direct"),
    # --- rule 1-4: click ids, in order --------------------------------------------------------
    (U + "?gclid=abc", None, "google", "paid", "high", "gclid"),
    (U + "?gclid=abc", "https://www.bing.com/", "google", "paid", "high", "gclid"),
    (U + "?msclkid=m1", None, "bing", "paid", "high", "msclkid"),
    (U + "?msclkid=m1&utm_source=newsletter", None, "bing", "paid", "high", "msclkid"),
    (U + "?ttclid=t1", None, "tiktok", "paid", "high", "ttclid"),
    (U + "?ttclid=t1", "https://www.tiktok.com/", "tiktok", "paid", "high", "ttclid"),
    (U + "?li_fat_id=l1", None, "linkedin", "paid", "high", "li_fat_id"),
    (U + "?li_fat_id=l1", "https://lnkd.in/abc", "linkedin", "paid", "high", "li_fat_id"),
    (U + "?msclkid=m&gclid=g", None, "google", "paid", "high", "gclid"),
    (U + "?ttclid=t&msclkid=m", None, "bing", "paid", "high", "msclkid"),
    (U + "?li_fat_id=l&ttclid=t", None, "tiktok", "paid", "high", "ttclid"),
    (U + "?fbclid=f&li_fat_id=l", "https://l.facebook.com/", "linkedin", "paid", "high", "li_fat_id"),
    (U + "?gclid=g&utm_source=facebook&utm_medium=cpc", None, "google", "paid", "high", "gclid"),
    (U + "?GCLID=abc", None, "google", "paid", "high", "gclid"),
    (U + "?gclid=", None, "direct", "direct", "high", "direct"),  # blank value is absent
    (U + "?gclid=%20", None, "direct", "direct", "high", "direct"),
    # --- extra click ids after rule 4 ---------------------------------------------------------
    (U + "?gbraid=x", None, "google", "paid", "high", "gbraid"),
    (U + "?wbraid=x", None, "google", "paid", "high", "wbraid"),
    (U + "?gad_source=1", None, "google", "paid", "high", "gad_source"),
    (U + "?dclid=x", None, "google", "paid", "high", "dclid"),
    (U + "?twclid=x", "https://t.co/abc", "twitter", "paid", "high", "twclid"),
    (U + "?epik=x", None, "pinterest", "paid", "high", "epik"),
    (U + "?rdt_cid=x", None, "reddit", "paid", "high", "rdt_cid"),
    (U + "?sccid=x", None, "snapchat", "paid", "high", "sccid"),
    (U + "?sccid=x&li_fat_id=y", None, "linkedin", "paid", "high", "li_fat_id"),
    (U + "?epik=x&fbclid=y", "https://l.facebook.com/", "pinterest", "paid", "high", "epik"),
    (U + "?wbraid=x&utm_source=bing&utm_medium=cpc", None, "google", "paid", "high", "wbraid"),
    # --- rule 5: fbclid via Facebook's ad redirect --------------------------------------------
    (U + "?fbclid=abc", "https://l.facebook.com/", "facebook", "paid", "high", "fb_ad_redirect"),
    (U + "?fbclid=abc", "https://lm.facebook.com/l.php?u=x", "facebook", "paid", "high", "fb_ad_redirect"),
    (U + "?fbclid=abc", "HTTPS://L.FACEBOOK.COM/", "facebook", "paid", "high", "fb_ad_redirect"),
    (U + "?fbclid=abc&utm_source=instagram", "https://l.facebook.com/", "facebook", "paid", "high", "fb_ad_redirect"),
    (U + "?fbclid=abc&utm_source=newsletter&utm_medium=email", "https://l.facebook.com/", "facebook", "paid", "high", "fb_ad_redirect"),
    (U + "?fbclid=abc", "https://m.facebook.com/", "facebook", "paid", "medium", "fbclid_only"),
    (U + "?fbclid=abc", "https://www.facebook.com/", "facebook", "paid", "medium", "fbclid_only"),
    (U + "?fbclid=abc", "https://l.facebook.com.evil.org/", "facebook", "paid", "medium", "fbclid_only"),
    # --- rule 6: fbclid + Meta utm_source -----------------------------------------------------
    (U + "?fbclid=abc&utm_source=facebook", None, "facebook", "paid", "high", "fbclid_utm_source"),
    (U + "?fbclid=abc&utm_source=instagram", None, "instagram", "paid", "high", "fbclid_utm_source"),
    (U + "?fbclid=abc&utm_source=meta", None, "meta", "paid", "high", "fbclid_utm_source"),
    (U + "?fbclid=abc&utm_source=Facebook", None, "facebook", "paid", "high", "fbclid_utm_source"),
    (U + "?fbclid=abc&utm_source=INSTAGRAM", "https://l.instagram.com/", "instagram", "paid", "high", "fbclid_utm_source"),
    (U + "?fbclid=abc&utm_source=ig", None, "instagram", "paid", "high", "fbclid_utm_source"),
    (U + "?fbclid=abc&utm_source=fb&utm_medium=social", None, "facebook", "paid", "high", "fbclid_utm_source"),
    (U + "?fbclid=abc&utm_source=facebook", "https://m.facebook.com/", "facebook", "paid", "high", "fbclid_utm_source"),
    # --- rules 7-9: paid utm_medium -----------------------------------------------------------
    (U + "?utm_source=google&utm_medium=cpc", None, "google", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=bing&utm_medium=ppc", None, "bing", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=facebook&utm_medium=paid", None, "facebook", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=facebook&utm_medium=paid_social", None, "facebook", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=facebook&utm_medium=paidsocial", None, "facebook", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=facebook&utm_medium=paid-social", None, "facebook", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=facebook&utm_medium=Paid+Social", None, "facebook", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=criteo&utm_medium=cpm", None, "criteo", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=youtube&utm_medium=cpv", None, "youtube", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=partner&utm_medium=cpa", None, "partner", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=gdn&utm_medium=display", None, "gdn", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=news&utm_medium=banner", None, "news", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=google&utm_medium=paid_search", None, "google", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=google&utm_medium=paidsearch", None, "google", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=google&utm_medium=sem", None, "google", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=google&utm_medium=retargeting", None, "google", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=Google&utm_medium=CPC", None, "google", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=google&utm_medium=Paid", None, "google", "paid", "high", "utm_paid_medium"),
    (U + "?UTM_SOURCE=Google&UTM_MEDIUM=Cpc", None, "google", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=ig&utm_medium=paid_social", None, "instagram", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=IG&utm_medium=cpc", None, "instagram", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=instagram&utm_medium=cpc", None, "instagram", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=insta&utm_medium=paid", None, "instagram", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=fb&utm_medium=cpc", None, "facebook", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=meta&utm_medium=cpc", None, "meta", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=tiktok&utm_medium=paid", None, "tiktok", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=linkedin&utm_medium=paid_social", None, "linkedin", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=google.com&utm_medium=cpc", None, "google", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=www.google.de&utm_medium=cpc", None, "google", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=x&utm_medium=cpc", None, "twitter", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=facebook&utm_medium=cpc", "https://www.google.com/", "facebook", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=facebook&utm_medium=cpc&fbclid=x", "https://m.facebook.com/", "facebook", "paid", "high", "fbclid_utm_source"),
    (U + "?utm_source=pinterest&utm_medium=cpc&fbclid=x", None, "pinterest", "paid", "high", "utm_paid_medium"),
    (U + "?utm_source=Adwords&utm_medium=cpc", None, "google", "paid", "high", "utm_paid_medium"),
    # --- rule 10: paid medium, no source ------------------------------------------------------
    (U + "?utm_medium=cpc", None, "unknown", "paid", "medium", "paid_medium_no_source"),
    (U + "?utm_medium=PAID_SOCIAL", None, "unknown", "paid", "medium", "paid_medium_no_source"),
    (U + "?utm_medium=display&utm_campaign=x", None, "unknown", "paid", "medium", "paid_medium_no_source"),
    (U + "?utm_medium=cpc", "https://www.google.com/", "unknown", "paid", "medium", "paid_medium_no_source"),
    (U + "?utm_medium=cpc&utm_source=", None, "unknown", "paid", "medium", "paid_medium_no_source"),
    (U + "?utm_medium=cpc&fbclid=x", None, "unknown", "paid", "medium", "paid_medium_no_source"),
    # --- rule 11: fbclid alone ----------------------------------------------------------------
    (U + "?fbclid=IwAR0abc", None, "facebook", "paid", "medium", "fbclid_only"),
    (U + "?FBCLID=x", None, "facebook", "paid", "medium", "fbclid_only"),
    (U + "?fbclid=x&utm_source=newsletter", None, "facebook", "paid", "medium", "fbclid_only"),
    (U + "?fbclid=x", "https://www.google.com/", "facebook", "paid", "medium", "fbclid_only"),
    (U + "?fbclid=x", "https://shop.example.com/", "facebook", "paid", "medium", "fbclid_only"),
    # --- rule 12: utm_source without a paid signal --------------------------------------------
    (U + "?utm_source=newsletter&utm_medium=email", None, "newsletter", "email", "high", "utm_source"),
    (U + "?utm_source=Newsletter&utm_medium=Email", None, "newsletter", "email", "high", "utm_source"),
    (U + "?utm_source=facebook&utm_medium=social", None, "facebook", "social", "high", "utm_source"),
    (U + "?utm_source=facebook", "https://l.facebook.com/", "facebook", "unknown", "high", "utm_source"),
    (U + "?utm_source=hn", "https://news.ycombinator.com/", "hacker_news", "unknown", "high", "utm_source"),
    (U + "?utm_source=chatgpt.com", None, "chatgpt", "unknown", "high", "utm_source"),
    (U + "?utm_source=partner-blog&utm_medium=referral", None, "partner-blog", "referral", "high", "utm_source"),
    (U + "?utm_source=google&utm_medium=organic", None, "google", "organic", "high", "utm_source"),
    (U + "?utm_source=ig&utm_medium=social", None, "instagram", "social", "high", "utm_source"),
    (U + "?utm_source=google&utm_medium=", None, "google", "unknown", "high", "utm_source"),
    (U + "?utm_source=%20Google%20", None, "google", "unknown", "high", "utm_source"),
    (U + "?utm_source=google", "https://shop.example.com/", "google", "unknown", "high", "utm_source"),
    (U + "?utm_source=some.unknown-host.io", None, "some.unknown-host.io", "unknown", "high", "utm_source"),
    (U + "?utm_source=stripe.com&utm_medium=email", None, "stripe.com", "email", "high", "utm_source"),
    # --- rules 13-14: Facebook and Instagram referrers ----------------------------------------
    (U, "https://www.facebook.com/", "facebook", "social", "medium", "facebook_referrer"),
    (U, "https://m.facebook.com/story.php", "facebook", "social", "medium", "facebook_referrer"),
    (U, "https://l.facebook.com/", "facebook", "social", "medium", "facebook_referrer"),
    (U, "https://lm.facebook.com/", "facebook", "social", "medium", "facebook_referrer"),
    (U, "https://web.facebook.com/", "facebook", "social", "medium", "facebook_referrer"),
    (U, "https://fb.me/abc", "facebook", "social", "medium", "facebook_referrer"),
    (U, "android-app://com.facebook.katana/", "facebook", "social", "medium", "facebook_referrer"),
    (U, "https://instagram.com/", "instagram", "social", "medium", "instagram_referrer"),
    (U, "https://l.instagram.com/?u=x", "instagram", "social", "medium", "instagram_referrer"),
    (U, "https://www.instagram.com/p/abc", "instagram", "social", "medium", "instagram_referrer"),
    (U, "android-app://com.instagram.android", "instagram", "social", "medium", "instagram_referrer"),
    # --- other social networks ----------------------------------------------------------------
    (U, "https://t.co/abc123", "twitter", "social", "medium", "social_referrer"),
    (U, "https://x.com/someone/status/1", "twitter", "social", "medium", "social_referrer"),
    (U, "https://twitter.com/", "twitter", "social", "medium", "social_referrer"),
    (U, "https://lnkd.in/e3xyz", "linkedin", "social", "medium", "social_referrer"),
    (U, "https://www.linkedin.com/feed/", "linkedin", "social", "medium", "social_referrer"),
    (U, "https://out.reddit.com/t3_abc", "reddit", "social", "medium", "social_referrer"),
    (U, "https://old.reddit.com/r/python", "reddit", "social", "medium", "social_referrer"),
    (U, "https://news.ycombinator.com/item?id=1", "hacker_news", "social", "medium", "social_referrer"),
    (U, "https://www.youtube.com/watch?v=x", "youtube", "social", "medium", "social_referrer"),
    (U, "https://bsky.app/profile/x", "bluesky", "social", "medium", "social_referrer"),
    (U, "https://www.threads.net/@x", "threads", "social", "medium", "social_referrer"),
    (U, "https://github.com/org/repo", "github", "social", "medium", "social_referrer"),
    (U, "https://www.pinterest.com/pin/1", "pinterest", "social", "medium", "social_referrer"),
    (U, "android-app://com.linkedin.android/", "linkedin", "social", "medium", "social_referrer"),
    (U, "android-app://com.reddit.frontpage/", "reddit", "social", "medium", "social_referrer"),
    # --- search engines, incl. country domains ------------------------------------------------
    (U, "https://www.google.com/", "google", "organic", "medium", "search_referrer"),
    (U, "https://google.com/search?q=x", "google", "organic", "medium", "search_referrer"),
    (U, "https://www.google.de/", "google", "organic", "medium", "search_referrer"),
    (U, "https://www.google.co.uk/", "google", "organic", "medium", "search_referrer"),
    (U, "https://www.google.com.br/", "google", "organic", "medium", "search_referrer"),
    (U, "https://www.google.co.jp/", "google", "organic", "medium", "search_referrer"),
    (U, "https://www.google.fr/", "google", "organic", "medium", "search_referrer"),
    (U, "https://images.google.com/", "google", "organic", "medium", "search_referrer"),
    (U, "https://news.google.com/", "google", "organic", "medium", "search_referrer"),
    (U, "https://news.google.co.uk/", "google", "organic", "medium", "search_referrer"),
    (U, "https://WWW.GOOGLE.COM:443/", "google", "organic", "medium", "search_referrer"),
    (U, "https://www.bing.com/search?q=x", "bing", "organic", "medium", "search_referrer"),
    (U, "https://cn.bing.com/", "bing", "organic", "medium", "search_referrer"),
    (U, "https://duckduckgo.com/", "duckduckgo", "organic", "medium", "search_referrer"),
    (U, "https://yandex.ru/search/?text=x", "yandex", "organic", "medium", "search_referrer"),
    (U, "https://yandex.com.tr/", "yandex", "organic", "medium", "search_referrer"),
    (U, "https://www.baidu.com/s?wd=x", "baidu", "organic", "medium", "search_referrer"),
    (U, "https://search.yahoo.com/", "yahoo", "organic", "medium", "search_referrer"),
    (U, "https://uk.search.yahoo.com/", "yahoo", "organic", "medium", "search_referrer"),
    (U, "https://www.ecosia.org/", "ecosia", "organic", "medium", "search_referrer"),
    (U, "https://search.brave.com/", "brave", "organic", "medium", "search_referrer"),
    (U, "https://www.qwant.com/", "qwant", "organic", "medium", "search_referrer"),
    (U, "https://search.naver.com/", "naver", "organic", "medium", "search_referrer"),
    (U, "https://www.startpage.com/", "startpage", "organic", "medium", "search_referrer"),
    (U, "android-app://com.google.android.googlequicksearchbox/https/www.google.com", "google", "organic", "medium", "search_referrer"),
    (U, "android-app://com.google.android.googlequicksearchbox", "google", "organic", "medium", "search_referrer"),
    # --- webmail ------------------------------------------------------------------------------
    (U, "https://mail.google.com/mail/u/0/", "email", "email", "medium", "webmail_referrer"),
    (U, "https://outlook.live.com/mail/0/", "email", "email", "medium", "webmail_referrer"),
    (U, "https://outlook.office.com/", "email", "email", "medium", "webmail_referrer"),
    (U, "https://mail.yahoo.com/d/folders/1", "email", "email", "medium", "webmail_referrer"),
    (U, "https://mail.proton.me/u/0/inbox", "email", "email", "medium", "webmail_referrer"),
    (U, "https://mail.yandex.ru/", "email", "email", "medium", "webmail_referrer"),
    (U, "android-app://com.google.android.gm/", "email", "email", "medium", "webmail_referrer"),
    (U, "android-app://com.microsoft.office.outlook", "email", "email", "medium", "webmail_referrer"),
    # --- AI assistants and shopping (named, medium referral) ----------------------------------
    (U, "https://chatgpt.com/", "chatgpt", "referral", "medium", "ai_referrer"),
    (U, "https://chat.openai.com/", "chatgpt", "referral", "medium", "ai_referrer"),
    (U, "https://www.perplexity.ai/", "perplexity", "referral", "medium", "ai_referrer"),
    (U, "https://claude.ai/chat/x", "claude", "referral", "medium", "ai_referrer"),
    (U, "https://gemini.google.com/app", "gemini", "referral", "medium", "ai_referrer"),
    (U, "https://copilot.microsoft.com/", "copilot", "referral", "medium", "ai_referrer"),
    (U, "https://www.amazon.com/dp/1", "amazon", "referral", "medium", "shopping_referrer"),
    (U, "android-app://com.ebay.mobile/", "ebay", "referral", "medium", "shopping_referrer"),
    (U, "android-app://com.google.android.youtube/", "youtube", "social", "medium", "video_referrer"),
    (U, "android-app://com.netflix.mediaclient", "netflix", "social", "medium", "video_referrer"),
    (U, "android-app://com.zhiliaoapp.musically/", "tiktok", "social", "medium", "social_referrer"),
    # --- label-boundary host matching ---------------------------------------------------------
    (U, "https://chatgpt.com.evil.org/", "chatgpt.com.evil.org", "referral", "low", "referral"),
    (U, "https://notchatgpt.com/", "notchatgpt.com", "referral", "low", "referral"),
    (U, "https://microsoft.com/", "microsoft.com", "referral", "low", "referral"),
    (U, "https://www.microsoft.com/", "www.microsoft.com", "referral", "low", "referral"),
    (U, "https://myfacebook.com/", "myfacebook.com", "referral", "low", "referral"),
    (U, "https://facebook.com.phish.net/", "facebook.com.phish.net", "referral", "low", "referral"),
    (U, "https://google.evil.org/", "google.evil.org", "referral", "low", "referral"),
    (U, "https://notgoogle.com/", "notgoogle.com", "referral", "low", "referral"),
    (U, "https://mail.google.com.attacker.io/", "mail.google.com.attacker.io", "referral", "low", "referral"),
    # --- self-referral ------------------------------------------------------------------------
    (U, "https://shop.example.com/cart", "internal", "direct", "high", "self_referral"),
    (U, "http://SHOP.EXAMPLE.COM:8080/", "internal", "direct", "high", "self_referral"),
    ("https://www.site.io/a", "https://site.io/b", "internal", "direct", "high", "self_referral"),
    ("https://site.io/a", "https://www.site.io/b", "internal", "direct", "high", "self_referral"),
    ("https://site.io/a", "https://blog.site.io/b", "blog.site.io", "referral", "low", "referral"),
    # internal links tagged ?ref= / ?source= are navigation, not a source (review P1-3);
    # utm_* and Matomo's aliases on them still make a campaign
    (U + "?ref=navbar", "https://shop.example.com/", "internal", "direct", "high", "self_referral"),
    (U + "?source=footer&page=2", "https://www.shop.example.com/a", "internal", "direct", "high", "self_referral"),
    (U + "?ref=navbar&utm_campaign=spring", "https://shop.example.com/", "unknown", "unknown", "low", "utm_without_source"),
    (U + "?ref=navbar&utm_source=promo", "https://shop.example.com/", "promo", "unknown", "high", "utm_source"),
    (U + "?ref=navbar&mtm_source=promo", "https://shop.example.com/", "promo", "unknown", "high", "utm_source"),
    (U + "?pk_campaign=spring&ref=navbar", "https://shop.example.com/", "unknown", "unknown", "low", "utm_without_source"),
    (U + "?ref=producthunt", "https://blog.partner.com/", "producthunt", "social", "medium", "tagged_source"),
    # --- payment providers are not a source ---------------------------------------------------
    (U, "https://checkout.stripe.com/c/pay/cs_123", "direct", "direct", "high", "direct"),
    (U, "https://www.paypal.com/checkoutnow", "direct", "direct", "high", "direct"),
    (U, "https://paypal.com/", "direct", "direct", "high", "direct"),
    (U, "https://pay.google.com/", "direct", "direct", "high", "direct"),
    (U, "https://dashboard.stripe.com/", "direct", "direct", "high", "direct"),
    (U + "?utm_source=newsletter", "https://checkout.stripe.com/", "newsletter", "unknown", "high", "utm_source"),
    (U + "?utm_campaign=x", "https://checkout.stripe.com/", "unknown", "unknown", "low", "utm_without_source"),
    # --- leftovers: plain referrals, junk ------------------------------------------------------
    (U, "https://blog.partner.com/post", "blog.partner.com", "referral", "low", "referral"),
    (U, "https://www.some-blog.net/", "www.some-blog.net", "referral", "low", "referral"),
    (U, "android-app://com.unknown.app/", "com.unknown.app", "referral", "low", "referral"),
    (U + "?utm_medium=email", "https://blog.partner.com/", "blog.partner.com", "referral", "low", "referral"),
    (U + "?utm_medium=email", None, "unknown", "email", "low", "utm_without_source"),
    (U + "?utm_campaign=spring", None, "unknown", "unknown", "low", "utm_without_source"),
    (U + "?page=2&ref=abc", None, "abc", "referral", "medium", "tagged_source"),
    # --- families (tests/unit/attribution/test_families.py has the full tables) -------------
    (U + "?utm_source=fb-ads", None, "facebook", "paid", "high", "utm_paid_source"),
    (U + "?utm_source=Google_Ads&utm_medium=banner", None, "google", "paid", "high", "utm_paid_medium"),
    (U + "?ref=producthunt", None, "producthunt", "social", "medium", "tagged_source"),
    (U + "?source=newsletter", "https://www.google.com/", "newsletter", "email", "medium", "tagged_source"),
    (U + "?utm_source=x&ref=y", None, "twitter", "unknown", "high", "utm_source"),
    (U, "https://tdsf.doubleclick.net/", "google", "paid", "medium", "ad_referrer"),
    (U + "?gclid=g", "https://a1b2.safeframe.googlesyndication.com/", "google", "paid", "high", "gclid"),
    (U, "ftp://files.example.net/x", "direct", "direct", "high", "direct"),
    (U, "http://localhost:3000/", "direct", "direct", "high", "direct"),
    (U, "not a url", "direct", "direct", "high", "direct"),
    (U, "null", "direct", "direct", "high", "direct"),
    ("::::garbage::::", "http://[::1", "direct", "direct", "high", "direct"),
    ("/relative/path?utm_source=Reddit&utm_medium=cpc", None, "reddit", "paid", "high", "utm_paid_medium"),
    ("shop.example.com/?gclid=x", None, "google", "paid", "high", "gclid"),
    ("https://shop.example.com/#utm_source=google", None, "direct", "direct", "high", "direct"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "referrer", "source", "medium", "confidence", "rule_id"), CASES)
def test_case_table(
    url: str | None, referrer: str | None, source: str, medium: str, confidence: str, rule_id: str
) -> None:
    a = classify(url, referrer)
    assert (a.source, a.medium, a.confidence, a.rule_id) == (source, medium, confidence, rule_id)
    assert a.explain[-1] == f"fired:{rule_id}"


def test_case_table_is_big_and_covers_every_rule() -> None:
    assert len(CASES) >= 150
    assert {c[5] for c in CASES} == set(RULE_IDS)


def test_rule_order_is_the_published_order() -> None:
    assert RULE_IDS[:4] == ("gclid", "msclkid", "ttclid", "li_fat_id")
    published = [
        "li_fat_id", "fb_ad_redirect", "fbclid_utm_source", "utm_paid_medium",
        "paid_medium_no_source", "fbclid_only", "utm_source", "facebook_referrer",
        "instagram_referrer", "social_referrer", "search_referrer", "webmail_referrer",
        "self_referral", "direct", "referral",
    ]  # fmt: skip
    positions = [RULE_IDS.index(r) for r in published]
    assert positions == sorted(positions)
    assert len(set(RULE_IDS)) == len(RULE_IDS)
    assert all(r.isidentifier() and r == r.lower() for r in RULE_IDS)


@pytest.mark.parametrize(
    ("url", "referrer", "source", "medium", "rule_id"),
    [
        (U, "https://app.example.org/dashboard", "internal", "direct", "self_referral"),
        (U, "https://example.com/", "internal", "direct", "self_referral"),
        (U, "https://www.example.com/", "internal", "direct", "self_referral"),
        (U, "https://docs.example.com/", "internal", "direct", "self_referral"),
        (U, "https://example.com.evil.org/", "example.com.evil.org", "referral", "referral"),
        (U, "https://notexample.com/", "notexample.com", "referral", "referral"),
        (U, "https://www.google.com/", "google", "organic", "search_referrer"),  # spec order
    ],
)
def test_own_hosts(url: str, referrer: str, source: str, medium: str, rule_id: str) -> None:
    a = classify(url, referrer, OWN)
    assert (a.source, a.medium, a.rule_id) == (source, medium, rule_id)


def test_campaign_fields() -> None:
    a = classify(
        U + "?utm_source=Google&utm_medium=cpc&utm_campaign=Spring-Launch&utm_term=Running+Shoes"
        "&utm_content=hero%20banner&utm_id=cmp_1&campaign_id=cmp_2",
        None,
    )
    assert (a.campaign, a.term, a.content, a.campaign_id) == (
        "Spring-Launch",  # values keep their case
        "Running Shoes",
        "hero banner",
        "cmp_1",
    )
    b = classify(U + "?utm_source=google&campaign_id=cmp_123&utm_campaign=spring-launch", None)
    assert (b.campaign, b.campaign_id) == ("spring-launch", "cmp_123")
    c = classify(U + "?utm_campaign=a&utm_campaign=b", "https://www.google.com/")
    assert (c.campaign, c.rule_id) == ("a", "search_referrer")  # first value wins
    assert classify(U, None).campaign is None


def test_click_ids_reported() -> None:
    a = classify(U + "?gclid=G1&fbclid=F1", None)
    assert (a.click_id_type, a.click_id) == ("gclid", "G1")
    b = classify(U + "?utm_source=facebook&utm_medium=cpc&fbclid=F1", "https://l.facebook.com/")
    assert (b.click_id_type, b.click_id) == ("fbclid", "F1")
    c = classify(U + "?utm_source=facebook&utm_medium=cpc&msclkid=M1", None)
    assert (c.click_id_type, c.click_id, c.rule_id) == ("msclkid", "M1", "msclkid")
    d = classify(U + "?utm_source=newsletter&utm_medium=email", None)
    assert (d.click_id_type, d.click_id) == (None, None)
    e = classify(U + "?utm_medium=cpc&fbclid=F2", None)
    assert (e.rule_id, e.click_id_type, e.click_id) == ("paid_medium_no_source", "fbclid", "F2")


def test_referrer_host_and_version() -> None:
    a = classify(U, "https://WWW.Google.DE/search?q=x")
    assert a.referrer_host == "www.google.de"
    assert a.referrer_version == data_version() != ""
    assert classify(U, None).referrer_host is None
    assert (
        classify(U, "android-app://com.google.android.gm/").referrer_host == "com.google.android.gm"
    )


def test_payment_exclusion_is_explained() -> None:
    a = classify(U, "https://checkout.stripe.com/pay")
    assert a.referrer_host is None
    assert "note:excluded_referrer:stripe:checkout.stripe.com" in a.explain


def test_explain_lists_rules_considered_in_order() -> None:
    a = classify(U, "https://www.google.com/")
    idx = RULE_IDS.index("search_referrer")
    assert a.explain == (*(f"considered:{r}" for r in RULE_IDS[:idx]), "fired:search_referrer")
    assert classify(U + "?gclid=x", None).explain == ("fired:gclid",)
    assert "note:referrer_unparseable" in classify(U, "not a url").explain


def test_outputs_are_lower_case() -> None:
    for url, ref in [
        (U + "?utm_source=NewsLetter&utm_medium=EMAIL", None),
        (U, "https://BLOG.X.COM/"),
    ]:
        a = classify(url, ref)
        assert a.source == a.source.lower() and a.medium == a.medium.lower()


def test_result_is_frozen_and_cached() -> None:
    a = classify(U + "?gclid=x", None)
    assert isinstance(a, Attribution)
    with pytest.raises(AttributeError):
        a.source = "other"  # type: ignore[misc]
    assert classify(U + "?gclid=x", None) == a


def test_cached_decision_keeps_each_visits_own_click_id() -> None:
    # One decision serves every visit with the same host, params and referrer host...
    first = classify("https://c.example/p/1?gclid=AAA&utm_campaign=spring", "https://www.google.com/a")
    second = classify("https://c.example/p/2?gclid=B%2BB&utm_campaign=spring", "https://www.google.com/b")
    assert (first.click_id, second.click_id) == ("AAA", "B+B")
    assert {k: v for k, v in msgspec.structs.asdict(first).items() if k != "click_id"} == {
        k: v for k, v in msgspec.structs.asdict(second).items() if k != "click_id"
    }
    # ...but a blank click id is no click id at all, so it is a different decision.
    blank = classify("https://c.example/p/3?gclid=+&utm_campaign=spring", "https://www.google.com/")
    assert (blank.rule_id, blank.click_id) == ("search_referrer", None)


def test_is_paid_medium() -> None:
    assert all(
        map(is_paid_medium, ["cpc", "PPC", "Paid Social", "paid-search", "paid_anything", "cpm"])
    )
    assert not any(
        map(is_paid_medium, [None, "", "email", "social", "organic", "referral", "cpcx"])
    )


def test_public_api() -> None:
    assert sorted(rules.__all__) == sorted(
        ["CAMPAIGN_ALIASES", "CLICK_IDS", "PAID_MEDIUMS", "RULES", "RULE_IDS", "Attribution", "Signals", "classify",
         "is_paid_medium", "signals"]
    )  # fmt: skip


def test_doctests() -> None:
    import doctest

    assert doctest.testmod(rules).failed == 0
