"""The test dumps of other RDB tools, and those tools' expected outputs.

The dumps (librdb, redis-rdb-tools, HDT3213/rdb, Rediscope) are read from
``conftest.THIRD_PARTY`` and never copied into this repository; every test
here is skipped, with the reason, when that folder is absent.  Checked:

* every dump parses, except three deliberately broken or unusual ones, which
  fail with one clear line naming the file and the byte;
* each dump's rows are consistent with themselves and the file;
* where another tool's expected-output file states key names, db numbers,
  types, expiries, element counts, serialized sizes or file-level facts,
  rdbscan agrees.  Those files are the other tool's answer, not ground truth
  from a server: only what they state unambiguously is compared.
"""

import collections
import csv
import datetime
import functools
import json
import re

import pytest

import rdbscan
from conftest import THIRD_PARTY, key_bytes_of, reference_slot, requires_third_party, third_party_dumps

pytestmark = requires_third_party

LIBRDB = "redis-librdb/test/dumps/"
HDT = "HDT3213-rdb/cases/"
REDISCOPE = "KeshavJha2002-Rediscope/test/testdata/"
# Dumps per folder: redis-rdb-tools, librdb, HDT3213/rdb, Rediscope (its two REDIS0015 dumps).
DUMP_COUNTS = (28, 43, 41, 2)
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

CHECKSUM_BAD = LIBRDB + "invalid_chksum_v8.rdb"
FUTURE_VERSION = LIBRDB + "future_v19.rdb"
ENTERPRISE_OPCODE = LIBRDB + "redis_ent_opcode_ram_lru.rdb"
BROKEN = {CHECKSUM_BAD, FUTURE_VERSION, ENTERPRISE_OPCODE}

# librdb: dump -> [(expected file, level, types it covers or None for all)].
# Levels are librdb's JSON output levels as its tests/test_*.c use them:
# "data" (values decoded), "struct" (encoded nodes), "raw" (the DUMP payload:
# type byte + value), "loaded" (the JSON of what a Redis server kept after
# loading the dump, test_rdb_to_redis.c: expired keys are gone).
_DSR = ("data", "struct", "raw")
LIBRDB_EXPECTED = {
    "ziplist_v3.rdb": [(f"ziplist_{lv}.json", lv, None) for lv in _DSR],
    "plain_list_v6.rdb": [("plain_list_v6_data.json", "data", None), ("plain_list_v6_raw.json", "raw", None)],
    "hash_v3.rdb": [(f"hash_{lv}.json", lv, None) for lv in _DSR],
    "hash_with_expire_v12.rdb": [("hash_ex_v12_data.json", "data", None)],
    "hash_zl_v6.rdb": [(f"hash_zl_v6_{lv}.json", lv, None) for lv in _DSR],
    "hash_lp_v11.rdb": [(f"hash_lp_v11_{lv}.json", lv, None) for lv in _DSR],
    "hash_lp_with_hexpire_v12.rdb": [("hash_lp_ex_v12_data.json", "data", None)],
    "hash_zm_v2.rdb": [(f"hash_zm_v2_{lv}.json", lv, None) for lv in _DSR],
    "plain_set_v6.rdb": [(f"plain_set_v6_{lv}.json", lv, None) for lv in _DSR],
    # librdb's own tests write set_*_v11_raw.json at the struct level (test_rdb_to_json.c)
    "set_is_v11.rdb": [("set_is_v11_data.json", "data", None), ("set_is_v11_struct.json", "struct", None),
                       ("set_is_v11_raw.json", "struct", None)],
    "set_lp_v11.rdb": [("set_lp_v11_data.json", "data", None), ("set_lp_v11_struct.json", "struct", None),
                       ("set_lp_v11_raw.json", "struct", None)],
    "plain_zset_v6.rdb": [(f"plain_zset_v6_{lv}.json", lv, None) for lv in _DSR],
    "plain_zset_2_v11.rdb": [(f"plain_zset_2_v11_{lv}.json", lv, None) for lv in _DSR],
    "zset_lp_v11.rdb": [(f"zset_lp_v11_{lv}.json", lv, None) for lv in _DSR],
    "zset_zl_v6.rdb": [(f"zset_zl_v6_{lv}.json", lv, None) for lv in _DSR],
    "quicklist.rdb": [(f"quicklist_{lv}.json", lv, None) for lv in _DSR],
    "quicklist2_v11.rdb": [(f"single_list_{lv}.json", lv, None) for lv in _DSR],
    "single_key.rdb": [(f"single_key_{lv}.json", lv, None) for lv in _DSR],
    "multiple_lists_strings.rdb": [(f"multiple_lists_strings_{lv}.json", lv, None) for lv in _DSR] + [
        ("multiple_lists_strings_no_aux.json", "data", None),            # rdb-cli json -f
        ("multiple_lists_strings_subset_list.json", "data", {"list"}),   # lists handled at data level
        ("multiple_lists_strings_subset_str.json", "raw", {"string"}),   # strings handled at raw level
    ],
    "multiple_dbs.rdb": [("multiple_dbs_data.json", "data", None)],     # not flattened: one object per db
    "function2.rdb": [("function2.json", "data", None)],
    "module.rdb": [("module_data.json", "data", None), ("module_raw.json", "raw", None)],
    "module_aux.rdb": [("module_aux_data.json", "data", None)],
    "string_int_encoded.rdb": [("string_int_encoded.json", "data", None)],
    "stream_v11.rdb": [("stream_data.json", "data", None), ("stream_data_with_meta.json", "data", None)],
    "cluster_slot_info.rdb": [("cluster_slot_info.json", "data", None)],
    "mem_policy_lfu.rdb": [("mem_policy_lfu.json", "loaded", None)],
    "mem_policy_lru.rdb": [("mem_policy_lru.json", "loaded", None)],
    "set_expired_v11.rdb": [("set_expired.json", "loaded", None)],
    "set_not_expired_v11.rdb": [("set_not_expired.json", "loaded", None)],
}

