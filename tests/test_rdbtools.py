"""rdbscan against rdbtools (redis-rdb-tools) on dumps of RDB version 9 or older.

rdbtools reads RDB 1 to 9 only.  It runs in-process, through an
``RdbCallback`` subclass that records what it reports per key.  On the
bundled fixtures of that range, and on the third-party dumps it can read,
both tools agree on: the key set (db, exact key bytes), type, expiry (ms),
element count (STRLEN for strings, members for collections, XLEN for
streams), stream consumer groups / consumers / pending entries, aux fields
and RESIZEDB hints.
"""

import collections
import datetime
import json

import pytest

import rdbscan
from conftest import FIXTURE_NAMES, THIRD_PARTY, dump_path, key_bytes_of, load_server, third_party_dumps

pytest.importorskip("rdbtools.parser", reason="rdbtools is not importable (pip install rdbtools python-lzf)")
from rdbtools import RdbCallback, RdbParser  # noqa: E402

NAIVE_EPOCH = datetime.datetime(1970, 1, 1)
AWARE_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
RDBTOOLS_MAX_SECONDS = 221925052800   # rdbtools.parser.to_datetime clamps expiries here (year 9000)


class Recorder(RdbCallback):
    """Records, per (db, key bytes), what rdbtools reports: type, expiry, element count, stream groups."""

    def __init__(self):
        super().__init__(string_escape=None)
        self.db = 0
        self.keys = {}
        self.aux = {}
        self.db_sizes = []
        self.current = None

    def _start(self, key, type_name, expiry):
        """A new key: rdbtools hands keys over as bytes, or as int when stored int-encoded."""
        key = key if isinstance(key, bytes) else str(key).encode()
        assert (self.db, key) not in self.keys, f"rdbtools reported {key!r} twice in db {self.db}"
        self.current = {"type": type_name, "expiry": expiry, "count": 0}
        self.keys[(self.db, key)] = self.current

    def aux_field(self, key, value):
        self.aux[key] = value

    def start_database(self, db_number):
        self.db = db_number

    def db_size(self, db_size, expires_size):
        self.db_sizes.append((self.db, db_size, expires_size))

    def set(self, key, value, expiry, info):
        self._start(key, "string", expiry)
        self.current["count"] = len(value if isinstance(value, bytes) else str(value).encode())

    def start_list(self, key, expiry, info):
        self._start(key, "list", expiry)

    def rpush(self, key, value):
        self.current["count"] += 1

    def start_set(self, key, cardinality, expiry, info):
        self._start(key, "set", expiry)

    def sadd(self, key, member):
        self.current["count"] += 1

    def start_sorted_set(self, key, length, expiry, info):
        self._start(key, "zset", expiry)

    def zadd(self, key, score, member):
        self.current["count"] += 1

    def start_hash(self, key, length, expiry, info):
        self._start(key, "hash", expiry)

    def hset(self, key, field, value):
        self.current["count"] += 1

    def start_stream(self, key, listpacks_count, expiry, info):
        self._start(key, "stream", expiry)

    def end_stream(self, key, items, last_entry_id, cgroups):
        self.current["count"] = items
        self.current["stream"] = (len(cgroups), sum(len(g["consumers"]) for g in cgroups),
                                  sum(len(g["pending"]) for g in cgroups))

    def start_module(self, key, module_name, expiry, info):
        if key is not None:                 # None: module aux data, not a key
            self._start(key, module_name, expiry)
            self.current["count"] = None    # rdbtools does not decode module values
        return False


def rdb_version(path):
    """The RDB version in a dump's header, or None when it is not a ``REDISnnnn`` header."""
    head = path.read_bytes()[:9]
    return int(head[5:]) if head[:5] == b"REDIS" and head[5:].isdigit() else None


def rdbtools_ms(expiry):
    """rdbtools' expiry (a naive UTC datetime) as milliseconds since the epoch."""
    return None if expiry is None else (expiry - NAIVE_EPOCH) // datetime.timedelta(milliseconds=1)


