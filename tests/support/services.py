"""Real PostgreSQL and Redis servers for the tests, on free ports in temporary directories.

Debian's `postgresql` and `redis-server` packages (`.ci/run` installs them). PostgreSQL refuses
to run as root, so as root it runs as the `postgres` system user in a directory that user owns.
Tests skip, saying why, only where the binaries cannot be found.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import pytest

from tests.support.server import free_port

__all__ = ["Postgres", "Redis", "postgres_bin", "redis_bin"]


def postgres_bin() -> Path | None:
    for version in ("17", "16", "15", "14", "13"):
        path = Path(f"/usr/lib/postgresql/{version}/bin")
        if (path / "postgres").exists() and (path / "initdb").exists():
            return path
    found = shutil.which("postgres")
    return Path(found).parent if found and shutil.which("initdb") else None


def redis_bin() -> str | None:
    return shutil.which("redis-server")


def _wait(ready: object, what: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited {proc.returncode}: {log.read_text()[-2000:]}")
        if ready():  # type: ignore[operator]
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start: {log.read_text()[-2000:]}")
        time.sleep(0.05)  # polling for readiness of an external server


class _Service:
    """A server process in a temporary directory of its own."""

    dir: Path

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def _terminate(self, proc: subprocess.Popen[bytes]) -> None:
        proc.terminate()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self._terminate(self.proc)
            self.proc.wait(timeout=60)
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[Self]:
        service = cls()
        try:
            yield service.start()
        finally:
            service.close()


class Postgres(_Service):
    """A throwaway cluster; `database()` hands each test its own empty database."""

    def __init__(self) -> None:
        bindir = postgres_bin()
        if bindir is None:
            pytest.skip("PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)")
        super().__init__()
        self.bindir = bindir
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            try:
                import pwd

                pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root without a `postgres` user to run PostgreSQL as")
            self.user = "postgres"
        # Under /tmp (world-traversable), not pytest's root-only tmp tree.
        self.dir = Path(tempfile.mkdtemp(prefix="footfall-pg-"))
        if self.user:
            shutil.chown(self.dir, self.user)
        self.log = self.dir / "postgres.log"
        self._run([str(bindir / "initdb"), "-D", str(self.dir / "data"), "-U", "footfall",
                   "--auth=trust", "-E", "UTF8", "--no-sync"], check=True)

    def _run(self, argv: list[str], check: bool = False) -> subprocess.CompletedProcess[bytes]:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        return subprocess.run([*prefix, *argv], capture_output=True, check=check, timeout=120)

    def start(self) -> Self:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*prefix, str(self.bindir / "postgres"), "-D", str(self.dir / "data"),
                 "-p", str(self.port), "-k", str(self.dir), "-c", "listen_addresses=127.0.0.1",
                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "max_connections=200"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        _wait(self._ready, "postgres", self.proc, self.log)
        return self

    def _ready(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self.url("postgres"), connect_timeout=1).close()
        except psycopg.OperationalError:
            return False
        return True

    def url(self, database: str) -> str:
        return f"postgresql://footfall@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _terminate(self, proc: subprocess.Popen[bytes]) -> None:
        # SIGINT = PostgreSQL's fast shutdown, to the whole group (runuser and the server).
        os.killpg(proc.pid, signal.SIGINT)


class Redis(_Service):
    def __init__(self, port: int | None = None) -> None:
        binary = redis_bin()
        if binary is None:
            pytest.skip("Redis is not installed (Debian package redis-server; .ci/run installs it)")
        super().__init__()
        self.binary = binary
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="footfall-redis-"))
        self.log = self.dir / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Self:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.dir)],
                stdout=log, stderr=subprocess.STDOUT,
            )
        _wait(self._ready, "redis-server", self.proc, self.log)
        return self

    def _ready(self) -> bool:
        import redis

        try:
            with redis.Redis.from_url(self.url, socket_timeout=1) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def flush(self) -> None:
        import redis

        with redis.Redis.from_url(self.url) as client:
            client.flushall()
