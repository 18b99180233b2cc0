"""Valkey 9: field-expiring hashes, RDB 81 (9.2), the 8.1/9.0/9.1 layouts, slot info.

The real dumps (``fixtures/valkey-unstable*``) are checked key by key in
test_truth.py and test_memory.py; what no server of ours wrote is built here
by hand (tests/rdbwriter.py) and worked out from the Valkey sources:

- rdb.c ``rdbLoadObject`` (RDB_TYPE_HASH_2): a field whose expiry is before
  the loader's clock is dropped, the table is pre-sized for every stored
  field, a hash left with none is not loaded at all;
- entry.c ``entryReqSize``: field (sds type 5 below 32 bytes, type 8 when it
  carries an expiry), the 8-byte expiry and the value (sds type 8) in one
  allocation up to 128 bytes;
- the RDB 81 additions (type 23 path hash, opcode 242 UPDATE) as the public
  sources write them; no real 81 dump has checked them;
- tables the loader does not pre-size for what they end up holding (a
  volatile set past 127 fields with TTLs, a plain hash that starts as a
  listpack): replayed insert by insert, and checked against a real server.

J() is jemalloc's size class (bundled build, 8-byte quantum).
"""

import io
import json
import subprocess
import sys

import pytest

import rdbscan
from rdbscan.model.alloc import jemalloc_size as J
from rdbscan.model.encoding import profile_from_meta
from rdbscan.model.memory import sizing_tables
from conftest import FIXTURE_NAMES, dump_path, load_truth
from rdbwriter import Dump, valkey_81_dump, valkey_grown_dump, valkey_hfe_dump

CTIME = 1_900_000_000                 # the snapshot's time (aux ctime, seconds)
PAST = CTIME * 1000 - 1               # a field TTL that passed before it
FUTURE = CTIME * 1000 + 3_600_000


def _rows(data, **options):
    return {r["key"]: r for r in rdbscan.read_table(io.BytesIO(data), **options).to_pylist()}


def _both(data, **options):
    """Rows from the compiled and the pure-Python paths, which must agree."""
    compiled = rdbscan.read_table(io.BytesIO(data), **options)
    pure = rdbscan.read_table(io.BytesIO(data), pure=True, **options)
    assert compiled.equals(pure)
    return {r["key"]: r for r in compiled.to_pylist()}


def _hfe_dump():
    return valkey_hfe_dump(CTIME)


def test_expired_fields_are_counted_apart():
    rows = _both(_hfe_dump())
    h = rows["h"]
    # Live: a (no TTL) and c (TTL ahead): HLEN after the load is 2.
    assert (h["length"], h["hash_fields_with_ttl"], h["hash_fields_expired"]) == (2, 1, 2)
    # Expired entries as the writing server held them:
    #   b: field type 8 with its expiry 3+1+1 + 8 = 13, value 3+1+1: J(18) = 24
    #   d: 13 + 3+100+1 = 117 <= 128, one allocation: J(117) = 128
    assert h["hash_expired_bytes"] == 24 + 128
    # What the loader holds: robj + key J(16+1+(1+1+1)) = 24; table 80 + metadata 8 +
    # one bucket (pre-sized for the 4 stored fields: ceil(4*5/32) = 1) 64;
    # a: J((1+1+1)+(3+1+1)) = 8; c: J(13+5) = 24; a volatile set of one entry costs nothing.
    assert h["memory_bytes"] == 24 + 80 + 8 + 64 + 8 + 24
    assert h["encoding"] == "hashtable" and h["max_element_bytes"] == 1
    # Every field expired: the loader drops the key (RDB_LOAD_ERR_ALL_ITEMS_EXPIRED).
    gone = rows["gone"]
    assert (gone["length"], gone["hash_fields_expired"], gone["memory_bytes"]) == (0, 2, 0)
    assert gone["hash_expired_bytes"] == 2 * 24
    # An expiry equal to the snapshot's time has not passed.
    assert (rows["edge"]["length"], rows["edge"]["hash_fields_expired"]) == (1, 0)
    # A plain hash (type 4) is not a field-TTL hash: the columns stay null.
    p = rows["persisted"]
    assert p["hash_fields_expired"] is None and p["hash_expired_bytes"] is None


