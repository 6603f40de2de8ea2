"""The core every dialect calls: authenticate, ingest (pipeline → WAL → store), read, forget.

Dialects never touch the pipeline, the writer or the store directly; they build canonical
structs, call these methods and shape the answer.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import msgspec

from footfall.attribution.custom import CustomRule
from footfall.auth.keys import KeyRing, issue_key
from footfall.auth.origins import origin_allowed
from footfall.config import Settings
from footfall.enrichment.geoip import GeoIP
from footfall.errors import Forbidden, NotFound, RateLimited, StoreUnavailable
from footfall.limits import DEFAULT_LIMITS, Limit, RateLimiter
from footfall.model import (
    Env,
    Event,
    IdentityLink,
    KeyKind,
    Principal,
    ProfileUpdate,
    RequestContext,
)
from footfall.pipeline import Pipeline, attribute
from footfall.pipeline.sessions import INHERITED_FIELDS, SESSION_TIMEOUT
from footfall.store.base import ForgetResult, Scope
from footfall.store.duckdb.store import DuckDBStore
from footfall.store.meta import MetaStore, Project
from footfall.writer.commit import Committer
from footfall.writer.loader import KIND_EVENT, KIND_LINK, KIND_PROFILE, Loader
from footfall.writer.wal import WriteAheadLog

__all__ = [
    "Footfall",
    "bootstrap_dashboard_admin",
    "create_project_with_keys",
    "enrichment_of",
    "open_meta",
]

log = logging.getLogger("footfall")
T = TypeVar("T")
_PROJECT_TTL = 10.0
_encode = msgspec.json.Encoder().encode


def open_meta(settings: Settings) -> MetaStore:
    meta = MetaStore(settings.data / "meta.sqlite")
    meta.migrate()
    return meta


def create_project_with_keys(
    meta: MetaStore, name: str, origins: list[str]
) -> tuple[Project, dict[str, str]]:
    """A project and a pk, sk and rk key for both live and test: {"pk_live": key, …}."""
    project = meta.create_project(name, origins)
    keys = {}
    for env in (Env.LIVE, Env.TEST):
        for kind in (KeyKind.PUBLISHABLE, KeyKind.SECRET, KeyKind.READ):
            keys[f"{kind.value}_{env.value}"] = issue_key(meta, project.id, kind, env).key
    return project, keys


def bootstrap_default_project(meta: MetaStore) -> dict[str, str] | None:
    """On an empty data directory: a default project and one key of each kind, printed once."""
    if meta.projects():
        return None
    project, keys = create_project_with_keys(
        meta, "default", ["http://localhost:5173", "http://localhost:8787"]
    )
    return {"project_id": project.id, **keys}


def bootstrap_dashboard_admin(meta: MetaStore) -> tuple[str, str] | None:
    """With no dashboard user yet: an admin with a random password, printed once (e-mail,
    password); only its scrypt hash is kept."""
    if meta.users.any():
        return None
    from footfall.auth.passwords import hash_password

    email, password = "admin@localhost", secrets.token_urlsafe(15)
    meta.users.create(email, hash_password(password), "admin")
    return email, password


def reclassify_stored(
    settings: Settings,
    since: datetime | None,
    memory: str = "1GB",
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Re-run attribution (with each project's current rules) over stored events.

    Opens the store directly, so the server must not be running on this data directory; with
    the server stopped, the run may use more memory than the server's store limit.
    """
    meta = open_meta(settings)
    store = DuckDBStore(settings.data / "events.duckdb", settings.store_threads, memory)
    try:
        store.migrate()
        projects: dict[str, tuple[frozenset[str], tuple[CustomRule, ...]]] = {}

        def classify_one(project_id: str, url: str | None, referrer: str | None) -> dict[str, Any]:
            if project_id not in projects:
                project = meta.project(project_id)
                hosts = project.own_hosts if project else frozenset()
                projects[project_id] = (hosts, meta.rules(project_id))
            hosts, rules = projects[project_id]
            return attribute(url, referrer, hosts, rules)

        return store.reclassify(since, classify_one, INHERITED_FIELDS, progress=progress)
    finally:
        store.close()
        meta.close()


def enrichment_of(event: Event) -> dict[str, Any]:
    """What the pipeline learned about an event's visit, as stored on a profile."""
    return {
        "source": event.source, "medium": event.medium, "campaign": event.campaign,
        "channel": event.channel, "source_rule_id": event.source_rule_id,
        "source_confidence": event.source_confidence, "referrer_host": event.referrer_host,
        "click_id_type": event.click_id_type, "click_id": event.click_id,
        "geo": {
            "country": event.country, "region": event.region, "city": event.city,
            "latitude": event.latitude, "longitude": event.longitude,
            "time_zone": event.time_zone, "isp": event.isp, "organization": event.organization,
        },
        "device": {
            "device_type": event.device_type, "browser": event.browser,
            "browser_version": event.browser_version, "os": event.os,
            "os_version": event.os_version, "brand": event.device_brand,
            "model": event.device_model, "is_bot": event.is_bot,
        },
        "ip": event.ip,  # only set for projects that opted in to raw IPs
        "ip_hash": event.ip_hash,
        "user_agent": event.user_agent,
    }