# Files that are RESP command streams (AOF conversions, restore streams): file -> (dump, key glob).
RESP_EXPECTED = {
    HDT + "memory.aof": (HDT + "memory.rdb", None),
    HDT + "memory_regex.aof": (HDT + "memory.rdb", "^l"),
    HDT + "hash_with_hfe.aof": (HDT + "hash_with_hfe.rdb", None),
    HDT + "hash_as_listpack_with_hfe.aof": (HDT + "hash_as_listpack_with_hfe.rdb", None),
    HDT + "valkey_hash2_with_hfe.aof": (HDT + "valkey_hash2_with_hfe.rdb", None),
    LIBRDB + "stream_v11_target_ver_6.2.resp": (LIBRDB + "stream_v11.rdb", None),
    LIBRDB + "stream_v11_target_ver_7.2.resp": (LIBRDB + "stream_v11.rdb", None),
}

# HDT3213 CSV reports (helper/*_test.go): file -> (dump, which keys it lists).
#   "all": every key; "^l": keys matching that regex; "unexpired": run with
#   -no-expired; "top": the N biggest by HDT's own size estimate; "prefix":
#   key counts per key prefix.
HDT_CSV_EXPECTED = {
    "memory.csv": ("memory.rdb", "all"),
    "stream_listpacks_1.csv": ("stream_listpacks_1.rdb", "all"),
    "stream_listpacks_2.csv": ("stream_listpacks_2.rdb", "all"),
    "set_listpack.csv": ("set_listpack.rdb", "all"),
    "listpack.csv": ("listpack.rdb", "all"),
    "memory_regex.csv": ("memory.rdb", "^l"),
    "memory_expired.csv": ("memory.rdb", "unexpired"),
    "largest.csv": ("memory.rdb", "top"),
    "memory_regex.biggest.csv": ("memory.rdb", "top"),
    "tree.csv": ("tree.rdb", "prefix"),
    "tree2.csv": ("tree.rdb", "prefix"),
}

# Expected-output files deliberately not compared, with the reason.
NOT_COMPARED = {
    LIBRDB + "multiple_lists_strings_2filters.json": "no librdb test uses it; the filters that made it are unknown",
    LIBRDB + "plain_hash_data.json": "no librdb test uses it, so which dump it describes is not stated",
    LIBRDB + "plain_hash_struct.json": "no librdb test uses it, so which dump it describes is not stated",
    "HDT3213-rdb/tree.csv": "a README example of a dump that is not included",
}

# HDT3213 names the RDB type byte it decoded (core/decoder.go encodingMap).
HDT_ENCODING_RDB_TYPES = {
    ("string", "string"): {0}, ("list", "list"): {1}, ("set", "set"): {2}, ("zset", "zset"): {3},
    ("hash", "hash"): {4}, ("zset", "zset2"): {5}, ("hash", "zipmap"): {9}, ("list", "ziplist"): {10},
    ("set", "intset"): {11}, ("zset", "ziplist"): {12}, ("hash", "ziplist"): {13},
    ("list", "quicklist"): {14}, ("stream", "listpack"): {15, 19}, ("hash", "listpack"): {16},
    ("zset", "listpack"): {17}, ("list", "quicklist2"): {18}, ("set", "listpack"): {20},
    ("stream", ""): {21}, ("hash", "hashex"): {22, 24}, ("hash", "listpackex"): {23, 25},
}

LIBRDB_MODULE_VALUE = re.compile(r"<Content of Module '(.+)'\. Occupies a serialized size of (\d+) bytes>")