def test_without_a_snapshot_time_nothing_has_expired():
    data = Dump().aux("valkey-ver", "9.1.0").select(0).hash_2("h", [("a", "1", 5), ("b", "2", -1)]).bytes()
    h = _both(data)["h"]
    assert (h["length"], h["hash_fields_with_ttl"], h["hash_fields_expired"]) == (2, 1, 0)


def test_a_hash_left_without_ttls_reloads_as_listpack():
    # HPERSIST leaves a hashtable that Valkey saves as plain type 4; the loader
    # builds a listpack: header 6 + end 1 + entries "f1","v1" (1+2, back-length 1)
    # and "12" (an integer: 1 byte + 1) -> 6+1 + 4+4+4+2 = 21; J(21) = 24,
    # robj with the 9-byte key J(16+1+(1+9+1)) = 32.
    p = _both(_hfe_dump())["persisted"]
    assert (p["encoding"], p["memory_bytes"]) == ("listpack", 24 + 32)


def test_fixture_hash_fields_expired_are_zero():
    # The hand-made fixture's TTLs all lie after its snapshot.
    truth = load_truth("valkey-unstable-hfe")
    for r in rdbscan.read_table(dump_path("valkey-unstable-hfe")).to_pylist():
        t = truth[(r["db"], r["key"].encode())]
        if r["rdb_type"] == 22:
            assert r["hash_fields_expired"] == 0 and r["hash_expired_bytes"] == 0
            assert r["length"] == t["length"]
            assert r["hash_fields_with_ttl"] == sum(v is not None for v in t["hfe_field_expire_ms"].values())
        else:
            assert r["hash_fields_expired"] is None


# ---- RDB 81 (Valkey 9.2) ------------------------------------------------------------------------

def _dump_81():
    return valkey_81_dump(CTIME)


def test_rdb_81_path_hash_update_and_slot_import():
    data = _dump_81()
    rows = _both(data)
    ph = rows["ph"]
    assert (ph["type"], ph["rdb_type"], ph["length"], ph["encoding"]) == ("path-hash", 23, 2, "unknown")
    assert ph["memory_bytes"] is None         # no layout of a path hash read from the sources
    assert ph["max_element_bytes"] == 4
    # type byte + paths count + ("" + 1 field: w1 gpu0) + ("/a/b" + 2 fields)
    assert ph["serialized_bytes"] == 1 + 1 + (1 + 1 + 3 + 5) + (5 + 1 + 3 + 2 + 3 + 3)
    assert rows["s"]["encoding"] == "embstr"
    meta = rdbscan.info(io.BytesIO(data))
    assert meta["rdb_version"] == 81 and meta["crc"] == "ok"
    assert meta["update_commands"] == 1
    assert any("UPDATE" in note for note in meta["notes"])
    assert meta["slot_imports"] == [{"job": "j" * 40, "ranges": [[0, 99], [500, 500]]}]
    assert not any("newer than" in note for note in meta["notes"])


def _error(data):
    with pytest.raises(rdbscan.RDBFormatError) as e:
        rdbscan.read_table(io.BytesIO(data))
    with pytest.raises(rdbscan.RDBFormatError) as p:
        rdbscan.read_table(io.BytesIO(data), pure=True)
    assert (str(e.value), e.value.offset) == (str(p.value), p.value.offset)
    return e.value


