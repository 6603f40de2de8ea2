"""Per-project attribution rules, evaluated before the built-in ones.

A rule is a set of conditions (`utm_source=partner_x`, `referrer_host=*.partner.example`, any
landing-URL parameter) and the values it sets (source, medium, campaign, channel). Values match
case-insensitively; a `*` in a condition is a wildcard. The first matching rule wins and the
result names it (`custom:<id>`), so history can still be audited.

>>> from footfall.attribution.rules import classify
>>> rule = CustomRule(id="r1", when={"utm_source": "partner_x"}, channel="Affiliates")
>>> base = classify("https://shop.test/?utm_source=partner_x", None)
>>> a = apply_custom((rule,), "https://shop.test/?utm_source=partner_x", None, base)
>>> (a.source, a.channel, a.rule_id)
('partner_x', 'Affiliates', 'custom:r1')
"""

from __future__ import annotations

import fnmatch

import msgspec

from footfall.attribution.rules import Attribution, signals

__all__ = ["CONDITION_KEYS", "CustomRule", "apply_custom", "parse_condition"]

# Besides these, any landing-URL query parameter name may be a condition.
CONDITION_KEYS = ("referrer_host", "source", "medium", "channel")


class CustomRule(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    when: dict[str, str]
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    channel: str | None = None

    def matches(self, params: dict[str, str], facts: dict[str, str | None]) -> bool:
        for key, pattern in self.when.items():
            value = facts[key] if key in facts else params.get(key)
            if value is None or not _match(pattern, value):
                return False
        return True


def _match(pattern: str, value: str) -> bool:
    p = pattern.lower()
    v = value.lower()
    return fnmatch.fnmatchcase(v, p) if "*" in p else v == p


def parse_condition(text: str) -> tuple[str, str]:
    """`key=value` → (key, value), for the CLI."""
    key, sep, value = text.partition("=")
    key = key.strip().lower()
    if not sep or not key or not value.strip():
        raise ValueError(f"condition must look like key=value, got {text!r}")
    return key, value.strip()


def apply_custom(
    rules: tuple[CustomRule, ...],
    url: str | None,
    referrer: str | None,
    base: Attribution,
    own_hosts: frozenset[str] = frozenset(),
) -> Attribution:
    if not rules:
        return base
    s = signals(url, referrer, own_hosts, full_parse=True)
    facts: dict[str, str | None] = {
        "referrer_host": s.referrer_host,
        "source": base.source,
        "medium": base.medium,
        "channel": base.channel,
    }
    for rule in rules:
        if rule.matches(s.params, facts):
            return msgspec.structs.replace(
                base,
                source=rule.source or base.source,
                medium=rule.medium or base.medium,
                campaign=rule.campaign or base.campaign,
                channel=rule.channel or base.channel,
                confidence="high",
                rule_id=f"custom:{rule.id}",
                explain=(f"fired:custom:{rule.id}", *base.explain),
            )
    return base