# ---------------------------------------------------------------- helpers

def rel(path):
    """A dump's path relative to the third-party folder, as text (the test id)."""
    return path.relative_to(THIRD_PARTY).as_posix()


@functools.lru_cache(maxsize=None)
def scan(name):
    """Rows (list of dicts) and file facts of third-party dump ``name`` (relative path)."""
    table = rdbscan.read_table(THIRD_PARTY / name)
    return table.to_pylist(), json.loads(table.schema.metadata[b"rdbscan"])


def rows_by_key(name):
    """Rows of dump ``name`` keyed by (db, exact key bytes)."""
    return {(r["db"], key_bytes_of(r)): r for r in scan(name)[0]}


def ms(ts):
    """Milliseconds since the epoch of an aware datetime (None stays None)."""
    return None if ts is None else (ts - EPOCH) // datetime.timedelta(milliseconds=1)


def _crc64_table():
    """Byte table of Redis' CRC64 (Jones polynomial, reflected), built bit by bit."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x95AC9329AC4BC9B5 if crc & 1 else crc >> 1
        table.append(crc)
    return table


CRC64_TABLE = _crc64_table()


def crc64(data):
    """Redis' CRC64 of ``data``, computed independently of rdbscan."""
    crc = 0
    for byte in data:
        crc = CRC64_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


def stored_crc(data):
    """The CRC64 stored in a dump's last 8 bytes (little-endian)."""
    return int.from_bytes(data[-8:], "little")


def check_error_line(err, path):
    """An RDBFormatError's text: one line naming the file and ``byte N`` at its offset."""
    text = str(err)
    assert "\n" not in text
    assert isinstance(err.offset, int) and err.offset >= 0
    assert str(path) in text and f"byte {err.offset}" in text
    assert str(err.path) == str(path)


class JsonObject(list):
    """A JSON object kept as its (name, value) pairs, so repeated names survive."""


def read_librdb_json(path):
    """librdb's JSON output: (file-level entries, [per-db key/value pairs]).

    librdb writes a bare list of ``"name": value`` members (flattened, one
    section for all dbs) or, when not flattened, a JSON array of one object
    per db in file order.  Members named ``__x__`` (``__aux__``,
    ``__dbsize__``, ``__slotinfo__``, ``__func__``) are file-level facts.
    """
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        sections = [JsonObject()]
    elif text.startswith("["):
        sections = json.loads(text, object_pairs_hook=JsonObject)
    else:
        sections = [json.loads("{" + text + "}", object_pairs_hook=JsonObject)]
    facts, keyed = {}, []
    for section in sections:
        keyed.append([])
        for name, value in section:
            if name.startswith("__") and name.endswith("__"):
                facts[name] = value
            else:
                keyed[-1].append((name, value))
    return facts, keyed


def librdb_expectation(value):
    """What a librdb data-level value states: possible types, element count, more.

    Strings are JSON strings (one code point per byte), lists and sets JSON
    arrays, hashes and sorted sets objects (field -> value / member -> score,
    so the two cannot be told apart), streams objects with ``entries``, module
    values a ``<Content of Module ...>`` placeholder with the value's size
    after the type byte.
    """
    if isinstance(value, str):
        m = LIBRDB_MODULE_VALUE.fullmatch(value)
        if m:
            return {"types": {m.group(1)}, "length": None, "serialized_bytes": int(m.group(2)) + 1}
        exact = all(ord(c) < 256 for c in value)
        return {"types": {"string"}, "length": len(value) if exact else None}
    if isinstance(value, list) and not isinstance(value, JsonObject):
        return {"types": {"list", "set"}, "length": len(value)}
    fields = dict(value)
    if isinstance(fields.get("entries"), list):
        out = {"types": {"stream"}, "length": len(fields["entries"])}
        if "length" in fields:
            assert fields["length"] == len(fields["entries"])
        if "groups" in fields:
            groups = [dict(g) for g in fields["groups"]]
            out["stream_groups"] = len(groups)
            out["stream_consumers"] = sum(len(g.get("consumers", [])) for g in groups)
            out["stream_pending"] = sum(len(g.get("pending", [])) for g in groups)
        return out
    return {"types": {"hash", "zset"}, "length": len(value)}


def read_resp_commands(path):
    """The commands of a RESP stream (an AOF file), each a list of bytes arguments."""
    data, i, commands = path.read_bytes(), 0, []
    while i < len(data):
        assert data[i:i + 1] == b"*", f"{path}: not RESP at byte {i}"
        end = data.index(b"\r\n", i)
        count, i, args = int(data[i + 1:end]), end + 2, []
        for _ in range(count):
            assert data[i:i + 1] == b"$", f"{path}: not a bulk string at byte {i}"
            end = data.index(b"\r\n", i)
            size = int(data[i + 1:end])
            args.append(data[end + 2:end + 2 + size])
            i = end + 2 + size + 2
        commands.append(args)
    return commands


