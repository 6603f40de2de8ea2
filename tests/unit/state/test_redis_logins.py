"""The dashboard's login and share-password budgets in a real Redis, as several nodes see them:
the in-process `LoginLimiter`'s answers, one budget for all nodes, and no bucket outliving its
refill."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest

from footfall.dashboard import auth
from footfall.limits import Limit
from footfall.state import LOGINS, PER_EMAIL, PER_IP, LoginLimiter, open_state
from footfall.state.redis import RedisLimiter, RedisLink, RedisLoginLimiter
from tests.support.services import Redis


@pytest.fixture
def links(redis_server: Redis) -> Iterator[list[RedisLink]]:
    """Two nodes' connections to one empty Redis."""
    redis_server.flush()
    made = [RedisLink(redis_server.url) for _ in range(2)]
    yield made
    for link in made:
        link.close()


def _granted(waits: list[float]) -> list[bool]:
    return [w == 0 for w in waits]


def test_two_nodes_answer_like_one_in_process_limiter(links: list[RedisLink]) -> None:
    nodes = [RedisLoginLimiter(link) for link in links]
    single = LoginLimiter()
    rng = random.Random(7)
    attempts = [
        (f"192.0.2.{rng.randrange(3)}", f"u{rng.randrange(12)}@example.com", rng.choice(["email", "share"]))
        for _ in range(200)
    ]
    shared = [nodes[i % 2].wait(*a) for i, a in enumerate(attempts)]
    alone = [single.wait(*a) for a in attempts]
    assert _granted(shared) == _granted(alone)
    assert 40 < sum(_granted(shared)) < 150  # both the IP and the subject budgets refused some
    assert all(link.fallbacks == 0 for link in links)


def test_a_share_link_gets_five_guesses_across_nodes_not_five_each(links: list[RedisLink]) -> None:
    nodes = [RedisLoginLimiter(link) for link in links]
    waits = [nodes[i % 2].wait(f"198.51.100.{i}", "shr_1", kind="share") for i in range(10)]
    assert _granted(waits) == [True] * 5 + [False] * 5
    assert 11 < waits[5] <= 12  # one token per 12 s
    assert nodes[0].wait("198.51.100.1", "shr_2", kind="share") == 0  # another link
    assert nodes[1].wait("198.51.100.1", "shr_1", kind="email") == 0  # an address of that name


def test_an_attempt_the_ip_refuses_does_not_charge_the_subject(links: list[RedisLink]) -> None:
    node, other = (RedisLoginLimiter(link) for link in links)
    client = links[0].client
    for i in range(int(PER_IP.burst)):
        assert node.wait("192.0.2.1", f"a{i}@example.com") == 0
    waits = [node.wait("192.0.2.1", "victim@example.com") for _ in range(10)]
    assert all(1 < w <= 2 for w in waits)  # the IP's wait: one token per 2 s
    assert not client.exists(RedisLoginLimiter.key("email", "victim@example.com"))
    assert client.dbsize() == PER_IP.burst + 1  # a bucket per address tried, one for the IP
    # The address still has its whole budget for a client within its own.
    assert _granted([other.wait("192.0.2.2", "victim@example.com") for _ in range(6)]) == [True] * 5 + [False]


def test_a_bucket_expires_once_it_would_have_refilled(links: list[RedisLink]) -> None:
    node = RedisLoginLimiter(links[0])
    client = links[0].client
    ip, subject = RedisLoginLimiter.key("ip", "192.0.2.9"), RedisLoginLimiter.key("email", "e@x.org")
    assert node.wait("192.0.2.9", "e@x.org") == 0
    # One token taken: refilled in 1/rate seconds; the second more covers rounding.
    assert 1000 / PER_IP.rate < client.pttl(ip) <= 1000 / PER_IP.rate + 1000
    assert 1000 / PER_EMAIL.rate < client.pttl(subject) <= 1000 / PER_EMAIL.rate + 1000
    for i in range(int(PER_EMAIL.burst)):  # from other IPs: the first one's bucket stays
        node.wait(f"192.0.2.{10 + i}", "e@x.org")
    empty = PER_EMAIL.burst / PER_EMAIL.rate * 1000  # drained: a full refill
    assert empty < client.pttl(subject) <= empty + 1000
    deadline = time.monotonic() + 1 / PER_IP.rate + 3
    while client.exists(ip):
        assert time.monotonic() < deadline, client.pttl(ip)
        time.sleep(0.1)  # waiting for Redis to expire the key, not synchronising
    assert client.exists(subject)  # not yet refilled: still counts the guesses
    assert node.wait("192.0.2.9", "e@x.org") > 0
    # Ingestion's buckets share the script, so they too go once refilled, not a fixed while.
    RedisLimiter(links[0]).check("p", "track", Limit(rate=50, burst=200))
    assert 1000 < client.pttl("ff:bucket:p:track:50/200") <= 1020


def test_redis_away_falls_back_to_the_nodes_own_buckets() -> None:
    """As ingestion's limits do (docs/multinode.md "Redis away"): each node enforces the budget
    alone while Redis is away, rather than refusing every login or answering 500."""
    with Redis.running() as server:
        link = RedisLink(server.url, timeout=0.3, retry_after=0.0)
        node = RedisLoginLimiter(link)
        try:
            assert node.wait("192.0.2.1", "shr_9", kind="share") == 0
            server.stop()
            waits = [node.wait("192.0.2.1", "shr_9", kind="share") for _ in range(6)]
            assert _granted(waits) == [True] * 5 + [False]
            assert link.fallbacks == 6
        finally:
            link.close()


def test_the_dashboard_takes_from_redis_while_the_node_shares_state(redis_server: Redis) -> None:
    redis_server.flush()
    assert auth.LIMITER is LOGINS and LOGINS.shared is None
    state = open_state(redis_server.url)
    try:
        assert isinstance(LOGINS.shared, RedisLoginLimiter)
        assert auth.LIMITER.wait("192.0.2.50", "shr_state", kind="share") == 0
        assert LOGINS.shared.link.client.exists(RedisLoginLimiter.key("share", "shr_state"))
    finally:
        state.close()
    assert LOGINS.shared is None  # this process's memory again
    assert _granted([auth.LIMITER.wait("192.0.2.50", "shr_state", kind="share") for _ in range(6)]) == [True] * 5 + [False]