@pytest.mark.parametrize("magic,record,message,at", [
    # type 24 is nothing in Valkey 9.2: one line, its offset
    ("VALKEY081", bytes([24]) + b"\x01k\x00", "unknown value type or opcode 24 for Valkey RDB version 81", 0),
    # type 23 and opcode 242 only exist from RDB 81
    ("VALKEY080", bytes([23]) + b"\x01k\x00", "unknown value type 23 (path_hash) for Valkey RDB version 80", 0),
    ("VALKEY080", b"\xf2*1\r\n$1\r\nx\r\n", "unknown opcode 242 (HASH_TEMPLATE/UPDATE) for Valkey RDB version 80",
     0),
    # a path without fields is refused by the loader (at its field count)
    ("VALKEY081", bytes([23]) + b"\x01k\x01\x01p\x00", "path hash: a path with no fields", 6),
    ("VALKEY081", b"\xf2*1\r\n$x\r\n", "UPDATE opcode: malformed RESP length", 0),
    ("VALKEY081", b"\xf2+OK\r\n", "UPDATE opcode: expected a RESP '*' header", 0),
])
def test_rdb_81_errors_are_one_clear_line(magic, record, message, at):
    head = Dump(magic).aux("valkey-ver", "9.2.0").select(0).bytes()[:-9]
    data = head + record + b"\xff" + bytes(8)
    e = _error(data)
    assert message in str(e)
    assert e.offset == len(head) + at


def test_rdb_81_unknown_type_on_the_command_line(tmp_path):
    head = Dump("VALKEY081").aux("valkey-ver", "9.2.0").select(0).bytes()[:-9]
    path = tmp_path / "dump.rdb"
    path.write_bytes(head + bytes([30]) + b"\x01k\x00\xff" + bytes(8))
    out = subprocess.run([sys.executable, "-m", "rdbscan", "scan", str(path), "-o", str(tmp_path / "o.parquet")],
                         capture_output=True, text=True)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown value type or opcode 30 for Valkey RDB version 81" in lines[0]
    assert f"byte {len(head)}" in lines[0]
    assert not (tmp_path / "o.parquet").exists()


def test_rdb_81_cut_anywhere_twins_agree():
    from test_twins import CScanner, PyScanner, _run
    data = _dump_81()
    for cut in range(9, len(data)):
        assert _run(CScanner, data[:cut]) == _run(PyScanner, data[:cut]), cut


# ---- the 8.1 / 9.0 / 9.1 layouts, by hand from their sources --------------------------------------

def test_layouts_by_hand_on_the_unstable_dump():
    """The same data as 8.1, 9.0 and 9.1 would hold it (9.1 = the fixture's server, checked by truth)."""
    rows = {t: {r["key"]: r for r in rdbscan.read_table(dump_path("valkey-unstable"), target=t).to_pylist()}
            for t in ("valkey-8.1", "valkey-9.0", "valkey-9.1")}
    truth = {t["key"]: t for t in load_truth("valkey-unstable").values()}

    def got(target, key):
        r = rows[target][key]
        return r["encoding"], r["memory_bytes"]

    # str:len44 (9-byte key, 44-byte value, no TTL):
    #   9.1: 8 + (1 + 1+9+1) + (3+44+1) = 68 <= 128: embstr J(68) = 80
    #   9.0: 16 + (1 + 1+9+1) + 48 = 76 > 64: raw, robj J(16+1+11) = 32 + sds J(48) = 48
    #   8.1: decides with 16 + (9+3) + (44+4) = 76 > 64: raw, the same 80
    assert got("valkey-9.1", "str:len44") == ("embstr", 80) == (truth["str:len44"]["encoding"],
                                                               truth["str:len44"]["memory_usage"])
    assert got("valkey-9.0", "str:len44") == got("valkey-8.1", "str:len44") == ("raw", 80)
    # hash:longvalue (4 fields): the hashtable struct is 72 before 9.1 (80 after, a
    # safe-iterator list), and 9.0 adds the hash's 8-byte volatile-set pointer.
    assert got("valkey-9.1", "hash:longvalue")[1] == truth["hash:longvalue"]["memory_usage"] == 552
    assert got("valkey-9.0", "hash:longvalue")[1] == 552 - 8
    assert got("valkey-8.1", "hash:longvalue")[1] == 552 - 16
    # A listpack hash: robj with the key plus the listpack, alike in all three.
    assert got("valkey-8.1", "user:117:profile") == got("valkey-9.1", "user:117:profile") == ("listpack", 200)
    # A sorted set of 300: 9.1 embeds each element in its node (16 + 16 per level + 1 + sds)
    # and the header in the 528-byte zskiplist; 8.1/9.0 keep a 24 + 16-per-level node, the
    # element's own sds, a 32-byte zskiplist and a separate 32-level header node J(536) = 640.
    r91, r90 = rows["valkey-9.1"]["leaderboard:global"], rows["valkey-9.0"]["leaderboard:global"]
    assert r90["memory_bytes"] - r91["memory_bytes"] > 300 * 4       # a separate sds per element
    assert abs(r91["memory_bytes"] - truth["leaderboard:global"]["memory_usage"]) <= \
        0.08 * truth["leaderboard:global"]["memory_usage"]


