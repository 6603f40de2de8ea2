"""Hot state in a real Redis, as several nodes see it."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from footfall.limits import Limit, RateLimiter
from footfall.pipeline.sessions import Sessionizer
from footfall.state import MemorySightings, StateUnavailable, open_state
from footfall.state.redis import TTL_SECONDS, RedisLimiter, RedisLink, RedisSightings, RedisVisitors
from tests.support.server import free_port
from tests.support.services import Redis

T0 = datetime(2026, 5, 16, 10, 25, tzinfo=UTC)


@pytest.fixture
def redis_url(redis_server: Redis) -> str:
    redis_server.flush()
    return redis_server.url


@pytest.fixture
def links(redis_url: str) -> Iterator[list[RedisLink]]:
    """Three nodes' connections to one Redis."""
    made = [RedisLink(redis_url) for _ in range(3)]
    yield made
    for link in made:
        link.close()


def test_a_visitor_alternating_nodes_gets_the_sessions_of_one_node(links: list[RedisLink]) -> None:
    rng = random.Random(18)
    nodes = [RedisVisitors(link) for link in links]
    single = Sessionizer()
    minutes = 0.0
    for i in range(300):
        visitor = f"v{rng.randrange(5)}"
        minutes += rng.choice([0.5, 3, 12, 29, 31, 45])
        ts = T0 + timedelta(minutes=minutes - rng.choice([0, 0, 0, 40]))  # some late events
        expected = single.assign("p", "live", visitor, ts)
        assert nodes[i % 3].assign("p", "live", visitor, ts) == expected, i
    assert all(link.fallbacks == 0 for link in links)


