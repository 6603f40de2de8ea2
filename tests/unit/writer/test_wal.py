from __future__ import annotations

from pathlib import Path

from footfall.writer.wal import WriteAheadLog


def test_records_survive_reopen_in_order(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    assert wal.append([(1, b"a"), (2, b"b")]) == 2
    assert wal.append([(1, b"c")]) == 3
    wal.close()
    wal = WriteAheadLog(tmp_path)
    assert wal.last_seq == 3
    assert list(wal.read_from(0)) == [(1, 1, b"a"), (2, 2, b"b"), (3, 1, b"c")]
    assert list(wal.read_from(2)) == [(3, 1, b"c")]


def test_torn_tail_is_cut_and_appends_continue(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.append([(1, b"first")])
    wal.append([(1, b"second")])
    wal.close()
    (seg,) = tmp_path.glob("*.wal")
    data = seg.read_bytes()
    seg.write_bytes(data[:-3])  # the last group was being written when the process died
    wal = WriteAheadLog(tmp_path)
    assert wal.last_seq == 1
    assert [p for _s, _k, p in wal.read_from(0)] == [b"first"]
    assert wal.append([(1, b"third")]) == 2
    assert [p for _s, _k, p in wal.read_from(0)] == [b"first", b"third"]


def test_corrupt_record_stops_the_scan(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.append([(1, b"good")])
    wal.append([(1, b"will be corrupted")])
    wal.close()
    (seg,) = tmp_path.glob("*.wal")
    data = bytearray(seg.read_bytes())
    data[-2] ^= 0xFF
    seg.write_bytes(bytes(data))
    wal = WriteAheadLog(tmp_path)
    assert [p for _s, _k, p in wal.read_from(0)] == [b"good"]


def test_rotation_and_trim_delete_only_applied_segments(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, segment_bytes=1)  # every append after the first rotates
    for i in range(4):
        wal.append([(1, str(i).encode())])
    assert len(wal.segments()) == 4
    assert wal.trim(applied_seq=2) == 2
    assert [p for _s, _k, p in wal.read_from(2)] == [b"2", b"3"]
    assert wal.trim(applied_seq=4) == 1  # the newest segment is never deleted
    assert len(wal.segments()) == 1
    wal.rotate()
    assert wal.trim(applied_seq=4) == 1
    wal.close()
    wal = WriteAheadLog(tmp_path)
    assert wal.last_seq == 4  # a fresh, empty segment still knows where numbering continues
    assert wal.append([(1, b"x")]) == 5


def test_a_failed_append_leaves_no_garbage_before_later_records(tmp_path: Path) -> None:
    import resource

    wal = WriteAheadLog(tmp_path)
    wal.append([(1, b"ok-1")])
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    (seg,) = tmp_path.glob("*.wal")
    size = seg.stat().st_size
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 10, hard))  # the next group only half fits
    try:
        try:
            wal.append([(1, b"x" * 100)])
        except OSError:
            pass
        else:
            raise AssertionError("the write should have failed")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert seg.stat().st_size == size  # the torn part was cut off
    assert wal.append([(1, b"ok-2")]) == 2
    wal.close()
    assert [p for _s, _k, p in WriteAheadLog(tmp_path).read_from(0)] == [b"ok-1", b"ok-2"]


def test_a_group_is_its_records_framed_one_by_one(tmp_path: Path) -> None:
    from footfall.writer.wal import encode_record

    wal = WriteAheadLog(tmp_path)
    wal.append([(1, b"x")])
    records = [(1, b'{"a":1}'), (2, b""), (3, bytes(range(256)) * 40)]
    data, last = wal.encode(records)
    assert last == 4
    assert data == b"".join(encode_record(seq, k, p) for seq, (k, p) in enumerate(records, start=2))