# ---- tables grown by inserts while loading --------------------------------------------------------

# MEMORY USAGE SAMPLES 0 after loading valkey_grown_dump(GROWN_CTIME) into a valkey-server built
# from 9cd063ee (default config), five times: the hash seed is random per run, so the child
# buckets of overfull chains differ from run to run; the model gives their expectation.
GROWN_CTIME = 1796100112
GROWN_MEASURED = {
    "mid:121:60": [5416, 5352, 5416, 5352, 5544],
    "mid:200:100": [5976, 5912, 6104, 5848, 6104],
    "mid:40:13": [1432, 1368, 1432, 1368, 1496],
    "mid:7:3": [392, 392, 392, 392, 392],
    "vs:130": [7520, 7456, 7520, 7520, 7520],
    "vs:ms": [15032, 15096, 14840, 15096, 15032],
    "vs:same": [10320, 10256, 10448, 10064, 10384],
    "vs:spread": [16640, 16576, 16768, 16512, 16768],
    "vs:week": [100248, 99800, 100120, 99736, 100376],
}


def test_grown_tables_against_a_real_server():
    rows = _both(valkey_grown_dump(GROWN_CTIME))
    for key, runs in GROWN_MEASURED.items():
        got = rows[key]["memory_bytes"]
        assert min(runs) - 64 <= got <= max(runs) + 64, (key, got)
    # Nothing random in one bucket: 7 pairs, the long value 4th.  The listpack (3 pairs) becomes
    # a table expanded for 3 (1 bucket), nothing is asked for the 3 to come (fewer than held).
    assert rows["mid:7:3"]["memory_bytes"] == GROWN_MEASURED["mid:7:3"][0]
    # The expired field is neither in the table's entries nor in the volatile set.
    assert rows["vs:130"]["hash_fields_with_ttl"] == 130 and rows["vs:130"]["hash_fields_expired"] == 1


def test_a_plain_hash_that_starts_as_a_listpack():
    from rdbscan.model.valkey import expected_children, loaded_hash_buckets
    # 7 pairs, long value 4th: 1 bucket (pre-sized for 7 it would be 2).
    assert loaded_hash_buckets(7, 3) == 1
    # 121 pairs, long value 61st: expanded for 60 (16 buckets), full at 112, resized to 32;
    # the 9 inserts after move 8 of the 16 old buckets, so both tables are still there.
    children = expected_children(112, 16) * 0.5 + expected_children(121 - 56.0, 32)
    assert loaded_hash_buckets(121, 60) == 16 + 32 + round(children)
    # Long value first: expanded for 0 (1 bucket), then for the 120 to come.
    assert loaded_hash_buckets(121, 0) == 32 + round(expected_children(121, 32))