def test_simultaneous_first_events_on_several_nodes_open_one_session(links: list[RedisLink]) -> None:
    nodes = [RedisVisitors(link) for link in links]
    barrier = threading.Barrier(len(nodes))
    got: list[str] = []

    def first(node: RedisVisitors, offset: int) -> None:
        barrier.wait()
        got.append(node.assign("p", "live", "same", T0 + timedelta(seconds=offset)))

    threads = [threading.Thread(target=first, args=(n, i)) for i, n in enumerate(nodes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 3 and len(set(got)) == 1


def test_an_event_that_may_not_open_a_visit_only_joins_one(links: list[RedisLink]) -> None:
    """Engagement events (`may_open=False`) join the open visit in the same atomic step as
    the assignment, and get no session, without touching state, outside one (review P1-1)."""
    shared, single = RedisVisitors(links[0]), Sessionizer()
    for state in (shared, single):
        assert state.assign("p", "live", "e", T0, may_open=False) is None  # never seen
        sid = state.assign("p", "live", "e", T0 + timedelta(minutes=1))
        assert state.assign("p", "live", "e", T0 + timedelta(minutes=20), may_open=False) == sid
        # The engagement extended the visit: 45 minutes after T0 is within 30 of minute 20.
        assert state.assign("p", "live", "e", T0 + timedelta(minutes=45), may_open=False) == sid
        assert state.assign("p", "live", "e", T0 - timedelta(hours=2), may_open=False) is None
        assert state.assign("p", "live", "e", T0 + timedelta(hours=2), may_open=False) is None
        assert state.assign("p", "live", "e", T0 + timedelta(minutes=50)) == sid  # still open
    assert links[0].fallbacks == 0


def test_visitor_state_expires_half_an_hour_after_the_last_event(links: list[RedisLink]) -> None:
    node = RedisVisitors(links[0])
    sid = node.assign("p", "live", "ttl", T0)
    node.remember_attribution(("p", "live", sid), ("google", "cpc"))
    client = links[0].client
    for key in client.keys("ff:*"):
        assert 1800 < client.ttl(key) <= TTL_SECONDS == 1860, key


def test_first_sighting_is_first_once_across_nodes(links: list[RedisLink]) -> None:
    nodes = [RedisSightings(link) for link in links]
    key = ("p", "live", ("$screen",), "screen")
    assert not nodes[0].known(key)
    nodes[0].seed(key, {"home"})
    assert nodes[1].known(key) and nodes[2].known(key)
    assert not nodes[1].sight(key, "home")
    assert [n.sight(key, "cart") for n in nodes] == [True, False, False]
    assert nodes[2].sight(key, "pay") and not nodes[0].sight(key, "pay")
    empty = ("p", "live", ("$screen",), "other")
    nodes[0].seed(empty, set())  # an empty store still counts as read
    assert nodes[1].known(empty)
    memory = MemorySightings()  # the one-node twin
    memory.seed(key, {"home"})
    assert [memory.sight(key, v) for v in ("home", "cart", "cart")] == [False, True, False]


def test_three_nodes_share_one_budget(links: list[RedisLink]) -> None:
    limit = Limit(rate=0.001, burst=30)  # ~no refill during the test
    nodes = [RedisLimiter(link) for link in links]
    granted = [0, 0, 0]
    for i in range(90):
        if nodes[i % 3].check("p", "track", limit) == 0:
            granted[i % 3] += 1
    assert sum(granted) == 30  # not 3 x 30
    wait = nodes[0].check("p", "track", limit)
    assert wait > 100  # (1 - tokens) / rate
    assert nodes[1].check("q", "track", limit) == 0  # another project has its own bucket
    assert nodes[1].check("p", "batch", limit) == 0  # and another route class
    assert nodes[2].check("p", "track", None) == 0  # unlimited route
    assert RedisLimiter(links[0], enabled=False).check("p", "track", limit) == 0


def test_refill_follows_redis_time(links: list[RedisLink]) -> None:
    limit = Limit(rate=1000, burst=1)
    node = RedisLimiter(links[0])
    assert node.check("p", "track", limit) == 0
    wait = node.check("p", "track", limit)
    assert 0 <= wait <= 0.001  # refills at 1000/s


def test_redis_lost_mid_operation_falls_back_to_the_node_and_comes_back() -> None:
    """Fail open to per-node state: sessions and budgets go on in each node's memory while
    Redis is away (each node admits its own full budget), and Redis is used again once back."""
    with Redis.running() as server:
        link = RedisLink(server.url, timeout=0.3, retry_after=0.0)
        visitors, limiter = RedisVisitors(link), RedisLimiter(link)
        limit = Limit(rate=0.001, burst=2)
        sid = visitors.assign("p", "live", "a", T0)
        assert [limiter.check("p", "track", limit) == 0 for _ in range(3)] == [True, True, False]
        server.stop()
        # Redis away: the node's own state, no exception.
        assert visitors.assign("p", "live", "a", T0 + timedelta(minutes=1)) == sid  # same bucket
        assert visitors.assign("p", "live", "b", T0) == "b-" + sid.rsplit("-", 1)[1]
        assert visitors.attribution(("p", "live", sid)) is None
        visitors.remember_attribution(("p", "live", sid), ("x",))
        assert [limiter.check("p", "track", limit) == 0 for _ in range(3)] == [True, True, False]
        down = link.fallbacks
        assert down == 6  # every call above but the attribution, fetched with the first assign
        restarted = Redis(port=server.port).start()
        try:
            assert visitors.assign("p", "live", "c", T0) == "c-" + sid.rsplit("-", 1)[1]
            assert link.fallbacks == down
            assert link.client.exists("ff:visit:p:live:c") == 1
        finally:
            link.close()
            restarted.close()


def test_unreachable_redis_at_start_is_a_clear_error() -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    with pytest.raises(StateUnavailable) as err:
        open_state(url)
    assert "cannot reach the shared state at redis://:***@127.0.0.1" in str(err.value)
    assert "hunter2" not in str(err.value)
    local = open_state(None, rate_limits=False)
    assert isinstance(local.visitors, Sessionizer) and isinstance(local.limiter, RateLimiter)
    assert not local.limiter.enabled and not local.shared


def test_one_round_trip_per_event_but_the_first_signal_of_a_session(
    links: list[RedisLink], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the pipeline asks per event (assign, then look up or remember the session's
    attribution) costs one Redis round trip; the session's first event with a signal, two."""
    node, other = RedisVisitors(links[0]), RedisVisitors(links[1])
    node.assign("p", "live", "warm-up", T0)  # loads the script (a one-off round trip more)
    sent: list[object] = []
    execute = links[0].client.execute_command

    def counted(*args: object, **kwargs: object) -> object:
        sent.append(args[0])
        return execute(*args, **kwargs)

    monkeypatch.setattr(links[0].client, "execute_command", counted)

    def event(visitors: RedisVisitors, signal: tuple[object, ...] | None) -> tuple[object, ...] | None:
        sid = visitors.assign("p", "live", "rt", T0)
        key = ("p", "live", sid)
        if signal is None:
            return visitors.attribution(key)
        visitors.remember_attribution(key, signal)
        return signal

    assert event(node, None) is None  # no signal yet: nothing to inherit
    assert sent == ["EVALSHA"]
    sent.clear()
    event(node, ("google", "cpc"))  # the session's first signal: assign + SET NX
    assert sent == ["EVALSHA", "SET"]
    sent.clear()
    event(node, ("bing", "cpc"))  # known already: assign only
    assert event(other, None) == ("google", "cpc")  # another node inherits the first signal
    assert event(node, None) == ("google", "cpc")
    assert sent == ["EVALSHA", "EVALSHA"]
