"""`Settings.environ` is what `footfall serve` hands the server process: `from_env` must read
every setting back as it was, or a flag would silently fall back to its default there."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from footfall.config import SETTINGS, Settings

_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=20)
_NETWORKS = st.one_of(
    st.builds(ipaddress.IPv4Network, st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32)), strict=st.just(False)),
    st.builds(ipaddress.IPv6Network, st.tuples(st.integers(0, 2**128 - 1), st.integers(0, 128)), strict=st.just(False)),
)


@given(
    data=_TEXT.filter(lambda t: t.strip() not in ("", ".")),
    meta=st.none() | _TEXT.filter(bool),
    state=st.none() | _TEXT.filter(bool),
    store=st.sampled_from(["duckdb", "clickhouse://u:p@h:8123/db"]),
    port=st.integers(1, 65535),
    proxies=st.lists(_NETWORKS, max_size=3),
    max_pending=st.integers(1, 10**9),
    read_timeout=st.floats(0.001, 1e6, allow_nan=False),
    memory=st.sampled_from(["112MB", "1GB", "4 MiB"]),
    rate_limits=st.booleans(),
    city=st.none() | _TEXT.filter(bool),
    asn=st.none() | _TEXT.filter(bool),
)
def test_every_setting_reads_back_from_its_environment(
    data: str, meta: str | None, state: str | None, store: str,
    port: int, proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network], max_pending: int,
    read_timeout: float, memory: str, rate_limits: bool, city: str | None, asn: str | None,
) -> None:  # fmt: skip
    settings = Settings.from_env(
        data=data, meta=meta, state=state, store=store, port=port,
        trusted_proxies=",".join(map(str, proxies)), max_pending=max_pending,
        read_timeout=read_timeout, store_memory=memory, rate_limits="on" if rate_limits else "off",
        geoip_city=city, geoip_asn=asn,
    )  # fmt: skip
    environ = settings.environ()
    assert sorted(environ) == sorted(s.env for s in SETTINGS)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environ.items():
            patch.setenv(name, value)
        assert Settings.from_env() == settings


def test_defaults_read_back() -> None:
    with pytest.MonkeyPatch.context() as patch:
        for setting in SETTINGS:
            patch.delenv(setting.env, raising=False)
        assert Settings.from_env() == Settings()
        for name, value in Settings().environ().items():
            patch.setenv(name, value)
        assert Settings.from_env() == Settings()
    assert Settings().environ()["FOOTFALL_STORE_MEMORY"] == "104MB"