def test_volatile_set_past_one_vector():
    from rdbscan.model.valkey import expected_children, vset_bytes
    from rdbscan.scanner._common import RaxSizer
    base = 1_900_000_000_000 & ~8191

    def tree(ends):
        t = RaxSizer()
        for end in sorted(ends):
            t.add(end.to_bytes(8, "big"))
        return t.bytes()

    # Up to 127: one vector of pointers.
    assert vset_bytes([base] * 127, False, 80) == J(8 + 8 * 127)
    # Each in its own 8,192 ms window: single-entry buckets, only the tree.
    spread = [base + 8192 * i for i in range(130)]
    assert vset_bytes(spread, False, 80) == tree(e + 8192 for e in spread)
    # All in one ms: the 128th turns the full vector into a hashtable of pointers (grown
    # by inserts: 32 buckets at 200), in one bucket ending at the window's 16 ms end.
    table = 80 + 64 * (32 + round(expected_children(200, 32)))
    assert vset_bytes([base + 5] * 200, False, 80) == tree([base + 16]) + table
    # 1 ms apart: full vectors split where their 16 ms windows change.
    ms = vset_bytes([base + i for i in range(300)], False, 80)
    assert tree([base + 8192]) < ms < J(8 + 8 * 300) + 2048


def test_valkey_81_has_no_field_ttls():
    # A 9.x hash with field TTLs, as 8.1 (which has none) would hold the same data:
    # a listpack while small, no expiry in its entries.
    rows = {r["key"]: r for r in rdbscan.read_table(dump_path("valkey-unstable-hfe"),
                                                     target="valkey-8.1").to_pylist()}
    assert rows["hfe:mixed"]["encoding"] == "listpack"
    nine = {r["key"]: r for r in rdbscan.read_table(dump_path("valkey-unstable-hfe"),
                                                     target="valkey-9.0").to_pylist()}
    assert nine["hfe:mixed"]["encoding"] == "hashtable"


def test_version_picks_the_layout():
    from rdbscan.model.memory import layout_for
    for version, release in (("255.255.255", (9, 1)), ("9.1.0", (9, 1)), ("9.2.0", (9, 1)),
                             ("9.0.4", (9, 0)), ("8.1.7", (8, 1))):
        meta = {"aux": {"valkey-ver": version}, "flavor": "valkey", "rdb_version": 80}
        assert layout_for(profile_from_meta(meta)).valkey.release == release, version
    assert layout_for(profile_from_meta({"aux": {"redis-ver": "7.2.4"}})).valkey is None


# ---- both twins under every Valkey layout --------------------------------------------------------

pytest.importorskip("rdbscan.scanner._scanner", reason="compiled scanner not built")
from rdbscan.scanner._scanner import Scanner as CScanner  # noqa: E402
from rdbscan.scanner.pyscanner import Scanner as PyScanner  # noqa: E402

VALKEY_TARGETS = ["valkey-8.1", "valkey-9.0", "valkey-9.1"]


def _sized(cls, data, profile_for):
    sc = cls(io.BytesIO(data), 1 << 20, True)
    sc.preamble()
    sc.set_sizing(*sizing_tables(profile_for(sc.meta)))
    return sc, sc.next_batch()


@pytest.mark.parametrize("name", [n for n in FIXTURE_NAMES if not n.startswith("redis-2")])
@pytest.mark.parametrize("target", VALKEY_TARGETS)
def test_twins_and_model_agree_under_valkey_layouts(name, target):
    from rdbscan.scanner.records import build_batch
    data = dump_path(name).read_bytes()
    out = []
    for cls in (CScanner, PyScanner):
        sc, (n, cols) = _sized(cls, data, lambda meta: profile_from_meta(meta, server=target))
        out.append((n, cols["mem_elements"], cols["mem_values"], cols["mem_blobs"], cols["blob_bytes"]))
    assert out[0] == out[1]
    for allocator in ("jemalloc", "jemalloc-16"):
        sc, (n, cols) = _sized(CScanner, data, lambda meta: profile_from_meta(meta, server=target,
                                                                            allocator=allocator))
        profile = profile_from_meta(sc.meta, server=target, allocator=allocator)
        compiled = build_batch(n, cols, sc.module_names, profile)
        reference = build_batch(n, cols, sc.module_names, profile, compiled_model=False)
        assert compiled.equals(reference)


