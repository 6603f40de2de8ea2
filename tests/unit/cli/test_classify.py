"""`footfall classify`: one visit from options, or JSON lines on stdin -> JSON lines on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import typer
from typer.testing import CliRunner

from footfall.attribution.referrers import data_version
from footfall.cli import classify as cli_classify
from footfall.cli.classify import classify, classify_lines

FIELDS = [
    "source", "medium", "campaign", "term", "content", "campaign_id", "channel", "confidence",
    "rule_id", "click_id_type", "click_id", "referrer_host", "referrer_version", "explain",
]  # fmt: skip
U = "https://shop.example.com/landing"

app = typer.Typer()
app.command()(classify)
runner = CliRunner()


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_one_visit_from_options() -> None:
    result = runner.invoke(
        app, ["--url", U + "?utm_source=facebook&utm_medium=cpc&fbclid=abc&utm_campaign=Spring",
              "--referrer", "https://l.facebook.com/"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [row] = _lines(result.stdout)
    assert list(row) == FIELDS
    assert row["source"] == "facebook" and row["medium"] == "paid"
    assert (row["confidence"], row["rule_id"], row["channel"]) == (
        "high",
        "fb_ad_redirect",
        "Paid Social",
    )
    assert (row["campaign"], row["click_id_type"], row["click_id"]) == ("Spring", "fbclid", "abc")
    assert row["referrer_host"] == "l.facebook.com"
    assert row["referrer_version"] == data_version()
    explain = row["explain"]
    assert isinstance(explain, list)
    assert explain[-2:] == ["fired:fb_ad_redirect", "channel:Paid Social"]


def test_referrer_only_and_url_only() -> None:
    [row] = _lines(runner.invoke(app, ["--referrer", "https://chatgpt.com/"]).stdout)
    assert (row["source"], row["channel"], row["rule_id"]) == (
        "chatgpt",
        "AI Assistant",
        "ai_referrer",
    )
    [row] = _lines(runner.invoke(app, ["--url", U]).stdout)
    assert (row["source"], row["medium"], row["channel"]) == ("direct", "direct", "Direct")
    assert row["explain"][-1] == "channel:Direct"


def test_own_host_is_repeatable() -> None:
    args = ["--url", U, "--referrer", "https://docs.example.org/"]
    [row] = _lines(runner.invoke(app, args).stdout)
    assert row["rule_id"] == "referral"
    [row] = _lines(
        runner.invoke(app, [*args, "--own-host", "other.test", "--own-host", "Example.org"]).stdout
    )
    assert (row["source"], row["rule_id"], row["channel"]) == (
        "internal",
        "self_referral",
        "Direct",
    )


def test_json_lines_from_stdin() -> None:
    stdin = "\n".join(
        [
            json.dumps({"url": U + "?gclid=G1"}),
            json.dumps({"url": U, "referrer": "https://www.google.co.uk/"}),
            "",
            json.dumps({"referrer": "android-app://com.google.android.gm/", "extra": 1}),
            json.dumps({}),
            json.dumps({"url": None, "referrer": None}),
        ]
    )
    result = runner.invoke(app, [], input=stdin + "\n")
    assert result.exit_code == 0
    rows = _lines(result.stdout)
    assert [r["channel"] for r in rows] == [
        "Paid Search",
        "Organic Search",
        "Email",
        "Direct",
        "Direct",
    ]
    assert all(list(r) == FIELDS for r in rows)
    assert rows[0]["click_id"] == "G1"


def test_bad_lines_give_error_lines_and_exit_0() -> None:
    stdin = "\n".join(
        [
            "not json",
            '{"url": 5}',
            "[1, 2]",
            '"just a string"',
            '{"url": "https://a.test/?utm_source=x&utm_medium=cpc"',  # truncated
            '{"referrer": ["x"]}',
            json.dumps({"url": U + "?utm_medium=email"}),
        ]
    )
    result = runner.invoke(app, [], input=stdin)
    assert result.exit_code == 0
    rows = _lines(result.stdout)
    assert len(rows) == 7
    for n, row in enumerate(rows[:6], 1):
        assert list(row) == ["error"], row
        assert str(row["error"]).startswith(f"line {n}: ")
    assert "$.url" in str(rows[1]["error"])
    assert rows[6]["channel"] == "Email"


def test_invalid_utf8_is_an_error_line() -> None:
    out: list[bytes] = []
    n = classify_lines([b'{"url": "\xff\xfe"}\n', b'{"url": null}\n'], out.append, frozenset())
    rows = _lines(b"".join(out).decode())
    assert n == 2
    assert "error" in rows[0] and rows[1]["channel"] == "Direct"


def test_many_lines_are_written_in_chunks_in_order() -> None:
    lines = [
        json.dumps({"url": f"{U}?utm_source=s{i}&utm_medium=email"}).encode() for i in range(2500)
    ]
    writes: list[bytes] = []
    assert classify_lines(lines, writes.append, frozenset()) == 2500
    assert 1 < len(writes) < 2500  # chunked, not one write per line
    rows = _lines(b"".join(writes).decode())
    assert [r["source"] for r in rows] == [f"s{i}" for i in range(2500)]
    assert {r["channel"] for r in rows} == {"Email"}


def test_subprocess() -> None:
    code = (
        "import sys, typer; from footfall.cli.classify import classify; "
        "assert 'footfall.attribution.rules' not in sys.modules; typer.run(classify)"
    )
    stdin = "\n".join(
        [json.dumps({"url": U + "?utm_source=chatgpt.com"}), "{bad", json.dumps({"url": U})]
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], input=stdin, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    rows = _lines(proc.stdout)
    assert [r.get("channel") for r in rows] == ["AI Assistant", None, "Direct"]
    assert "error" in rows[1]
    one = subprocess.run(
        [sys.executable, "-c", code, "--url", U + "?msclkid=M"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert one.returncode == 0, one.stderr
    [row] = _lines(one.stdout)
    assert (row["source"], row["channel"], row["click_id"]) == ("bing", "Paid Search", "M")


def test_help_mentions_the_options() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for option in ("--url", "--referrer", "--own-host"):
        assert option in result.stdout


def test_public_api() -> None:
    assert sorted(cli_classify.__all__) == ["classify", "classify_lines"]
