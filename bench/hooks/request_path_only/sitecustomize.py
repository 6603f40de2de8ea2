"""Benchmark-only: a Footfall server whose group commit acknowledges without writing.

`bench/bounds.py` starts one server with this directory on `PYTHONPATH`, so Python imports it
at start-up. Everything up to the WAL still runs (auth, decode, mapping, enrichment, encoding,
admission); nothing is synced or stored. It measures how fast the request path alone can go,
an upper bound for the durable server. Never use it for real data.
"""

import footfall.writer.commit as _commit


async def _acknowledge(self: _commit.Committer, records: list[tuple[int, bytes]]) -> int:
    self.admit(len(records))
    return 0


_commit.Committer.commit = _acknowledge  # type: ignore[method-assign]