@pytest.mark.parametrize("target", [None] + VALKEY_TARGETS + ["7.4", "8.0"])
def test_hand_built_dumps_twins_and_model_agree(target):
    for data in (_hfe_dump(), _dump_81(), valkey_grown_dump(CTIME)):
        _both(data, target=target)


# ---- slot info ------------------------------------------------------------------------------------

def _cluster_dump(slot_info):
    d = Dump().aux("valkey-ver", "9.1.0").aux("ctime", CTIME).select(0)
    for info in slot_info:
        d.aux("slot-info", info)
    # "a" hashes to slot 15495, "b" to 3300 (CRC16 mod 16384)
    return (d.string_key("a", "1").hash_2("b", [("f", "v", FUTURE)], expire_ms=FUTURE).bytes())


def test_slot_info_matching_the_keys():
    meta = rdbscan.info(io.BytesIO(_cluster_dump(["15495,1,0,0", "3300,1,1,1"])))
    assert meta["slot_info"] == [[15495, 1, 0, 0], [3300, 1, 1, 1]]
    assert meta["slot_info_check"]["slots_mismatched"] == 0
    assert not any("warning" in n for n in meta["notes"])


def test_slot_info_mismatch_is_a_warning_not_a_failure(tmp_path):
    path = tmp_path / "dump.rdb"
    path.write_bytes(_cluster_dump(["15495,2,0", "3300,1,0,0"]))
    meta = rdbscan.info(path)
    check = meta["slot_info_check"]
    assert check["slots_mismatched"] == 2
    assert {e["slot"] for e in check["examples"]} == {15495, 3300}
    assert any(n.startswith("warning: the slot info disagrees") for n in meta["notes"])
    out = subprocess.run([sys.executable, "-m", "rdbscan", "info", str(path)], capture_output=True, text=True)
    assert out.returncode == 0
    assert "WARNING: disagrees with the keys in 2 slots" in out.stdout
    out = subprocess.run([sys.executable, "-m", "rdbscan", "info", str(path), "--json"], capture_output=True,
                         text=True)
    assert json.loads(out.stdout)["slot_info_check"]["slots_mismatched"] == 2


# ---- reports: already-expired fields, slot info ----------------------------------------------------

def _report(path, *sections, cache_dir, **kw):
    from rdbscan.analysis import dataset, reports
    from rdbscan.render.formats import as_json_document
    with dataset.open_dataset([path], cache_dir=cache_dir, **kw) as ds:
        doc = as_json_document(reports.run(ds, list(sections)), ds.files)
    return {name: sec["tables"] for name, sec in doc["sections"].items()}, doc


def test_reports_say_how_much_memory_is_expired_fields(tmp_path):
    path = tmp_path / "hfe.rdb"
    path.write_bytes(_hfe_dump())
    tables, doc = _report(path, "summary", "nottl", "ttl", cache_dir=tmp_path / "cache")
    ttl = tables["ttl"]["expired_fields"][0]
    # h: b and d (24 + 128 bytes); gone: e and f (24 each), left empty
    assert (ttl["hashes"], ttl["hashes_left_empty"], ttl["expired_fields"], ttl["expired_field_bytes"]) == \
        (2, 1, 4, 200)
    rows = _rows(_hfe_dump())
    held = sum(r["memory_bytes"] for r in rows.values())
    assert ttl["share_of_memory_held"] == pytest.approx(200 / (held + 200), abs=1e-4)
    assert [(r["key"], r["expired_fields"], r["expired_field_bytes"], r["fields_left"])
            for r in tables["ttl"]["expired_field_hashes"]] == [("h", 2, 152, 2), ("gone", 2, 48, 0)]
    # No key has a TTL of its own: all of it is in the keys without TTL.
    nottl = tables["nottl"]["totals"][0]
    assert (nottl["expired_fields"], nottl["expired_field_bytes"]) == (4, 200)
    overview = tables["summary"]["overview"][0]
    assert (overview["expired_hash_fields"], overview["expired_field_bytes"]) == (4, 200)
    import jsonschema
    from importlib import resources
    schema = json.loads(resources.files("rdbscan.analysis.reports").joinpath("report.schema.json").read_text())
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)


