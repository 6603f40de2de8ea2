#!/usr/bin/env python3
"""Build ``src/footfall/attribution/data/referrers.json`` from the vendored referrer lists.

Dev-time only (needs PyYAML); the runtime reads only the generated JSON.

Usage::

    .venv/bin/python scripts/build_referrers.py [--src /work/shared/data/referrers]

Inputs (see ``SOURCES.md`` next to them):

* ``matomo/SearchEngines.yml``, ``matomo/Socials.yml``, ``matomo/AIAssistants.yml`` (CC0)
* ``ga4/ga4_source_categories.csv`` (MIT, Velir copy of Google's list)
* ``posthog/channel_definitions.json`` (MIT)

Output shape::

    {
      "version": "<collected date>.<sha256[:12] of inputs + overrides>",
      "hosts": {"google.com": ["search", "google"], ...},      # label-boundary suffix match
      "patterns": {"google.{}": ["search", "google"], ...},   # {} = TLD / country code label(s)
      "aliases": {"ig": "instagram", ...},                     # utm_source spellings
      "source_categories": {"google": "search", ...}           # bare utm_source names
    }

Precedence for the same host (first writer wins): footfall overrides, PostHog e-mail rows,
Matomo AI assistants, Matomo search engines, Matomo socials, GA4 categories, PostHog
categories.  Every listed host is kept, including subdomains of another listed host
(``shopping.naver.com`` under ``naver.com``): ``referrers.lookup`` picks the longest matching
suffix, so the more specific entry wins at lookup time.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import footfall_referrers as ff

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SRC = Path("/work/shared/data/referrers")
OUT_DIR = ROOT / "src" / "footfall" / "attribution" / "data"

# Bumped when the build rules change the output for the same inputs (part of the version).
# 2: subdomains of listed hosts are kept (``shopping.naver.com``), not dropped.
# 3: Footfall's families (footfall_referrers.py): webmail, ad-serving hosts, messaging and
#    community apps, AI assistants before search lists; path entries; paid utm_source spellings.
BUILD_REVISION = 3

# Footfall's own additions: webmail front-ends, redirect hosts and payment providers.
# Payment providers are not a traffic source: the classifier treats them as "no referrer".
OVERRIDES: dict[str, tuple[str, str]] = {
    # webmail
    "mail.google.com": ("email", "gmail"),
    "inbox.google.com": ("email", "gmail"),
    "outlook.live.com": ("email", "outlook"),
    "outlook.office.com": ("email", "outlook"),
    "outlook.office365.com": ("email", "outlook"),
    "mail.live.com": ("email", "outlook"),
    "mail.yahoo.com": ("email", "yahoo_mail"),
    "mail.yahoo.co.jp": ("email", "yahoo_mail"),
    "mail.aol.com": ("email", "aol_mail"),
    "mail.proton.me": ("email", "proton_mail"),
    "mail.protonmail.com": ("email", "proton_mail"),
    "mail.yandex.ru": ("email", "yandex_mail"),
    "mail.yandex.com": ("email", "yandex_mail"),
    "e.mail.ru": ("email", "mail_ru"),
    "mail.zoho.com": ("email", "zoho_mail"),
    "mail.zoho.eu": ("email", "zoho_mail"),
    "app.fastmail.com": ("email", "fastmail"),
    "www.icloud.com": ("email", "icloud_mail"),
    "email.seznam.cz": ("email", "seznam_email"),
    "mail.rambler.ru": ("email", "rambler_mail"),
    "mail.gmx.net": ("email", "gmx"),
    "navigator.gmx.net": ("email", "gmx"),
    "mail.gmx.com": ("email", "gmx"),
    "web.de": ("email", "web.de"),
    "webmail.web.de": ("email", "web.de"),
    "hey.com": ("email", "hey"),
    "app.hey.com": ("email", "hey"),
    "mail.tutanota.com": ("email", "tutanota"),
    "app.tuta.com": ("email", "tutanota"),
    # redirect hosts (also covered by the lists; pinned here so names never drift)
    "l.facebook.com": ("social", "facebook"),
    "lm.facebook.com": ("social", "facebook"),
    "m.facebook.com": ("social", "facebook"),
    "facebook.com": ("social", "facebook"),
    "fb.me": ("social", "facebook"),
    "l.instagram.com": ("social", "instagram"),
    "instagram.com": ("social", "instagram"),
    "t.co": ("social", "twitter"),
    "twitter.com": ("social", "twitter"),
    "x.com": ("social", "twitter"),
    "lnkd.in": ("social", "linkedin"),
    "linkedin.com": ("social", "linkedin"),
    "out.reddit.com": ("social", "reddit"),
    "reddit.com": ("social", "reddit"),
    "threads.net": ("social", "threads"),
    "threads.com": ("social", "threads"),
    # app ids whose vendor label is not the network's name
    "com.zhiliaoapp.musically": ("social", "tiktok"),
    "com.ss.android.ugc.trill": ("social", "tiktok"),
    "com.ss.android.ugc.aweme": ("social", "douyin"),
    "com.tencent.mm": ("social", "wechat"),
    # payment providers (treated as no referrer)
    "stripe.com": ("payment", "stripe"),
    "checkout.stripe.com": ("payment", "stripe"),
    "billing.stripe.com": ("payment", "stripe"),
    "invoice.stripe.com": ("payment", "stripe"),
    "pay.stripe.com": ("payment", "stripe"),
    "hooks.stripe.com": ("payment", "stripe"),
    "paypal.com": ("payment", "paypal"),
    "paypal.me": ("payment", "paypal"),
    "paypalobjects.com": ("payment", "paypal"),
    "pay.google.com": ("payment", "google_pay"),
    "payments.google.com": ("payment", "google_pay"),
    "payments.amazon.com": ("payment", "amazon_pay"),
    "pay.amazon.com": ("payment", "amazon_pay"),
    "klarna.com": ("payment", "klarna"),
    "checkout.paddle.com": ("payment", "paddle"),
    "buy.paddle.com": ("payment", "paddle"),
    "lemonsqueezy.com": ("payment", "lemonsqueezy"),
    "mollie.com": ("payment", "mollie"),
    "adyen.com": ("payment", "adyen"),
    "braintreegateway.com": ("payment", "braintree"),
    "checkout.square.site": ("payment", "square"),
    "squareup.com": ("payment", "square"),
    "pay.gocardless.com": ("payment", "gocardless"),
    "api.razorpay.com": ("payment", "razorpay"),
    "checkout.razorpay.com": ("payment", "razorpay"),
    "checkout.paystack.com": ("payment", "paystack"),
    "checkout.flutterwave.com": ("payment", "flutterwave"),
    "mercadopago.com": ("payment", "mercadopago"),
    "secure.2checkout.com": ("payment", "2checkout"),
    "sites.fastspring.com": ("payment", "fastspring"),
    "checkout.shopify.com": ("payment", "shopify_checkout"),
    "shop.app": ("payment", "shop_pay"),
    "sofort.com": ("payment", "sofort"),
    "secure.authorize.net": ("payment", "authorize.net"),
}

MIN_NAME = 4  # shorter bare names ("you", "ask") are too generic to name a source

CATEGORY = {
    "SOURCE_CATEGORY_SEARCH": "search",
    "SOURCE_CATEGORY_SOCIAL": "social",
    "SOURCE_CATEGORY_SHOPPING": "shopping",
    "SOURCE_CATEGORY_VIDEO": "video",
    "Search": "search",
    "Social": "social",
    "Shopping": "shopping",
    "Video": "video",
    "Email": "email",
}

_SLD = {"co", "com", "net", "org", "gov", "edu", "ac", "ne", "or", "go", "gob", "mil", "nic"}
_HOST_RE = re.compile(r"^[a-z0-9*{}]([a-z0-9{}._-]*[a-z0-9{}])?$")


def slug(name: str) -> str:
    """Lower-cased, punctuation-free source name: ``Yahoo! Japan`` -> ``yahoo_japan``."""
    s = re.sub(r"[^a-z0-9.+ _-]", "", name.lower()).strip()
    return re.sub(r"[\s_-]+", "_", s).strip("._") or name.lower()


_APP_NOISE = {"com", "android", "ios", "app", "apps", "mobile", "client", "lite", "release"}


def guess_name(host: str, is_app: bool, known: frozenset[str] = frozenset()) -> str:
    """Name for a host known only from GA4/PostHog: its registrable label. For app ids, the
    right-most label that is a known network name (``com.google.android.youtube`` ->
    ``youtube``), else the vendor label (``com.netflix.mediaclient`` -> ``netflix``)."""
    labels = host.split(".")
    if is_app:
        for label in reversed(labels[1:]):
            if label in known and label not in _APP_NOISE:
                return label
        return labels[1] if len(labels) > 1 else labels[0]
    if labels and labels[0] in {"www", "m", "l", "lm", "mobile", "web"} and len(labels) > 2:
        labels = labels[1:]
    if len(labels) >= 3 and labels[-2] in _SLD and len(labels[-1]) == 2:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else labels[0]


class Builder:
    def __init__(self) -> None:
        self.hosts: dict[str, list[str]] = {}
        self.patterns: dict[str, list[str]] = {}

    def parent_name(self, host: str) -> str | None:
        """Source name of the longest listed host that ``host`` is a proper subdomain of."""
        labels = host.removeprefix("www.").split(".")
        for i in range(1, len(labels) - 1):
            hit = self.hosts.get(".".join(labels[i:]))
            if hit is not None:
                return hit[1]
        return None

    def add(self, raw: str, kind: str, name: str) -> None:
        host = raw.strip().lower().rstrip(".")
        if host.startswith("www.") and "{}" not in host:
            host = host[4:]
        if not host or not _HOST_RE.match(host) or "." not in host:
            return
        target = self.patterns if "{}" in host else self.hosts
        target.setdefault(host, [kind, name])


def engine_family(name: str, all_names: set[str]) -> str:
    """``Google Images`` -> ``google``; ``Yahoo! Japan`` -> ``yahoo``."""
    first = name.split(" ")[0]
    if first != name and first in all_names:
        return slug(first)
    return slug(name)


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text("utf-8"))


def build(src: Path) -> dict[str, Any]:
    search: dict[str, list[dict[str, Any]]] = _yaml(src / "matomo/SearchEngines.yml")
    socials: dict[str, list[str]] = _yaml(src / "matomo/Socials.yml")
    ai: dict[str, list[str]] = _yaml(src / "matomo/AIAssistants.yml")
    ph_rows: list[list[Any]] = json.loads((src / "posthog/channel_definitions.json").read_text())
    with (src / "ga4/ga4_source_categories.csv").open(newline="") as fh:
        ga4_rows = list(csv.DictReader(fh))

    known = frozenset(
        {slug(n) for n in [*search, *socials, *ai]}
        | {r["source"].strip().lower() for r in ga4_rows if "." not in r["source"]}
    )
    b = Builder()
    paths: dict[str, list[str]] = {}
    for host, (kind, name) in OVERRIDES.items():
        b.add(host, kind, name)
    # Footfall's families come before the vendor lists: an AI assistant some list files as a
    # search engine (phind.com, you.com) stays an AI assistant, a webmail host stays webmail.
    families = (
        (ff.AI, "ai"), (ff.WEBMAIL, "email"), (ff.AD_SERVING, "ads"), (ff.SOCIAL, "social"),
        (ff.SEARCH, "search"),
    )  # fmt: skip
    for table, kind in families:
        for host, name in table.items():
            if "/" in host:
                paths.setdefault(host.removeprefix("www."), [kind, name])
            else:
                b.add(host, kind, name)
    for value, rtype, cat, _paid, _org, is_app in ph_rows:
        if rtype == "source" and cat == "Email":
            b.add(value, "email", guess_name(value.lower(), is_app, known))
    for name, hosts in ai.items():
        for h in hosts:
            if "/" in h:
                paths.setdefault(h.removeprefix("www."), ["ai", slug(name)])
            else:
                b.add(h, "ai", slug(name))
    names = set(search)
    deferred: list[tuple[str, str, str]] = []
    for name, configs in search.items():
        family = engine_family(name, names)
        for cfg in configs:
            for u in cfg.get("urls", []):
                if "/" in u:
                    deferred.append((u.split("/")[0], "search", family))
                else:
                    b.add(u, "search", family)
    for social_name, hosts in socials.items():
        for h in hosts:
            if "/" in h:
                paths.setdefault(h.removeprefix("www."), ["social", slug(social_name)])
                deferred.append((h.split("/")[0], "social", slug(social_name)))
            else:
                b.add(h, "social", slug(social_name))
    for h, kind, family in deferred:  # path-qualified entries: host only if not otherwise known
        if h and h.removeprefix("www.") not in b.hosts and h not in b.patterns:
            b.add(h, kind, family)

    source_categories: dict[str, str] = {}
    for row in ga4_rows:
        value, kind = row["source"].strip().lower(), CATEGORY[row["source_category"]]
        if "." not in value:
            source_categories.setdefault(value, kind)
        else:  # a subdomain of a listed host keeps that host's source name (m.vk.com)
            b.add(value, kind, b.parent_name(value) or guess_name(value, False))
    for value, rtype, cat, _paid, _org, is_app in ph_rows:
        if rtype != "source" or cat not in CATEGORY:
            continue
        value, kind = value.strip().lower(), CATEGORY[cat]
        if "." not in value:
            source_categories.setdefault(value, kind)
        elif is_app:
            b.add(value, kind, guess_name(value, True, known))
        else:
            b.add(value, kind, b.parent_name(value) or guess_name(value, False))

    # Bare source names (utm_source=slack, ?ref=hacker_news) of the curated lists, where one
    # category fits: Footfall's families and Matomo's names (not names guessed from hosts).
    name_kinds: dict[str, set[str]] = {}
    for table, kind in ((ff.AI, "ai"), (ff.SOCIAL, "social")):
        for name in table.values():
            name_kinds.setdefault(name, set()).add(kind)
    for name in ff.EMAIL_NAMES:
        name_kinds.setdefault(name, set()).add("email")
    for name in search:
        name_kinds.setdefault(engine_family(name, names), set()).add("search")
    for name in socials:
        name_kinds.setdefault(slug(name), set()).add("social")
    for name in ai:
        name_kinds.setdefault(slug(name), set()).add("ai")
    source_names = {
        n: next(iter(k)) for n, k in name_kinds.items()
        if len(k) == 1 and len(n) >= MIN_NAME and n not in source_categories
    }  # fmt: skip

    digest = hashlib.sha256()
    for rel in sorted(INPUTS):
        digest.update((src / rel).read_bytes())
    own = [ff.WEBMAIL, ff.WEBMAIL_HOST_RULES, ff.AD_SERVING, ff.SOCIAL, ff.SEARCH, ff.AI, ff.ALIASES,
           ff.EMAIL_NAMES, ff.PAID_SOURCES, ff.PAID_AFFIXES]  # fmt: skip
    digest.update(json.dumps([OVERRIDES, own, BUILD_REVISION], sort_keys=True).encode())
    m = re.search(r"collected (\d{4}-\d{2}-\d{2})", (src / "SOURCES.md").read_text("utf-8"))
    date = m.group(1) if m else "undated"
    return {
        "version": f"{date}.{digest.hexdigest()[:12]}",
        "hosts": dict(sorted(b.hosts.items())),
        "patterns": dict(sorted(b.patterns.items())),
        "paths": dict(sorted(paths.items())),
        "host_rules": [list(rule) for rule in ff.WEBMAIL_HOST_RULES],
        "aliases": dict(sorted(ff.ALIASES.items())),
        "paid_sources": dict(sorted(ff.PAID_SOURCES.items())),
        "paid_affixes": list(ff.PAID_AFFIXES),
        "source_categories": dict(sorted(source_categories.items())),
        "source_names": dict(sorted(source_names.items())),
    }


INPUTS = (
    "matomo/SearchEngines.yml",
    "matomo/Socials.yml",
    "matomo/AIAssistants.yml",
    "ga4/ga4_source_categories.csv",
    "posthog/channel_definitions.json",
)

README = """\
# Referrer data