def resp_expectations(commands):
    """Per (db, key): the type, element count, expiry and more the commands rebuild.

    Understands what the files hold: SET, RPUSH, SADD, ZADD, HMSET, XADD
    (the value), PEXPIREAT (key expiry, ms), HPEXPIREAT / HPERSIST (fields
    with a TTL), XGROUP CREATE and XCLAIM (stream groups and pending
    entries), XSETID and SELECT.  Anything else fails the test.
    """
    creates = {b"SET": "string", b"RPUSH": "list", b"SADD": "set", b"ZADD": "zset",
               b"HMSET": "hash", b"XADD": "stream"}
    keys, db = {}, 0
    for args in commands:
        cmd = args[0].upper()
        if cmd == b"SELECT":
            db = int(args[1])
            continue
        key = args[2] if cmd == b"XGROUP" else args[1]
        k = keys.setdefault((db, key), {"type": None, "items": [], "expire_ms": None,
                                        "ttl_fields": set(), "groups": 0, "pending": 0})
        if cmd in creates:
            assert k["type"] in (None, creates[cmd]), args[:2]
            k["type"] = creates[cmd]
        if cmd == b"SET":
            k["items"] = [args[2]]
        elif cmd in (b"RPUSH", b"SADD"):
            k["items"] += args[2:]
        elif cmd == b"HMSET":
            k["items"] += args[2::2]                  # field value field value ...
        elif cmd == b"ZADD":
            k["items"] += args[3::2]                  # score member score member ...
        elif cmd == b"XADD":
            k["items"].append(args[2])                # one entry id
        elif cmd == b"PEXPIREAT":
            k["expire_ms"] = int(args[2])
        elif cmd in (b"HPEXPIREAT", b"HPERSIST"):
            at = args.index(b"FIELDS")
            fields = set(args[at + 2:at + 2 + int(args[at + 1])])
            k["ttl_fields"] = k["ttl_fields"] | fields if cmd == b"HPEXPIREAT" else k["ttl_fields"] - fields
        elif cmd == b"XGROUP" and args[1].upper() == b"CREATE":
            k["groups"] += 1
        elif cmd == b"XCLAIM":                        # key group consumer min-idle id... options
            k["pending"] += sum(1 for a in args[5:] if re.fullmatch(rb"\d+-\d+", a))
        elif cmd != b"XSETID":
            raise AssertionError(f"command not understood: {args[:3]}")
    for k in keys.values():
        if k["type"] == "string":
            k["length"] = len(k["items"][0])
        elif k["type"] in ("set", "zset", "hash"):
            k["length"] = len(set(k["items"]))
        else:
            k["length"] = len(k["items"])
    return keys


def hdt_iso_ms(text):
    """Milliseconds since the epoch of an HDT3213 ISO 8601 time with offset."""
    return ms(datetime.datetime.fromisoformat(text))


def keys_matching(name, regex):
    """(db, key bytes) of dump ``name`` whose key matches ``regex`` (None: all keys)."""
    return {k for k in rows_by_key(name) if regex is None or re.match(regex.encode(), k[1])}


# ---------------------------------------------------------------- parse / fail clearly

ALL_DUMPS = third_party_dumps()
PARSING = [p for p in ALL_DUMPS if rel(p) not in BROKEN] or [pytest.param(None, id="no-dumps")]


def test_the_dumps_and_expected_files_are_all_there():
    """The folder holds what its README lists and what the tables below name."""
    names = {rel(p) for p in ALL_DUMPS}
    assert len(names) == sum(DUMP_COUNTS)
    assert {n for n in names if n.startswith(REDISCOPE)} == {REDISCOPE + f for f in REDISCOPE_KEYS}
    assert BROKEN <= names
    wanted = {LIBRDB + rdb for rdb in LIBRDB_EXPECTED}
    wanted |= {LIBRDB + f for files in LIBRDB_EXPECTED.values() for f, _, _ in files}
    wanted |= set(RESP_EXPECTED) | {d for d, _ in RESP_EXPECTED.values()}
    wanted |= {HDT + f for f in HDT_CSV_EXPECTED} | {HDT + d for d, _ in HDT_CSV_EXPECTED.values()}
    wanted |= set(NOT_COMPARED)
    missing = sorted(f for f in wanted if not (THIRD_PARTY / f).is_file())
    assert not missing


