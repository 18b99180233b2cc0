"""The compiled scanner and its pure-Python twin must agree on everything.

The twin is the differential oracle: same tables on every fixture, same
error class, message, offset and partial rows on damaged input.
"""

import io

import pytest

import rdbscan
from rdbscan.model.encoding import profile_from_meta
from rdbscan.model.memory import sizing_tables, slot_sizing
from conftest import FIXTURE_NAMES, dump_path, third_party_dumps

pytest.importorskip("rdbscan.scanner._scanner", reason="compiled scanner not built")
from rdbscan.scanner._scanner import Scanner as CScanner  # noqa: E402
from rdbscan.scanner.pyscanner import Scanner as PyScanner  # noqa: E402


def _run(cls, data, batch_size=64, verify=True):
    """Every batch (raw buffers), the meta, module names and the error, if any."""
    batches, error = [], None
    try:
        sc = cls(io.BytesIO(data), batch_size, verify)
        sc.preamble()
    except rdbscan.RDBFormatError as e:
        return [], None, None, (type(e), str(e), e.offset, e.key)
    # Size hashtable elements as the API does, with both allocator quanta.
    tables, big, rounded, _, stream_alloc, extra, vset_table, listpacks, ziplists = \
        sizing_tables(profile_from_meta(sc.meta))
    sc.set_sizing(tables, big, rounded, quantum16=batch_size % 2 == 1, stream_alloc=stream_alloc,
                  big_extra=extra, vset_table=vset_table, listpacks=listpacks, ziplists=ziplists)
    try:
        while (b := sc.next_batch()) is not None:
            batches.append(b)
    except rdbscan.RDBFormatError as e:
        error = (type(e), str(e), e.offset, e.key)
        batches.append(sc.flush())
    return batches, sc.meta, list(sc.module_names), error


def _paths():
    return [dump_path(n) for n in FIXTURE_NAMES] + third_party_dumps()


@pytest.mark.parametrize("path", _paths(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_same_buffers_on_every_dump(path):
    data = path.read_bytes()
    assert _run(CScanner, data) == _run(PyScanner, data)
    assert _run(CScanner, data, batch_size=99_999) == _run(PyScanner, data, batch_size=99_999)


@pytest.mark.parametrize("name", ["redis-2.8.24", "redis-5.0.14-lfu", "redis-7.4.1-cluster", "valkey-8.0.1"])
def test_same_tables_through_the_api(name):
    compiled = rdbscan.read_table(dump_path(name))
    pure = rdbscan.read_table(dump_path(name), pure=True)
    assert compiled.equals(pure)


@pytest.mark.parametrize("name", ["redis-2.8.24", "redis-7.0.15", "redis-7.4.1-lru"])
def test_same_errors_and_partial_rows_on_truncation(name):
    data = dump_path(name).read_bytes()
    step = max(1, len(data) // 97)
    for cut in range(0, len(data), step):
        assert _run(CScanner, data[:cut]) == _run(PyScanner, data[:cut]), cut


@pytest.mark.parametrize("name", ["redis-3.2.13", "redis-7.4.1", "valkey-8.0.1-lfu"])
def test_same_errors_on_bit_flips(name):
    import random
    rng = random.Random(name)
    data = dump_path(name).read_bytes()
    for _ in range(150):
        bad = bytearray(data)
        pos = rng.randrange(9, len(data))
        bad[pos] ^= 1 << rng.randrange(8)
        for verify in (True, False):
            assert _run(CScanner, bytes(bad), verify=verify) == _run(PyScanner, bytes(bad), verify=verify), pos


@pytest.mark.parametrize("name", FIXTURE_NAMES)
@pytest.mark.parametrize("allocator", ["jemalloc", "jemalloc-16"])
def test_compiled_model_equals_pyarrow_reference(name, allocator):
    # encoding and memory_bytes: the C loop (rdbscan.model._model) against the
    # vectorised pyarrow rules it was written from.
    pytest.importorskip("rdbscan.model._model", reason="compiled model not built")
    from rdbscan.scanner.records import build_batch
    sc = CScanner(io.BytesIO(dump_path(name).read_bytes()), 1 << 20, True)
    sc.preamble()
    profile = profile_from_meta(sc.meta, allocator=allocator)
    sc.set_sizing(*sizing_tables(profile))
    n, cols = sc.next_batch()
    compiled = build_batch(n, cols, sc.module_names, profile)
    reference = build_batch(n, cols, sc.module_names, profile, compiled_model=False)
    assert compiled.equals(reference)
    # Every key gets an estimate, but linked lists (Redis < 3.2: no MEMORY USAGE to match).
    unestimated = {e for e, m in zip(compiled.column("encoding").to_pylist(),
                                     compiled.column("memory_bytes").to_pylist()) if m is None}
    assert unestimated <= {"linkedlist"}


@pytest.mark.parametrize("name", ["redis-2.8.24", "redis-4.0.14", "redis-7.0.15", "redis-7.4.1", "valkey-8.0.1",
                                  "redis-8.4.0-edge", "redis-8.6.3"])
def test_same_buffers_with_whatif_slots_and_conversions(name):
    # What-if scans: sizing slots of other releases and allocators, ziplists
    # as listpacks and listpacks as ziplists, conversion points per value
    # limit, streams sized by counting and by allocations under several
    # allocators in one pass.
    from rdbscan.model.scenario import Scenario, parse_slot
    data = dump_path(name).read_bytes()
    results = []
    for cls in (CScanner, PyScanner):
        sc = cls(io.BytesIO(data), 97, True)
        sc.preamble()
        profile = profile_from_meta(sc.meta)
        tables, big, rounded, alloc, stream_alloc, extra, vset_table, listpacks, _ = sizing_tables(profile)
        sc.set_sizing(tables, big, rounded, alloc, stream_alloc, extra, vset_table,
                      listpacks=not listpacks, ziplists=True)
        sc.set_slots([slot_sizing(Scenario(k, *parse_slot(k)).apply(profile))
                      for k in ("valkey-8.1|libc", "6.2|", "|jemalloc-16", "7.4|", "8.4|libc", "8.6|jemalloc-16",
                                "8.6|")])
        sc.set_conversions([64, 0, 5, 1000])
        out = []
        while (b := sc.next_batch()) is not None:
            out.append(b)
        results.append(out)
    assert results[0] == results[1]
    assert any(k.startswith("mem_blobs_7") for k in results[0][0][1])
