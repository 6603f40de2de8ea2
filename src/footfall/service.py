"""The core every dialect calls: authenticate, ingest (pipeline → WAL → store), read, forget.

Dialects never touch the pipeline, the writer or the store directly; they build canonical
structs, call these methods and shape the answer.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from footfall.attribution.custom import CustomRule
from footfall.auth.keys import KeyRing, issue_key
from footfall.auth.origins import origin_allowed
from footfall.cache import TtlCache
from footfall.config import Settings
from footfall.enrichment.geoip import GeoIP
from footfall.errors import Forbidden, NotFound, RateLimited, StoreUnavailable
from footfall.limits import DEFAULT_LIMITS, Limit
from footfall.model import (
    Env,
    Event,
    IdentityLink,
    KeyKind,
    Principal,
    ProfileUpdate,
    RequestContext,
)
from footfall.pipeline import Drop, Pipeline, attribute, drop_invalid, invalid_rows
from footfall.pipeline.sessions import INHERITED_FIELDS, SESSION_TIMEOUT, ImportSessionizer
from footfall.portability.backup import CONTROL_SOCKET, serve_control
from footfall.state import open_state
from footfall.store.base import ExportQuery, ForgetResult, Scope
from footfall.store.factory import open_store
from footfall.store.meta import MetaStore, MetaUnavailable, Project
from footfall.writer.commit import Committer
from footfall.writer.loader import (
    KIND_EVENT,
    KIND_IMPORTED,
    KIND_IMPORTED_TABLE,
    KIND_LINK,
    KIND_PROFILE,
    Loader,
    table_record,
)  # fmt: skip
from footfall.writer.wal import WriteAheadLog

__all__ = [
    "ACQUISITION_KEYS",
    "DEVICE_KEYS",
    "GEO_KEYS",
    "Footfall",
    "IngestPart",
    "bootstrap_dashboard_admin",
    "create_project_with_keys",
    "enrichment_of",
    "open_meta",
]

log = logging.getLogger("footfall")
T = TypeVar("T")
_PROJECT_TTL = 10.0
_encode = msgspec.json.Encoder().encode
# Imported events outside these years are dropped: nothing real, and session arithmetic near
# datetime's limits would overflow.
_IMPORT_FROM = datetime(1970, 1, 1, tzinfo=UTC)
_IMPORT_TO = datetime(2200, 1, 1, tzinfo=UTC)


def _naive_utc(value: datetime) -> pa.Scalar[Any]:
    return pa.scalar(value.astimezone(UTC).replace(tzinfo=None), pa.timestamp("us"))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@functools.lru_cache(maxsize=1024)
def _own_hosts(project: Project) -> frozenset[str]:
    """`project.own_hosts`, parsed once per version of a project, not once per request (#23)."""
    return project.own_hosts


def open_meta(settings: Settings) -> MetaStore:
    meta = MetaStore(settings.meta_target)
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
    """On an empty control plane: a default project and one key of each kind, printed once.
    In one transaction, so of several nodes starting together on one control plane, one
    creates it and the others see it."""
    with meta.transaction():
        if meta.projects():
            return None
        project, keys = create_project_with_keys(
            meta, "default", ["http://localhost:5173", "http://localhost:8787"]
        )
    return {"project_id": project.id, **keys}


def bootstrap_dashboard_admin(meta: MetaStore) -> tuple[str, str] | None:
    """With no dashboard user yet: an admin with a random password, printed once (e-mail,
    password); only its scrypt hash is kept. Of several nodes starting together on one control
    plane, one creates it (`create` checks and inserts in one transaction) and the others
    print nothing."""
    if meta.users.any():
        return None
    from footfall.auth.passwords import hash_password

    email, password = "admin@localhost", secrets.token_urlsafe(15)
    try:
        meta.users.create(email, hash_password(password), "admin")
    except ValueError:  # another node created it meanwhile
        return None
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
    store = open_store(settings.store, settings.data, settings.store_threads, memory)
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


# enrichment_of's keys by what they describe: where the visit came from, where the visitor is
# (from the IP), what they use (from the User-Agent)
ACQUISITION_KEYS = (
    "source", "medium", "campaign", "channel", "source_rule_id", "source_confidence",
    "referrer_host", "click_id_type", "click_id",
)  # fmt: skip
GEO_KEYS = ("geo", "ip", "ip_hash")
DEVICE_KEYS = ("device", "user_agent")


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


class IngestPart(NamedTuple):
    """One principal's share of a request's records."""

    principal: Principal
    events: list[Event]
    links: Sequence[IdentityLink] = ()
    profiles: Sequence[ProfileUpdate] = ()


class Footfall:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        data = settings.data
        data.mkdir(parents=True, exist_ok=True)
        self.meta = open_meta(settings)
        self.keys = KeyRing(self.meta)
        try:
            # Per-visitor memory and rate budgets: this process's, or shared in Redis.
            self.state = open_state(settings.state, settings.rate_limits)
        except BaseException:
            self.meta.close()
            raise
        self.store = open_store(
            settings.store, data, settings.store_threads, settings.store_memory
        )
        self.store.migrate()
        self.wal = WriteAheadLog(data / "wal")
        self.loader = Loader(self.store, self.wal)
        self.committer: Committer | None = None
        self.pipeline = Pipeline(
            geoip=GeoIP(settings.geoip_city, settings.geoip_asn),
            salt_for=self.meta.daily_salt,
            sessions=self.state.visitors,
        )
        self._projects: TtlCache[str, Project | None] = TtlCache(_PROJECT_TTL)
        self._rules: TtlCache[str, tuple[CustomRule, ...]] = TtlCache(_PROJECT_TTL)
        self._limits: TtlCache[str, dict[str, Limit]] = TtlCache(_PROJECT_TTL)
        self._all_origins: TtlCache[str, tuple[str, ...]] = TtlCache(_PROJECT_TTL)
        self._domains: TtlCache[str, dict[str, str]] = TtlCache(_PROJECT_TTL)
        self.rate_limiter = self.state.limiter
        # Recently written identity links: only saves duplicate records (the store keeps the
        # first link), so it stays per node.
        self._linked: dict[tuple[str, str, str], str] = {}
        self.accepted: Counter[str] = Counter()
        # Events a dialect answered but stored nowhere (e.g. a Plausible event for a domain no
        # project lists), by (dialect, reason).
        self.edge_drops: Counter[tuple[str, str]] = Counter()
        self._control: asyncio.AbstractServer | None = None  # `footfall backup` asks here
        self._import_sessions = ImportSessionizer()
        # Called with each request's stored events once they are durable (the dashboard's live
        # stream); must not block: they run on the event loop.
        self.on_stored: list[Callable[[list[Event]], None]] = []

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        recovered = await asyncio.to_thread(self.loader.recover)
        if recovered:
            log.info("recovered events from the write-ahead log", extra={"records": recovered})
        if not self.state.shared:  # shared state outlives the node: nothing to rebuild
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
            max_lag_bytes=self.settings.max_lag_bytes,
        )
        self.committer.start()
        self._control = await serve_control(self.settings.data, self.store.backup)

    async def stop(self) -> None:
        if self._control is not None:
            self._control.close()
            (self.settings.data / CONTROL_SOCKET).unlink(missing_ok=True)
        if self.committer is not None:
            await self.committer.close()
        await asyncio.to_thread(self.loader.stop)
        self.wal.close()
        await asyncio.to_thread(self._close_store)
        self.meta.close()
        self.state.close()

    def stale_answers(self) -> int:
        """Control-plane answers served past their TTL because it was unreachable."""
        # Every cache on the service, so one added later cannot be left out of the count.
        caches = [self.keys.cache, *(v for v in vars(self).values() if isinstance(v, TtlCache))]
        return sum(c.stale_served for c in caches)

    def _close_store(self) -> None:
        try:
            self.store.checkpoint()
        finally:
            self.store.close()

    # -- auth ----------------------------------------------------------------------------
    def authenticate(self, token: str) -> Principal:
        return self.keys.verify(token)

    def project(self, project_id: str) -> Project:
        project = self._projects.get(project_id, lambda: self.meta.project(project_id))
        if project is None:
            raise NotFound("project_not_found", "project does not exist")
        return project

    def origin_known(self, origin: str) -> bool:
        """Is `origin` on any project's allowlist? (CORS preflights carry no key.)"""
        try:
            origins = self._all_origins.get(
                "", lambda: tuple(o for p in self.meta.projects() for o in p.origins)
            )
        except MetaUnavailable:
            return False  # no answer yet and none to be had: refuse the preflight, not 500
        return origin_allowed(origin, origins)

    def site_principal(self, domain: str) -> Principal | None:
        """Who a keyless site event (Plausible) writes as: the live environment of the project
        that lists `domain` (already normalised), treated like a browser key; None when no
        project does."""
        project_id = self._domains.get("", self.meta.domains).get(domain)
        if project_id is None:
            return None
        return Principal(project_id, Env.LIVE, KeyKind.PUBLISHABLE, "domain")

    def rules(self, project_id: str) -> tuple[CustomRule, ...]:
        return self._rules.get(project_id, lambda: self.meta.rules(project_id))

    def limits(self, project_id: str) -> dict[str, Limit]:
        def load() -> dict[str, Limit]:
            limits = dict(DEFAULT_LIMITS)
            for route, (rate, burst) in self.meta.rate_limits(project_id).items():
                limits[route] = Limit(rate, burst)
            return limits

        return self._limits.get(project_id, load)

    async def room_for_writes(self) -> None:
        """Under overload, hold a write up to the time a 503 would tell its client to wait
        (the loader may catch up meanwhile) instead of refusing it at once."""
        if self.committer is not None:
            await self.committer.room(self.committer.retry_after)

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
        *,
        unlocated: frozenset[str] = frozenset(),
    ) -> list[Event]:
        """Enrich and durably store events, identity links and profile updates; returns when
        every record is on disk (WAL synced). `unlocated`: uids of events whose client asked
        not to be located, so they get no geo fields."""
        (kept,) = await self.ingest_parts(
            request, [IngestPart(principal, events, links, profiles)], unlocated=unlocated
        )
        return kept

    async def ingest_parts(
        self,
        request: RequestContext,
        parts: list[IngestPart],
        *,
        unlocated: frozenset[str] = frozenset(),
    ) -> list[list[Event]]:
        """`ingest` for one request's records of several principals (a Plausible event for
        several sites) in ONE commit: all durable or none, so a retry never duplicates a part."""
        for part in parts:
            if part.principal.project_id is None or not part.principal.can_ingest:
                raise Forbidden("insufficient_scope", "this key cannot ingest events")
        assert self.committer is not None
        self.committer.admit(
            sum(len(p.events) + len(p.links) + len(p.profiles) for p in parts)
        )
        prepared = [self._prepared(request, part, unlocated) for part in parts]
        records = [r for _kept, _links, part_records in prepared for r in part_records]
        if records:
            await self.committer.commit(records)
        for kept, links, _records in prepared:
            for link in links:
                self._remember_link(link)
            for e in kept:
                self.accepted[e.dialect] += 1
            for listener in self.on_stored:
                listener(kept)
        return [kept for kept, _links, _records in prepared]

    def _prepared(
        self, request: RequestContext, part: IngestPart, unlocated: frozenset[str]
    ) -> tuple[list[Event], list[IdentityLink], list[tuple[int, bytes]]]:
        """One principal's events enriched, and the records to commit."""
        principal, profiles = part.principal, part.profiles
        assert principal.project_id is not None
        project = self.project(principal.project_id)
        ctx = self.pipeline.context(
            request,
            _own_hosts(project),
            project.store_raw_ip,
            self.rules(project.id),
            server_side=principal.kind is KeyKind.SECRET,
            unlocated=unlocated,
        )
        # Only ids the client sent are identity evidence: a derived (IP + User-Agent) id is shared
        # by everything behind one server, so linking it would merge unrelated people.
        links = [*part.links, *self._implied_links(part.events)]
        kept = self.pipeline.run(part.events, ctx)
        if any(p.enrich_from for p in profiles):
            by_uid = {e.uid: e for e in kept}
            for p in profiles:
                source = by_uid.get(p.enrich_from) if p.enrich_from else None
                if source is not None:
                    learned = enrichment_of(source)
                    keys = learned if p.enrich_keys is None else p.enrich_keys
                    p.enrichment = {k: learned[k] for k in keys if k in learned} or None
                p.enrich_from, p.enrich_keys = None, None
        records = [(KIND_EVENT, _encode(e)) for e in kept]
        records.extend((KIND_LINK, _encode(link)) for link in links)
        records.extend((KIND_PROFILE, _encode(p)) for p in profiles)
        return kept, links, records

    async def _commit(
        self, kind: int, events: list[Event], links: list[IdentityLink], profiles: list[ProfileUpdate]
    ) -> None:
        """Write the records to the WAL (one group commit); returns once synced."""
        assert self.committer is not None
        records = [(kind, _encode(e)) for e in events]
        records.extend((KIND_LINK, _encode(link)) for link in links)
        records.extend((KIND_PROFILE, _encode(p)) for p in profiles)
        if records:
            await self.committer.commit(records)
        for link in links:
            self._remember_link(link)

    async def import_records(
        self,
        principal: Principal,
        events: list[Event],
        links: list[IdentityLink],
        profiles: list[ProfileUpdate],
        reenrich: bool,
    ) -> list[int]:
        """Store records from another system or an export into the key's project; returns the
        indexes of the events dropped as invalid.

        Events keep their uid, which (with event_id) makes a second import of the same rows
        store nothing. With `reenrich`, the pipeline runs on each event as if its visit came
        in now from the event's own `ip` and `user_agent`, and events carrying both ids link
        them; otherwise events are stored as given (Footfall's own export), only validated.
        Raw IPs are kept only for projects that store them. Returns once the WAL is synced.
        """
        if principal.project_id is None or principal.kind is not KeyKind.SECRET:
            raise Forbidden("insufficient_scope", "only sk_ keys may import")
        assert self.committer is not None
        self.committer.admit(len(events) + len(links) + len(profiles))
        project = self.project(principal.project_id)
        scope = principal.scope
        for e in events:
            e.project_id, e.env = scope.project_id, scope.env
            e.ts, e.received_at = _utc(e.ts), _utc(e.received_at)
        for link in links:
            link.project_id, link.env = scope.project_id, scope.env
        for p in profiles:
            p.project_id, p.env, p.enrich_from = scope.project_id, scope.env, None
        now = datetime.now(UTC)
        kept: list[Event] = []
        if reenrich:
            # One pipeline run per visit context, in time order inside each.
            groups: dict[tuple[str | None, str | None], list[Event]] = {}
            for e in events:
                if not _IMPORT_FROM <= e.ts < _IMPORT_TO:
                    continue
                groups.setdefault((e.ip, e.user_agent), []).append(e)
            for (ip, ua), group in groups.items():
                for e in group:
                    e.ip = e.ip_hash = None
                request = RequestContext(ip=ip, user_agent=ua, origin=None, received_at=now)
                ctx = self.pipeline.context(
                    request, project.own_hosts, project.store_raw_ip, self.rules(project.id)
                )
                ctx.sessions = self._import_sessions
                kept.extend(self.pipeline.run(group, ctx))
            links = [*links, *self._implied_links(kept)]
        else:
            ctx = self.pipeline.context(
                RequestContext(ip=None, user_agent=None, origin=None, received_at=now),
                project.own_hosts, project.store_raw_ip,
            )
            for e in events:
                if not project.store_raw_ip:
                    e.ip = None
                if _IMPORT_FROM <= e.ts < _IMPORT_TO and not isinstance(drop_invalid(e, ctx), Drop):
                    kept.append(e)
        await self._commit(KIND_IMPORTED, kept, links, profiles)
        self.accepted["import"] += len(kept)
        stored = {id(e) for e in kept}
        return [i for i, e in enumerate(events) if id(e) not in stored]

    async def import_table(self, principal: Principal, table: pa.Table) -> list[int]:
        """Footfall's own exported events, already enriched, as one Arrow table (columns of
        `EVENT_SCHEMA`, naive UTC times): stored as they are into the key's project in one
        store transaction, run by the loader after everything queued before it (so it holds
        the WAL position already applied). Offline imports only: durable once the store
        commits, which is when this returns. Returns the indexes of the rows dropped as
        invalid, as `import_records` does (no raw IP unless the project stores them)."""
        kept, dropped = self._importable(principal, table)
        if kept.num_rows:
            loader = self.loader  # in its thread, its position is the store's
            await asyncio.wrap_future(loader.call(
                lambda: self.store.append(b"", b"", loader.applied_seq, imported=kept)
            ))  # fmt: skip
        self.accepted["import"] += kept.num_rows
        return dropped

    async def import_rows(self, principal: Principal, table: pa.Table) -> list[int]:
        """`import_table` through the WAL (a running server's `POST /v1/import/events`): the
        checked table is one WAL record (Arrow IPC) that the loader stores like imported rows;
        returns once the WAL is synced."""
        assert self.committer is not None
        self.committer.admit(table.num_rows)
        kept, dropped = self._importable(principal, table)
        if kept.num_rows:
            await self.committer.commit([(KIND_IMPORTED_TABLE, table_record(kept))])
        self.accepted["import"] += kept.num_rows
        return dropped

    def _importable(self, principal: Principal, table: pa.Table) -> tuple[pa.Table, list[int]]:
        """The rows to store, in the key's project and environment, without raw IPs unless
        the project stores them; and the indexes of those dropped as invalid."""
        if principal.project_id is None or principal.kind is not KeyKind.SECRET:
            raise Forbidden("insufficient_scope", "only sk_ keys may import")
        project = self.project(principal.project_id)
        n = table.num_rows
        for name, value in (("project_id", project.id), ("env", principal.scope.env)):
            table = table.set_column(table.schema.get_field_index(name), name, pa.array([value] * n, pa.string()))
        if not project.store_raw_ip:
            table = table.set_column(table.schema.get_field_index("ip"), "ip", pa.nulls(n, pa.string()))
        ts = table.column("ts")
        bad = pc.or_(invalid_rows(table), pc.invert(pc.and_(
            pc.greater_equal(ts, _naive_utc(_IMPORT_FROM)), pc.less(ts, _naive_utc(_IMPORT_TO)))))  # fmt: skip
        bad = pc.fill_null(bad, True)
        dropped: list[int] = pc.indices_nonzero(bad).to_pylist()
        return (table.filter(pc.invert(bad)) if dropped else table), dropped

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
        The set is read from the store once, then kept in the hot state (this process's memory,
        or Redis shared by every node); call it before ingesting the event that carries it."""
        key = (scope.project_id, scope.env, names, prop)
        sightings = self.state.sightings
        if not sightings.known(key):
            stored = await self.read(lambda: self.store.distinct_values(scope, names, prop))
            sightings.seed(key, stored)
        return sightings.sight(key, value)

    # -- reads ---------------------------------------------------------------------------
    async def read(self, fn: Callable[[], T]) -> T:
        """Run a store read after the loader has applied everything acknowledged so far."""
        await self._caught_up()
        return await asyncio.to_thread(fn)

    async def _caught_up(self) -> None:
        target = self.wal.last_seq
        try:
            await asyncio.wait_for(self.loader.wait_applied(target), self.settings.read_timeout)
        except TimeoutError:
            raise StoreUnavailable(
                "store_behind", "the store is catching up, retry shortly", retry_after=1.0
            ) from None

    async def export(
        self, query: ExportQuery, encode: Callable[[Any], bytes]
    ) -> AsyncIterator[bytes]:
        """`encode(batch)` of every batch of `store.export(query)`, read after the loader has
        applied everything acknowledged so far (awaited here, so a 503 comes before the
        stream); store reads and encoding run off the event loop."""
        await self._caught_up()
        return self._export_chunks(query, encode)

    async def _export_chunks(
        self, query: ExportQuery, encode: Callable[[Any], bytes]
    ) -> AsyncIterator[bytes]:
        batches = self.store.export(query)

        def step() -> bytes | None:
            batch = next(batches, None)
            return None if batch is None else encode(batch)

        try:
            while (chunk := await asyncio.to_thread(step)) is not None:
                yield chunk
        finally:
            await asyncio.to_thread(batches.close)  # type: ignore[attr-defined]

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
            self.store.purge()  # the rewritten file holds every row: the WAL may go
            self.loader.trim()
            return result

        result = await asyncio.wrap_future(self.loader.call(run))
        self.meta.audit_forget(
            scope.project_id, scope.env, user_id, principal.prefix, msgspec.structs.asdict(result)
        )
        return result