def as_rdbtools_reports(ts):
    """rdbscan's expiry (aware UTC) in ms, clamped the way rdbtools clamps it."""
    if ts is None:
        return None
    at = (ts - AWARE_EPOCH) // datetime.timedelta(milliseconds=1)
    return min(at // 1000, RDBTOOLS_MAX_SECONDS) * 1000 + at % 1000


def aux_text(value):
    """An aux value as rdbtools reports it (bytes, or int when int-encoded), as text."""
    return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else str(value)


def _cases():
    """Bundled fixtures and third-party dumps of RDB version <= 9."""
    cases = [(dump_path(n), n, False) for n in FIXTURE_NAMES if load_server(n)["rdb_version"] <= 9]
    cases += [(p, p.relative_to(THIRD_PARTY).as_posix(), True) for p in third_party_dumps()
              if (rdb_version(p) or 99) <= 9]
    return [pytest.param(case, id=case[1]) for case in cases]


@pytest.fixture(scope="module", params=_cases())
def both(request):
    """(rdbscan rows by (db, key bytes), rdbscan file facts, rdbtools Recorder) for one dump.

    The CRC is not verified here (rdbtools ignores it; test_third_party
    covers the one dump with a bad CRC).  A third-party dump rdbtools itself
    cannot read is skipped, with its error.
    """
    path, label, third_party = request.param
    recorder = Recorder()
    try:
        RdbParser(recorder).parse(str(path))
    except Exception as e:  # noqa: BLE001 - rdbtools raises bare Exception on what it cannot read
        if third_party:
            pytest.skip(f"rdbtools cannot read {label}: {e!r}")
        raise
    table = rdbscan.read_table(path, verify=False)
    rows = {(r["db"], key_bytes_of(r)): r for r in table.to_pylist()}
    return rows, json.loads(table.schema.metadata[b"rdbscan"]), recorder


def test_fixtures_in_range_exist():
    """The comparison is not vacuous: several bundled fixtures are RDB <= 9."""
    assert sum(1 for n in FIXTURE_NAMES if load_server(n)["rdb_version"] <= 9) >= 5


def test_same_keys(both):
    rows, _, theirs = both
    assert set(rows) == set(theirs.keys)


def test_same_types(both):
    rows, _, theirs = both
    bad = [(k, rows[k]["type"], t["type"]) for k, t in theirs.keys.items()
           if k in rows and rows[k]["type"] != t["type"]]
    assert not bad


def test_same_expiry(both):
    rows, _, theirs = both
    bad = [(k, as_rdbtools_reports(rows[k]["expire_at"]), rdbtools_ms(t["expiry"]))
           for k, t in theirs.keys.items()
           if k in rows and as_rdbtools_reports(rows[k]["expire_at"]) != rdbtools_ms(t["expiry"])]
    assert not bad


def test_same_element_counts(both):
    rows, _, theirs = both
    bad = [(k, rows[k]["length"], t["count"]) for k, t in theirs.keys.items()
           if k in rows and t["count"] is not None and rows[k]["length"] != t["count"]]
    assert not bad


def test_same_stream_groups(both):
    rows, _, theirs = both
    bad = [(k, (rows[k]["stream_groups"], rows[k]["stream_consumers"], rows[k]["stream_pending"]), t["stream"])
           for k, t in theirs.keys.items() if "stream" in t and k in rows
           and (rows[k]["stream_groups"], rows[k]["stream_consumers"], rows[k]["stream_pending"]) != t["stream"]]
    assert not bad


def test_same_aux_fields(both):
    _, meta, theirs = both
    assert {k: str(v) for k, v in meta["aux"].items()} == \
        {aux_text(k): aux_text(v) for k, v in theirs.aux.items()}


def test_same_resizedb_hints(both):
    _, meta, theirs = both
    got = collections.Counter((int(db), c["keys"], c["expires"]) for db, c in meta["resizedb"].items())
    assert got == collections.Counter(theirs.db_sizes)


def test_the_comparison_covers_every_kind_seen():
    """Across the fixtures, rdbtools reported expiries, every core type and a stream."""
    seen_types, expiries = set(), 0
    for name in FIXTURE_NAMES:
        if load_server(name)["rdb_version"] > 9:
            continue
        recorder = Recorder()
        RdbParser(recorder).parse(str(dump_path(name)))
        seen_types |= {t["type"] for t in recorder.keys.values()}
        expiries += sum(1 for t in recorder.keys.values() if t["expiry"] is not None)
    assert {"string", "list", "set", "zset", "hash", "stream"} <= seen_types
    assert expiries > 0