`referrers.json` is generated by `scripts/build_referrers.py`; do not edit it by hand.
It maps referrer hosts to a kind (`search`, `social`, `email`, `ai`, `shopping`, `video`,
`payment`, `ads`) and a lower-case source name. Version: `{version}`.

## Sources

1. **Matomo searchengine-and-social-list**: `SearchEngines.yml`, `Socials.yml`,
   `AIAssistants.yml`. <https://github.com/matomo-org/searchengine-and-social-list>, commit
   `3b3a82dc83cd146abe17aafe31254de1c25f7844`. Licence: CC0 1.0 (`licenses/matomo.txt`).
2. **Google GA4 source categories (Velir copy)**: `seeds/ga4_source_categories.csv`.
   <https://github.com/Velir/dbt-ga4>, commit `2d7b1f1c5224b6e2f3c6284f416dd5fd3ce94360`.
   Licence: MIT (`licenses/ga4.txt`); the list itself is Google's, published on the GA4
   "[GA4] Default channel group" help page without an explicit licence.
3. **PostHog channel definitions**: `posthog/models/channel_type/channel_definitions.json`.
   <https://github.com/PostHog/posthog>, commit `0ae3eb6ad6570c6ca89b5b643bac8512ece834a1`.
   Licence: MIT Expat for content outside `ee/` (`licenses/posthog.txt`).

