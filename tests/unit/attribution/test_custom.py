from __future__ import annotations

import pytest

from footfall.attribution.custom import CustomRule, apply_custom, parse_condition
from footfall.attribution.rules import classify

URL = "https://shop.test/?utm_source=Partner_X&utm_medium=cpc&ref=abc"


def run(rules: tuple[CustomRule, ...], url: str | None = URL, referrer: str | None = None):  # type: ignore[no-untyped-def]
    return apply_custom(rules, url, referrer, classify(url, referrer))


def test_no_rules_returns_the_built_in_result() -> None:
    assert run(()) == classify(URL, None)


def test_first_matching_rule_wins_and_is_named() -> None:
    rules = (
        CustomRule(id="a", when={"utm_source": "nobody"}, channel="X"),
        CustomRule(id="b", when={"utm_source": "partner_x", "ref": "ABC"}, channel="Affiliates", medium="affiliate"),
        CustomRule(id="c", when={"utm_source": "partner_x"}, channel="Never"),
    )
    a = run(rules)
    assert (a.source, a.medium, a.channel, a.rule_id, a.confidence) == ("partner_x", "affiliate", "Affiliates", "custom:b", "high")
    assert a.explain[0] == "fired:custom:b"


def test_every_condition_must_hold() -> None:
    rule = CustomRule(id="r", when={"utm_source": "partner_x", "utm_campaign": "spring"}, channel="Affiliates")
    assert run((rule,)).rule_id == "utm_paid_medium"


@pytest.mark.parametrize(
    ("when", "referrer", "hit"),
    [
        ({"referrer_host": "*.partner.example"}, "https://blog.partner.example/x", True),
        ({"referrer_host": "*.partner.example"}, "https://partner.example.evil.org/", False),
        ({"source": "partner_x"}, None, True),
        ({"medium": "paid"}, None, True),
        ({"channel": "paid*"}, None, True),
        ({"missing_param": "x"}, None, False),
    ],
)
def test_conditions(when: dict[str, str], referrer: str | None, hit: bool) -> None:
    a = run((CustomRule(id="r", when=when, source="custom_src"),), referrer=referrer)
    assert (a.rule_id == "custom:r") is hit
    assert (a.source == "custom_src") is hit


def test_parse_condition() -> None:
    assert parse_condition(" UTM_Source = partner_x ") == ("utm_source", "partner_x")
    for bad in ("nokey", "=v", "k="):
        with pytest.raises(ValueError):
            parse_condition(bad)