def test_every_expected_output_file_is_compared_or_excused():
    """No expected-output file is silently left out."""
    used = {LIBRDB + f for files in LIBRDB_EXPECTED.values() for f, _, _ in files}
    used |= set(RESP_EXPECTED) | {HDT + f for f in HDT_CSV_EXPECTED} | set(NOT_COMPARED)
    used |= {rel(p) for p in (THIRD_PARTY / HDT).glob("*.json")}   # see HDT_JSON below
    found = {rel(p) for ext in ("json", "csv", "aof", "resp") for p in THIRD_PARTY.rglob(f"*.{ext}")}
    assert sorted(found - used) == []


@pytest.mark.parametrize("path", PARSING, ids=lambda p: rel(p) if p else "none")
def test_dump_parses(path):
    """Parses with CRC verification on; rows agree with the per-db counts and the CRC state fits."""
    rows, meta = scan(rel(path))
    per_db = collections.Counter(r["db"] for r in rows)
    assert {int(db): c["keys"] for db, c in meta["dbs"].items()} == dict(per_db)
    assert meta["rows"] == len(rows)
    assert meta.get("partial") is None
    if meta["rdb_version"] < 5:
        assert meta["crc"] == "none before RDB 5"
    else:
        assert meta["crc"] in ("ok", "absent")       # absent: saved with rdbchecksum no (zero CRC)
    if meta["crc"] == "ok":
        data = path.read_bytes()
        assert crc64(data[:-8]) == stored_crc(data)


def test_bad_checksum_fails_clearly_and_parses_unverified():
    """invalid_chksum_v8.rdb: RDBChecksumError at the stored CRC; verify=False reads its 3 keys."""
    path = THIRD_PARTY / CHECKSUM_BAD
    with pytest.raises(rdbscan.RDBChecksumError) as info:
        rdbscan.read_table(path)
    check_error_line(info.value, path)
    data = path.read_bytes()
    assert info.value.offset == len(data) - 8                  # where the stored CRC64 sits
    assert f"{stored_crc(data):016x}" in str(info.value) and f"{crc64(data[:-8]):016x}" in str(info.value)
    table = rdbscan.read_table(path, verify=False)
    assert table.num_rows == 3
    assert json.loads(table.schema.metadata[b"rdbscan"])["crc"] == "not verified"


def test_future_version_fails_checksum_and_parses_unverified_with_a_note():
    """REDIS0099: its version was edited, so its CRC no longer matches."""
    path = THIRD_PARTY / FUTURE_VERSION
    data = path.read_bytes()
    assert data[:9] == b"REDIS0099"
    assert crc64(b"REDIS0011" + data[9:-8]) == stored_crc(data)  # it was saved as RDB 11
    with pytest.raises(rdbscan.RDBChecksumError) as info:
        rdbscan.read_table(path)
    check_error_line(info.value, path)
    assert rdbscan.read_table(path, verify=False).column("key").to_pylist() == ["xxx"]
    facts = rdbscan.info(path, verify=False)
    assert facts["rdb_version"] == 99
    assert any("99" in note and "newer" in note for note in facts["notes"]), facts["notes"]


def test_enterprise_opcode_fails_naming_opcode_and_offset():
    """Redis Enterprise's private opcode 107: a plain RDBFormatError at that very byte."""
    path = THIRD_PARTY / ENTERPRISE_OPCODE
    with pytest.raises(rdbscan.RDBFormatError) as info:
        rdbscan.read_table(path)
    err = info.value
    assert not isinstance(err, (rdbscan.RDBChecksumError, rdbscan.RDBTruncatedError))
    check_error_line(err, path)
    assert re.search(r"\b107\b", str(err))
    assert path.read_bytes()[err.offset] == 107


# ---------------------------------------------------------------- consistency

@pytest.mark.parametrize("path", PARSING, ids=lambda p: rel(p) if p else "none")
def test_rows_are_consistent(path):
    """Unique keys per db, key text vs bytes, string sizes, offsets inside the file, slots."""
    rows, _ = scan(rel(path))
    keys = [(r["db"], key_bytes_of(r)) for r in rows]
    assert len(keys) == len(set(keys)), "a key appears twice in one db"
    size = path.stat().st_size
    offsets = [r["offset"] for r in rows]
    assert offsets == sorted(set(offsets))
    for r in rows:
        if r["key_bytes"] is not None:
            assert r["key"] == r["key_bytes"].decode("utf-8", "backslashreplace")
        assert r["serialized_bytes"] >= 2, r["key"]            # type byte plus at least one more
        assert r["offset"] + r["serialized_bytes"] <= size, r["key"]
        assert r["slot"] == reference_slot(key_bytes_of(r)), r["key"]
        if r["type"] == "string":
            assert r["max_element_bytes"] == r["length"], r["key"]
        if r["rdb_type"] in (6, 7):
            assert r["length"] is None
        else:
            assert r["length"] is not None and r["length"] >= 0, r["key"]
        if r["type"] != "stream":
            assert r["stream_groups"] is None, r["key"]