def test_reports_over_a_scan_without_the_new_columns(tmp_path):
    # A Parquet scan written before these columns existed reads them as null.
    import pyarrow.parquet as pq
    path = tmp_path / "old.parquet"
    rdbscan.scan(dump_path("valkey-unstable-hfe"), path)
    metadata = pq.read_metadata(path).metadata
    old = pq.read_table(path).drop_columns(["hash_fields_expired", "hash_expired_bytes"])
    pq.write_table(old.replace_schema_metadata(metadata), path)
    tables, _ = _report(path, "ttl", "nottl", cache_dir=tmp_path / "cache")
    assert tables["ttl"]["expired_fields"][0]["expired_fields"] == 0
    assert tables["nottl"]["totals"][0]["expired_field_bytes"] == 0


def test_slots_report_holds_slot_info_against_the_keys(tmp_path):
    good = tmp_path / "good.rdb"
    good.write_bytes(_cluster_dump(["15495,1,0,0", "3300,1,1,1"]))
    tables, _ = _report(good, "slots", cache_dir=tmp_path / "c1")
    info = tables["slots"]["slot_info"][0]
    assert (info["slots_declared"], info["keys_declared"], info["keys_found"], info["slots_mismatched"]) == \
        (2, 2, 2, 0)
    assert info["keys_with_volatile_items_found"] == 1
    bad = tmp_path / "bad.rdb"
    bad.write_bytes(_cluster_dump(["15495,2,0", "3300,1,0,0"]))
    tables, doc = _report(bad, "slots", cache_dir=tmp_path / "c2")
    assert tables["slots"]["slot_info"][0]["slots_mismatched"] == 2
    assert [r["slot"] for r in tables["slots"]["slot_info_mismatches"]] == [15495, 3300]
    assert any("disagrees" in n for n in doc["sections"]["slots"]["notes"])
    # A dump without slot info: the tables are empty.
    tables, _ = _report(dump_path("valkey-unstable"), "slots", cache_dir=tmp_path / "c3")
    assert tables["slots"]["slot_info"] == [] and tables["slots"]["slot_info_mismatches"] == []


# ---- Valkey 9.2's compressed-stream envelope ------------------------------------------------------

def _vkcs(data, version=1, codec=1, kind=0):
    import lz4.frame
    return b"VKCS" + bytes([version, codec, 1, kind]) + lz4.frame.compress(data, block_checksum=True)


def test_vkcs_envelope_reads_as_the_plain_dump(tmp_path):
    path = tmp_path / "dump.rdb"
    path.write_bytes(_vkcs(dump_path("valkey-unstable").read_bytes()))
    wrapped = rdbscan.read_table(path)
    plain = rdbscan.read_table(dump_path("valkey-unstable"))
    assert wrapped.to_pylist() == plain.to_pylist()
    meta = rdbscan.info(path)
    assert meta["compression"] == "vkcs-lz4" and meta["crc"] == "ok"


@pytest.mark.parametrize("envelope,message", [
    (dict(codec=2), "codec 2: only LZ4 (1) is known"),
    (dict(version=2), "of version 2"),
    (dict(kind=1), "stream kind 1"),
])
def test_vkcs_envelope_errors(tmp_path, envelope, message):
    path = tmp_path / "dump.rdb"
    path.write_bytes(_vkcs(_dump_81(), **envelope))
    out = subprocess.run([sys.executable, "-m", "rdbscan", "scan", str(path), "-o", str(tmp_path / "o.parquet")],
                         capture_output=True, text=True)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(path) in lines[0], lines
