"""DuckDB has lost committed rows when a checkpoint failed on a full disk. Footfall's WAL keeps
every record DuckDB has not yet checkpointed into its main file, so a start after such a loss
replays them from the position the main file holds."""

from __future__ import annotations

import shutil
from pathlib import Path

from footfall.store.duckdb.store import DuckDBStore
from footfall.writer.loader import Loader
from footfall.writer.wal import WriteAheadLog
from tests.unit.writer.records import event_records

SEGMENT = 600  # bytes: a WAL segment every few records


def test_the_wal_keeps_what_duckdb_has_not_checkpointed_and_replays_it_after_duckdb_loses_its_log(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    store = DuckDBStore(data / "events.duckdb")
    store.migrate()
    wal = WriteAheadLog(data / "wal", segment_bytes=SEGMENT)
    loader = Loader(store, wal)

    def commit(first: int, n: int) -> None:
        wal.append(event_records(first, n))
        loader.recover()  # what the loader thread does with them, here in this thread

    commit(0, 5)
    store.checkpoint()
    assert store.checkpointed_seq() == 5
    for first in range(5, 30, 5):
        commit(first, 5)
    assert store.applied_seq() == 30 and store.checkpointed_seq() == 5
    assert loader.trim() >= 1  # the segments DuckDB's main file holds go…
    assert wal.segments()[0][0] <= 6  # …the ones only its own log holds stay

    # A crash that takes DuckDB's log with it: its main file as on disk, no log beside it.
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    shutil.copy(data / "events.duckdb", crashed / "events.duckdb")
    shutil.copytree(data / "wal", crashed / "wal")
    store.close()
    wal.close()

    restarted = DuckDBStore(crashed / "events.duckdb")
    restarted.migrate()
    assert restarted.applied_seq() == 5
    assert Loader(restarted, WriteAheadLog(crashed / "wal", segment_bytes=SEGMENT)).recover() == 25
    _names, rows = restarted.read("SELECT event_id FROM events ORDER BY uid")
    assert sorted(r[0] for r in rows) == sorted(f"e{i}" for i in range(30))
    restarted.close()


def test_once_duckdb_checkpoints_the_wal_goes_down_to_its_newest_segment(tmp_path: Path) -> None:
    """The WAL does not grow for ever: the server's shutdown checkpoints, and so does DuckDB
    past its own log's threshold."""
    store = DuckDBStore(tmp_path / "events.duckdb")
    store.migrate()
    wal = WriteAheadLog(tmp_path / "wal", segment_bytes=SEGMENT)
    loader = Loader(store, wal)
    for first in range(0, 20, 5):
        wal.append(event_records(first, 5))
        loader.recover()
    segments = len(wal.segments())
    assert segments > 2 and loader.trim() == 0
    store.checkpoint()
    assert loader.trim() == segments - 1 and len(wal.segments()) == 1
    store.close()
    wal.close()