Footfall adds its own tables, written by hand from facts (CC0, like the rest of its data):
in the build script, redirect hosts (`l.facebook.com`, `t.co`, `lnkd.in`, ...) and payment
providers (treated as "no referrer"); in `scripts/footfall_referrers.py`, one table per
classifier family (docs/attribution.md): webmail and mail redirectors of European and ISP
providers (plus `host_rules` for `webmail.<isp>` and `deref-<provider>` hosts), Google's
ad-serving hosts (kind `ads`), messaging/community apps and link-in-bio pages (social), AI
assistants (which win over search lists that also name them), `utm_source` aliases and paid
spellings (`paid_sources`, `paid_affixes`). Path-qualified entries (`x.com/i/grok`) are kept
in `paths`. `source_names` gives bare source names of the curated lists (`slack`, `ecosia`) a
kind. Not taken: snowplow referer-parser's `referers.yml` and Matomo core's fixtures (GPL);
their public test suites' expectations informed which facts to write down.

## Matching

`hosts` match a host and its subdomains on label boundaries; `patterns` use `{{}}` for a TLD or
country code (`google.{{}}`). Every host the lists name is kept, also a subdomain of another
listed host with a different category (`shopping.naver.com` is shopping, `naver.com` search;
`groups.google.com` is social, `google.com` search); such a subdomain keeps its parent's source
name. `referrers.lookup` returns the most specific entry: the longest matching suffix, a host
before a pattern of the same length, then the pattern naming the most labels.
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--src", type=Path, default=DEFAULT_SRC)
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    args = ap.parse_args(argv)
    data = build(args.src)
    out: Path = args.out
    (out / "licenses").mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=False)
    (out / "referrers.json").write_text(text + "\n", "utf-8")
    for vendor in ("matomo", "ga4", "posthog"):
        shutil.copyfile(args.src / vendor / "LICENSE", out / "licenses" / f"{vendor}.txt")
    (out / "README.md").write_text(README.format(version=data["version"]), "utf-8")
    print(
        f"wrote {out / 'referrers.json'}: {len(data['hosts'])} hosts, "
        f"{len(data['patterns'])} patterns, {len(text)} bytes, version {data['version']}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