# ---------------------------------------------------------------- librdb

LIBRDB_CASES = [pytest.param(rdb, f, level, types, id=f)
                for rdb, files in LIBRDB_EXPECTED.items() for f, level, types in files]
LIBRDB_DATA = [c for c in LIBRDB_CASES if c.values[2] == "data"]


def _librdb(rdb, expected):
    """Rows of a librdb dump and its expected file's (facts, per-db sections)."""
    rows, meta = scan(LIBRDB + rdb)
    return rows, meta, *read_librdb_json(THIRD_PARTY / LIBRDB / expected)


@pytest.mark.parametrize("rdb,expected,level,types", [c for c in LIBRDB_CASES if c.values[2] != "loaded"])
def test_librdb_key_names(rdb, expected, level, types):
    """The keys (and, when not flattened, their db in file order) are the same."""
    rows, _, _, sections = _librdb(rdb, expected)
    rows = [r for r in rows if types is None or r["type"] in types]
    if len(sections) == 1:
        got = collections.Counter(key_bytes_of(r) for r in rows)
        assert got == collections.Counter(name.encode() for name, _ in sections[0])
    else:
        dbs = list(dict.fromkeys(r["db"] for r in sorted(rows, key=lambda r: r["offset"])))
        assert len(dbs) == len(sections)
        for db, section in zip(dbs, sections):
            assert sorted(key_bytes_of(r) for r in rows if r["db"] == db) == \
                sorted(name.encode() for name, _ in section)


@pytest.mark.parametrize("rdb,expected,level,types", LIBRDB_DATA)
def test_librdb_types_and_counts(rdb, expected, level, types):
    """Type (as far as the JSON shape tells), element count, module size, stream groups."""
    rows, _, _, sections = _librdb(rdb, expected)
    by_name = collections.defaultdict(list)
    for r in rows:
        by_name[key_bytes_of(r)].append(r)
    compared = 0
    for section in sections:
        for name, value in section:
            want = librdb_expectation(value)
            same = [r for r in by_name[name.encode()] if str(r["type"]) in want["types"]]
            assert len(same) == 1, (name, want["types"], [str(r["type"]) for r in by_name[name.encode()]])
            r = same[0]
            for column in ("length", "serialized_bytes", "stream_groups", "stream_consumers", "stream_pending"):
                if want.get(column) is not None:
                    assert r[column] == want[column], (name, column)
                    compared += 1
    assert compared or not any(sections)


@pytest.mark.parametrize("rdb,expected,level,types", [c for c in LIBRDB_CASES if c.values[2] == "raw"])
def test_librdb_raw_payload_is_type_byte_and_serialized_size(rdb, expected, level, types):
    """A raw-level string is the DUMP payload: its first byte is rdb_type, its length serialized_bytes."""
    rows, _, _, sections = _librdb(rdb, expected)
    by_name = {key_bytes_of(r): r for r in rows}
    compared = 0
    for name, value in sections[0]:
        if isinstance(value, str):
            payload = value.encode("latin-1")
            r = by_name[name.encode()]
            assert (payload[0], len(payload)) == (r["rdb_type"], r["serialized_bytes"]), name
            compared += 1
    assert compared


def _states_file_facts(case):
    """Whether a librdb expected file has ``__x__`` members (read at collection, if present)."""
    path = THIRD_PARTY / LIBRDB / case.values[1]
    return path.is_file() and '"__' in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("rdb,expected,level,types",
                         [c for c in LIBRDB_CASES if c.values[2] != "loaded" and _states_file_facts(c)]
                         or [pytest.param(None, None, None, None, id="none")])
def test_librdb_file_facts(rdb, expected, level, types):
    """__aux__, __dbsize__ (RESIZEDB), __slotinfo__ and __func__ match the file facts."""
    _, meta, facts, _ = _librdb(rdb, expected)
    assert facts
    if "__aux__" in facts:
        assert {k: str(v) for k, v in meta["aux"].items()} == dict(facts["__aux__"])
    if "__dbsize__" in facts:
        size = dict(facts["__dbsize__"])
        assert [(c["keys"], c["expires"]) for c in meta["resizedb"].values()] == [(size["size"], size["expires"])]
    if "__slotinfo__" in facts:
        slot = dict(facts["__slotinfo__"])
        assert meta["slot_info"] == [[slot["slotId"], slot["slotSize"], slot["slotSExpiresSize"]]]
    if "__func__" in facts:
        codes = [code for _, code in facts["__func__"]]
        want = sorted((re.match(r"#!lua name=(\S+)", c).group(1), len(c.encode())) for c in codes)
        assert sorted((f["name"], f["bytes"]) for f in meta["functions"]) == want