class Footfall:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        data = settings.data
        data.mkdir(parents=True, exist_ok=True)
        self.meta = open_meta(settings)
        self.keys = KeyRing(self.meta)
        self.store = DuckDBStore(
            data / "events.duckdb", settings.store_threads, settings.store_memory
        )
        self.store.migrate()
        self.wal = WriteAheadLog(data / "wal")
        self.loader = Loader(self.store, self.wal)
        self.committer: Committer | None = None
        self.pipeline = Pipeline(
            geoip=GeoIP(settings.geoip_city, settings.geoip_asn),
            salt_for=self.meta.daily_salt,
        )
        self._projects: dict[str, tuple[float, Project]] = {}
        self._rules: dict[str, tuple[float, tuple[CustomRule, ...]]] = {}
        self._limits: dict[str, tuple[float, dict[str, Limit]]] = {}
        self._all_origins: tuple[float, tuple[str, ...]] | None = None
        self.rate_limiter = RateLimiter(settings.rate_limits)
        self._linked: dict[tuple[str, str, str], str] = {}  # recently written identity links
        self._sightings: dict[tuple[str, str, tuple[str, ...], str], set[str]] = {}
        self.accepted: Counter[str] = Counter()
        # Called with each request's stored events once they are durable (the dashboard's live
        # stream); must not block: they run on the event loop.
        self.on_stored: list[Callable[[list[Event]], None]] = []

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        recovered = await asyncio.to_thread(self.loader.recover)
        if recovered:
            log.info("recovered events from the write-ahead log", extra={"records": recovered})
        since = datetime.now(UTC) - SESSION_TIMEOUT - timedelta(minutes=5)
        sessions = self.pipeline.sessions
        sessions.restore(await asyncio.to_thread(self.store.session_tails, since))
        sessions.restore_attributions(
            await asyncio.to_thread(self.store.session_attributions, since, INHERITED_FIELDS)
        )
        self.loader.start(asyncio.get_running_loop())
        self.committer = Committer(
            self.wal,
            self.loader,
            max_pending=self.settings.max_pending,
            max_lag=self.settings.max_lag,
        )
        self.committer.start()

    async def stop(self) -> None:
        if self.committer is not None:
            await self.committer.close()
        await asyncio.to_thread(self.loader.stop)
        self.wal.close()
        await asyncio.to_thread(self._close_store)
        self.meta.close()

    def _close_store(self) -> None:
        try:
            self.store.checkpoint()
        finally:
            self.store.close()

    # -- auth ----------------------------------------------------------------------------
    def authenticate(self, token: str) -> Principal:
        return self.keys.verify(token)

    def project(self, project_id: str) -> Project:
        now = time.monotonic()
        hit = self._projects.get(project_id)
        if hit and hit[0] > now:
            return hit[1]
        project = self.meta.project(project_id)
        if project is None:
            raise NotFound("project_not_found", "project does not exist")
        self._projects[project_id] = (now + _PROJECT_TTL, project)
        return project

    def origin_known(self, origin: str) -> bool:
        """Is `origin` on any project's allowlist? (CORS preflights carry no key.)"""
        now = time.monotonic()
        if self._all_origins is None or self._all_origins[0] <= now:
            origins = tuple(o for p in self.meta.projects() for o in p.origins)
            self._all_origins = (now + _PROJECT_TTL, origins)
        return origin_allowed(origin, self._all_origins[1])

    def rules(self, project_id: str) -> tuple[CustomRule, ...]:
        now = time.monotonic()
        hit = self._rules.get(project_id)
        if hit and hit[0] > now:
            return hit[1]
        rules = self.meta.rules(project_id)
        self._rules[project_id] = (now + _PROJECT_TTL, rules)
        return rules

    def limits(self, project_id: str) -> dict[str, Limit]:
        now = time.monotonic()
        hit = self._limits.get(project_id)
        if hit and hit[0] > now:
            return hit[1]
        limits = dict(DEFAULT_LIMITS)
        for route, (rate, burst) in self.meta.rate_limits(project_id).items():
            limits[route] = Limit(rate, burst)
        self._limits[project_id] = (now + _PROJECT_TTL, limits)
        return limits

    def admit(self, principal: Principal, route: str) -> None:
        """Raise Overloaded while the write queue is full (before the body is even decoded:
        refusing must cost less than storing), else take a token from the project's bucket
        for this route class or raise RateLimited."""
        if self.committer is not None:
            self.committer.admit(1)
        if not self.rate_limiter.enabled or principal.project_id is None:
            return
        wait = self.rate_limiter.check(
            principal.project_id, route, self.limits(principal.project_id).get(route)
        )
        if wait > 0:
            raise RateLimited("rate_limited", "too many requests, slow down", retry_after=wait)

    # -- writes --------------------------------------------------------------------------
    async def ingest(
        self,
        principal: Principal,
        request: RequestContext,
        events: list[Event],
        links: list[IdentityLink] = (),  # type: ignore[assignment]
        profiles: list[ProfileUpdate] = (),  # type: ignore[assignment]
    ) -> list[Event]:
        """Enrich and durably store events, identity links and profile updates; returns when
        every record is on disk (WAL synced)."""
        if principal.project_id is None or not principal.can_ingest:
            raise Forbidden("insufficient_scope", "this key cannot ingest events")
        assert self.committer is not None
        self.committer.admit(len(events) + len(links) + len(profiles))
        project = self.project(principal.project_id)
        ctx = self.pipeline.context(
            request,
            project.own_hosts,
            project.store_raw_ip,
            self.rules(project.id),
            server_side=principal.kind is KeyKind.SECRET,
        )
        # Only ids the client sent are identity evidence: a derived (IP + User-Agent) id is shared
        # by everything behind one server, so linking it would merge unrelated people.
        links = [*links, *self._implied_links(events)]
        kept = self.pipeline.run(events, ctx)
        if any(p.enrich_from for p in profiles):
            by_uid = {e.uid: e for e in kept}
            for p in profiles:
                source = by_uid.get(p.enrich_from) if p.enrich_from else None
                if source is not None:
                    p.enrichment = enrichment_of(source)
                p.enrich_from = None
        records = [(KIND_EVENT, _encode(e)) for e in kept]
        records.extend((KIND_LINK, _encode(link)) for link in links)
        records.extend((KIND_PROFILE, _encode(p)) for p in profiles)
        if records:
            await self.committer.commit(records)
        for link in links:
            self._remember_link(link)
        for e in kept:
            self.accepted[e.dialect] += 1
        for listener in self.on_stored:
            listener(kept)
        return kept

    def _implied_links(self, events: list[Event]) -> list[IdentityLink]:
        """An event that carries both ids links them, as identify would (first link wins)."""
        out = []
        seen: set[tuple[str, str, str]] = set()
        for e in events:
            if e.user_id and e.anonymous_id:
                key = (e.project_id, e.env, e.anonymous_id)
                if key not in seen and key not in self._linked:
                    seen.add(key)
                    out.append(
                        IdentityLink(
                            project_id=e.project_id,
                            env=e.env,
                            anonymous_id=e.anonymous_id,
                            user_id=e.user_id,
                            ts=e.ts,
                        )
                    )
        return out

    def _remember_link(self, link: IdentityLink) -> None:
        if len(self._linked) > 100_000:
            self._linked.clear()
        self._linked[(link.project_id, link.env, link.anonymous_id)] = link.user_id

    async def first_sighting(
        self, scope: Scope, names: tuple[str, ...], prop: str, value: str
    ) -> bool:
        """True the first time `value` of property `prop` is seen on events named `names` in
        this project and environment (e.g. a screen name, for Sankofa's CAPTURE_PRISTINE).
        The set is read from the store once, then kept in memory; call it before ingesting the
        event that carries the value."""
        key = (scope.project_id, scope.env, names, prop)
        seen = self._sightings.get(key)
        if seen is None:
            stored = await self.read(lambda: self.store.distinct_values(scope, names, prop))
            seen = self._sightings.setdefault(key, stored)
        if value in seen:
            return False
        seen.add(value)
        return True

    # -- reads ---------------------------------------------------------------------------
    async def read(self, fn: Callable[[], T]) -> T:
        """Run a store read after the loader has applied everything acknowledged so far."""
        target = self.wal.last_seq
        try:
            await asyncio.wait_for(self.loader.wait_applied(target), self.settings.read_timeout)
        except TimeoutError:
            raise StoreUnavailable(
                "store_behind", "the store is catching up, retry shortly", retry_after=1.0
            ) from None
        return await asyncio.to_thread(fn)

    async def forget(self, principal: Principal, user_id: str) -> ForgetResult:
        """Delete a person everywhere: events (also those of their linked anonymous ids),
        identity links, sessions; then rewrite the store file and drop the WAL segments that
        held them, so no byte of the person remains; then write an audit row without PII."""
        assert self.committer is not None and principal.project_id is not None
        scope = Scope(principal.project_id, principal.env.value)
        self._linked.clear()
        await self.committer.rotate()

        def run() -> ForgetResult:
            result = self.store.forget(scope, user_id)
            self.store.purge()
            self.wal.trim(self.loader.applied_seq)
            return result

        result = await asyncio.wrap_future(self.loader.call(run))
        self.meta.audit_forget(
            scope.project_id, scope.env, user_id, principal.prefix, msgspec.structs.asdict(result)
        )
        return result