@pytest.mark.parametrize("rdb,expected,level,types", [c for c in LIBRDB_CASES if c.values[2] == "loaded"])
def test_librdb_loaded_by_server(rdb, expected, level, types):
    """What Redis kept after loading the dump: those keys exist; every key it dropped has an expiry."""
    rows, _, _, sections = _librdb(rdb, expected)
    by_name = {key_bytes_of(r): r for r in rows}
    kept = {name.encode(): value for name, value in sections[0]}
    assert set(kept) <= set(by_name)
    for name, value in kept.items():
        assert str(by_name[name]["type"]) in librdb_expectation(value)["types"]
    for name in set(by_name) - set(kept):
        assert by_name[name]["expire_at"] is not None, name


# ---------------------------------------------------------------- HDT3213 JSON

def _hdt_json_cases():
    """(expected json, dump, key regex) for every HDT3213 JSON export."""
    cases = []
    for path in sorted((THIRD_PARTY / HDT).glob("*.json")):
        if path.name == "memory_regex.json":          # converter_test.go: -regex '^l.*'
            cases.append(pytest.param(path.name, "memory.rdb", "^l", id=path.name))
        else:
            cases.append(pytest.param(path.name, path.stem + ".rdb", None, id=path.name))
    return cases or [pytest.param(None, None, None, id="none")]


HDT_JSON = _hdt_json_cases()


def hdt_expectation(obj):
    """What one HDT3213 JSON object states about its key, by rdbscan column name."""
    out = {"type": obj["type"], "expire_ms": hdt_iso_ms(obj["expiration"]) if "expiration" in obj else None}
    if obj["type"] == "string":
        if "\ufffd" not in obj["value"]:            # Go wrote invalid UTF-8 as U+FFFD: size unknown
            out["length"] = len(obj["value"].encode("utf-8"))
    elif obj["type"] == "stream":
        out["length"] = obj["len"]
        groups = obj.get("groups", [])
        out["stream_groups"] = len(groups)
        out["stream_consumers"] = sum(len(g.get("consumers", [])) for g in groups)
        out["stream_pending"] = sum(len(g.get("pending", [])) for g in groups)
    else:
        field = {"list": "values", "set": "members", "zset": "entries", "hash": "hash"}[obj["type"]]
        out["length"] = len(obj[field])
    if "expire" in obj:
        out["hash_fields_with_ttl"] = sum(1 for at in obj["expire"].values() if at)
    if "lru" in obj:
        out["idle_seconds"] = obj["lru"]
    if "lfu" in obj:
        out["lfu_freq"] = obj["lfu"]
    return out


@pytest.mark.parametrize("expected,rdb,regex", HDT_JSON)
def test_hdt_json(expected, rdb, regex):
    """Key set, db, type, RDB type, expiry (ms), element counts, stream groups, HFE fields, aux, functions."""
    objs = json.loads((THIRD_PARTY / HDT / expected).read_text(encoding="utf-8"))
    rows = rows_by_key(HDT + rdb)
    meta = scan(HDT + rdb)[1]
    keyed = [o for o in objs if o["type"] not in ("aux", "functions")]
    want_keys = [(o["db"], o["key"].encode("utf-8")) for o in keyed]
    assert len(want_keys) == len(set(want_keys))
    assert set(want_keys) == keys_matching(HDT + rdb, regex)
    for o in keyed:
        r = rows[(o["db"], o["key"].encode("utf-8"))]
        assert r["rdb_type"] in HDT_ENCODING_RDB_TYPES[(o["type"], o["encoding"])], o["key"]
        for column, value in hdt_expectation(o).items():
            got = ms(r["expire_at"]) if column == "expire_ms" else r[column]
            assert got == value, (o["key"], column)
    aux = {o["key"]: o["value"] for o in objs if o["type"] == "aux"}
    if aux:
        assert {k: str(v) for k, v in meta["aux"].items()} == aux
    codes = [o["functionsLua"] for o in objs if o["type"] == "functions"]
    if codes:
        want = sorted((re.match(r"#!lua name=(\S+)", c).group(1), len(c.encode())) for c in codes)
        assert sorted((f["name"], f["bytes"]) for f in meta["functions"]) == want


# ---------------------------------------------------------------- HDT3213 CSV reports

@pytest.mark.parametrize("expected", sorted(HDT_CSV_EXPECTED))
def test_hdt_csv_report(expected):
    """Key reports: keys, type, RDB type, element count (collections), expiry (to the second)."""
    rdb, selection = HDT_CSV_EXPECTED[expected]
    with open(THIRD_PARTY / HDT / expected, newline="", encoding="utf-8") as f:
        lines = list(csv.DictReader(f))
    assert lines
    rows = rows_by_key(HDT + rdb)
    if selection == "prefix":
        for line in lines:
            prefix = line["prefix"].encode()
            got = sum(1 for db, key in rows if db == int(line["database"]) and key.startswith(prefix))
            assert got == int(line["key_count"]), line
        return
    listed = {(int(line["database"]), line["key"].encode()) for line in lines}
    assert len(listed) == len(lines)
    if selection == "all":
        assert listed == set(rows)
    elif selection.startswith("^"):
        assert listed == keys_matching(HDT + rdb, selection)
    elif selection == "unexpired":
        now = datetime.datetime.now(datetime.timezone.utc)
        dropped = set(rows) - listed
        assert dropped and all(rows[k]["expire_at"] is not None and rows[k]["expire_at"] < now for k in dropped)
    assert listed <= set(rows)
    for line in lines:
        r = rows[(int(line["database"]), line["key"].encode())]
        assert r["type"] == line["type"], line
        if line["type"] in ("list", "set", "zset", "hash"):   # strings and streams report 0
            assert r["length"] == int(line["element_count"]), line
        if "encoding" in line:
            assert r["rdb_type"] in HDT_ENCODING_RDB_TYPES[(line["type"], line["encoding"])], line
        if "expiration" in line:
            want = hdt_iso_ms(line["expiration"]) if line["expiration"] else None
            got = ms(r["expire_at"])
            assert (got // 1000 * 1000 if got is not None else None) == want, line


# ---------------------------------------------------------------- RESP / AOF conversions

@pytest.mark.parametrize("expected", sorted(RESP_EXPECTED))
def test_resp_commands_rebuild_the_keys(expected):
    """AOF / RESP conversions: keys, types, element counts, expiries, HFE fields, stream groups."""
    rdb, regex = RESP_EXPECTED[expected]
    want = resp_expectations(read_resp_commands(THIRD_PARTY / expected))
    rows = rows_by_key(rdb)
    assert set(want) == keys_matching(rdb, regex)
    for key, w in want.items():
        r = rows[key]
        assert (r["type"], r["length"], ms(r["expire_at"])) == (w["type"], w["length"], w["expire_ms"]), key
        if r["hash_fields_with_ttl"] is not None or w["ttl_fields"]:
            assert r["hash_fields_with_ttl"] == len(w["ttl_fields"]), key
        if w["type"] == "stream":
            assert (r["stream_groups"], r["stream_pending"]) == (w["groups"], w["pending"]), key


# ---------------------------------------------------------------- Redis 8.9 (RDB 15)

# Rediscope's two dumps, written by Redis 8.9.241 (the 8.10 line): what its
# README and tests say they hold (11 native keys, 3 around a module), as
# (key, TYPE, RDB type byte).  The stream is the v5 stream (type 27, with
# each group's NACK zone), the array type 28.
REDISCOPE_KEYS = {
    "native-types.rdb": {
        ("lab:list", "list", 18), ("lab:set", "set", 20), ("lab:hash", "hash", 16),
        ("lab:zset", "zset", 17), ("lab:geo", "zset", 17), ("lab:string", "string", 0),
        ("lab:bitmap", "string", 0), ("lab:bitfield", "string", 0), ("lab:hll", "string", 0),
        ("lab:stream", "stream", 27), ("lab:array", "array", 28),
    },
    "module.rdb": {
        ("aof:string", "string", 0), ("aof:hash", "hash", 16),
        ("lab:module", "test___dt", 7),       # Redis' own tests/modules/datatype.c type
    },
}


@pytest.mark.parametrize("dump", sorted(REDISCOPE_KEYS))
def test_rediscope_redis_89_dumps(dump):
    """REDIS0015 from Redis 8.9.241: every key, its type and RDB type; CRC verified; no notes."""
    rows, meta = scan(REDISCOPE + dump)
    assert (meta["rdb_version"], meta["aux"]["redis-ver"], meta["crc"]) == (15, "8.9.241", "ok")
    assert not meta["notes"]
    assert {(r["key"], r["type"], r["rdb_type"]) for r in rows} == REDISCOPE_KEYS[dump]
    by_key = {r["key"]: r for r in rows}
    if dump == "native-types.rdb":
        # The array: one element set (ARCOUNT), OBJECT ENCODING "sliced-array",
        # no memory estimate (no 8.8+ server checked it).
        array = by_key["lab:array"]
        assert (array["encoding"], array["length"], array["memory_bytes"]) == ("sliced-array", 1, None)
        assert (by_key["lab:stream"]["encoding"], by_key["lab:stream"]["length"]) == ("stream", 1)
        assert by_key["lab:stream"]["stream_groups"] is not None
    else:
        assert by_key["lab:module"]["memory_bytes"] is None     # module values: no estimate
