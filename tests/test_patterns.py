"""Key pattern inference: the compiled and pure twins agree; placeholders, rules, depth, one pattern per key."""

import itertools

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rdbscan
from rdbscan.analysis import patterns, pypatterns
from rdbscan.analysis.dataset import Dataset, resolve
from rdbscan.errors import RdbscanError
from conftest import FIXTURE_NAMES, dump_path

_patterns = pytest.importorskip("rdbscan.analysis._patterns", reason="compiled pattern twin not built")

DELIMS = ":/|.-_"
DELIMITER_SETS = ["".join(c) for n in range(1, len(DELIMS) + 1) for c in itertools.combinations(DELIMS, n)]


def both(keys, delimiters=DELIMS, depth=0):
    """(compiled, pure) patterns of a list of keys."""
    arr = pa.array(keys, pa.string())
    return (_patterns.key_patterns(arr, delimiters, depth).to_pylist(),
            pypatterns.key_patterns(arr, delimiters, depth).to_pylist())


@pytest.fixture(scope="module")
def fixture_keys():
    keys = set()
    for name in FIXTURE_NAMES:
        keys.update(rdbscan.read_table(dump_path(name)).column("key").to_pylist())
    return sorted(keys)


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_twins_agree_on_every_fixture_key(fixture_keys, depth):
    assert len(fixture_keys) > 300
    for delimiters in DELIMITER_SETS:
        compiled, pure = both(fixture_keys, delimiters, depth)
        assert compiled == pure, [(k, c, p) for k, c, p in zip(fixture_keys, compiled, pure) if c != p][:5]


# Text built from the pieces the rules look at, so the edge cases come up often.
PIECES = st.sampled_from([
    ":", "/", "|", ".", "-", "_", "@", "T", " ", "Z", "+", "0", "1", "9", "12", "2024", "-05-01", "1700000000",
    "1700000000000", "2000000000", "999999999", "255", "256", "a", "f", "F", "g", "x", "ab", "deadbeef",
    "550e8400-e29b-41d4-a716-446655440000", "10.0.0.1", "bob@example.com", "2024-05-01T10:20:30Z", ":30",
    ".123", "+02:00", "é", "用户", "🔥", "\\x00", "aB3dE5fG7hI9jK1lMn",
])
KEYS = st.one_of(st.lists(PIECES, max_size=12).map("".join), st.text(max_size=40))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(keys=st.lists(KEYS, min_size=1, max_size=30), delimiters=st.sampled_from(DELIMITER_SETS),
       depth=st.integers(0, 3))
def test_twins_agree_on_generated_keys(keys, delimiters, depth):
    keys = [k.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k in keys]
    compiled, pure = both(keys, delimiters, depth)
    assert compiled == pure
    assert pure == [pypatterns.key_pattern(k, delimiters, depth) for k in keys]


def test_nulls_and_slices():
    arr = pa.array(["user:1", None, "a:b:c", "x"], pa.string())
    assert _patterns.key_patterns(arr).to_pylist() == ["user:{id}", None, "a:b:c", "x"]
    assert _patterns.key_patterns(arr.slice(2)).to_pylist() == ["a:b:c", "x"]
    assert _patterns.key_patterns(pa.chunked_array([arr.slice(0, 1), arr.slice(1)])).to_pylist() == \
        ["user:{id}", None, "a:b:c", "x"]
    assert _patterns.key_patterns(pa.array([], pa.string())).to_pylist() == []


@pytest.mark.parametrize("key, pattern", [
    # {id}: digit runs, also inside soft-delimited segments; a leading minus stays literal
    ("user:1234:profile", "user:{id}:profile"),
    ("order:42", "order:{id}"),
    ("job_17.retry-3", "job_{id}.retry-{id}"),
    ("balance:-5", "balance:-{id}"),
    ("用户:1001:昵称", "用户:{id}:昵称"),
    # {ts}: Unix seconds (10 digits) and milliseconds (13 digits) in 2001..2033
    ("metrics:1700000000", "metrics:{ts}"),
    ("metrics:1700000000123", "metrics:{ts}"),
    ("metrics:2000000000", "metrics:{id}"),            # out of the range: an id
    ("metrics:999999999", "metrics:{id}"),
    # {uuid}: a whole segment, either case
    ("session:550e8400-e29b-41d4-a716-446655440000", "session:{uuid}"),
    ("session:550E8400-E29B-41D4-A716-446655440000:data", "session:{uuid}:data"),
    ("session:550e8400-e29b-41d4-a716-44665544000", "session:{hex}-e29b-41d4-a716-{id}"),  # 11 digits at the end
    # {hex}: >= 8 hex digits with a digit and a letter
    ("cache:page:3f786850e387550fdab836ed7e6dc881de23001b", "cache:page:{hex}"),
    ("cache:deadbeef12", "cache:{hex}"),
    ("cache:deadbeef", "cache:deadbeef"),               # no digit: a word
    ("cache:abc123", "cache:abc123"),                   # too short
    # {token}: >= 16 letters and digits, mixed
    ("sess:aB3dE5fG7hI9jK1lM", "sess:{token}"),
    ("sess:aB3dE5fG7hI9jK1", "sess:aB3dE5fG7hI9jK1"),   # 15 long
    ("sess:abcdefghijklmnopqrst", "sess:abcdefghijklmnopqrst"),  # no digit, one case
    ("tok:XjVYNCNmQUPJypjipzGKabRT", "tok:{token}"),    # random letters: the case flips often
    ("tok:XjVYNCNmQUPJypjipzG", "tok:XjVYNCNmQUPJypjipzG"),  # 19 long
    ("cfg:userPreferencesCacheName", "cfg:userPreferencesCacheName"),  # camelCase flips rarely
    # {date}: ISO dates and date-times, their colons do not split them
    ("events:2024-05-01", "events:{date}"),
    ("events:2024-13-01", "events:{id}-{id}-{id}"),       # no month 13
    ("events:2024-12-32", "events:{id}-{id}-{id}"),       # no day 32
    ("order:2024-05-01:17", "order:{date}:{id}"),
    ("log:2024-05-01T10:20:30Z", "log:{date}"),
    ("log:2024-05-01T10:20:30.123+02:00:warn", "log:{date}:warn"),
    ("log:2024-05-01T10:20", "log:{date}"),
    ("log:2024-05-01 10:20:30", "log:{date}"),
    ("log:2024-05-01T10:20:30+0200", "log:{date}"),
    ("2024-05-01T10:20:30Z:first", "{date}:first"),
    ("log:2024-05-01T10:20:30Zjunk", "log:{id}-{id}-01T10:{id}:30Zjunk"),  # not ending at a delimiter
    # {ip}: dotted IPv4, a whole segment
    ("rate:10.0.0.1:202405011020", "rate:{ip}:{id}"),
    ("rate:255.255.255.255", "rate:{ip}"),
    ("rate:10.0.0.256", "rate:{id}.{id}.{id}.{id}"),
    ("rate:1.2.3.4.5", "rate:{id}.{id}.{id}.{id}.{id}"),
    # {email}
    ("login:bob.smith+x@example.com", "login:{email}"),
    ("login:bob@example.com:attempts", "login:{email}:attempts"),
    ("login:bob@localhost", "login:bob@localhost"),
    ("login:a@b@c.com", "login:a@b@c.com"),
    # kept as written
    ("", ""),
    ("counter", "counter"),
    ("a::b", "a::b"),
    (":", ":"),
])
def test_placeholders(key, pattern):
    assert pypatterns.key_pattern(key) == pattern
    assert both([key]) == ([pattern], [pattern])


def test_configured_delimiters():
    key = "user/1234|profile:x"
    assert patterns.key_pattern(key, ":") == "user/1234|profile:x"
    assert patterns.key_pattern(key, "/|") == "user/{id}|profile:x"
    assert patterns.key_pattern(key) == "user/{id}|profile:x"
    # soft delimiters split tokens inside a segment; without them the segment is one token
    assert patterns.key_pattern("img.1234.png", ":") == "img.1234.png"
    assert patterns.key_pattern("img.1234.png", ":.") == "img.{id}.png"
    assert patterns.key_pattern("42", ":") == "{id}"
    with pytest.raises(RdbscanError, match="delimiters"):
        patterns.check_delimiters("a:")
    with pytest.raises(RdbscanError, match="delimiters"):
        patterns.PatternRules(delimiters="")


@pytest.mark.parametrize("depth, pattern", [
    (0, "user:{id}:profile:avatar"), (1, "user:*"), (2, "user:{id}:*"), (3, "user:{id}:profile:*"),
    (4, "user:{id}:profile:avatar"), (9, "user:{id}:profile:avatar"),
])
def test_depth_folds(depth, pattern):
    assert both(["user:1234:profile:avatar"], DELIMS, depth) == ([pattern], [pattern])
    assert patterns.key_pattern("counter", depth=depth) == "counter"


def test_depth_keeps_a_date_whole():
    assert patterns.key_pattern("log:2024-05-01T10:20:30Z:warn:x", depth=2) == "log:{date}:*"


def test_negative_depth_is_refused():
    with pytest.raises(RdbscanError, match="depth"):
        patterns.PatternRules(depth=-1)


# ---- user rules --------------------------------------------------------------------------------

RULES = """\
# comments and blank lines are skipped

session:*                       # a glob: the pattern is the glob itself
cache:*:html => cache:{page}    # a glob with a name
re:^tmp:[0-9a-f]+$ => tmp:{hash}
re:^user:[0-9]+:(profile|settings)$
tag:#*
user:*  => users (never reached for profiles)
"""


def rule_patterns(keys, rules, **kw):
    """The pattern each key gets in a Dataset-like connection with ``rules``."""
    pr = patterns.PatternRules(rules=rules, **kw)
    con = duckdb.connect()
    pr.register(con)
    con.register("k", pa.table({"key": pa.array(keys, pa.string())}))
    return dict(con.execute(f"SELECT key, {pr.sql('key')} FROM k").fetchall())


def test_rules_file(tmp_path):
    path = tmp_path / "rules.txt"
    path.write_text(RULES)
    rules = patterns.read_rules(path)
    assert [name for _, name, _ in rules] == [
        "session:*", "cache:{page}", "tmp:{hash}", "re:^user:[0-9]+:(profile|settings)$", "tag:#*",
        "users (never reached for profiles)"]
    assert [where for _, _, where in rules] == [f"{path}:{n}" for n in (3, 4, 5, 6, 7, 8)]
    got = rule_patterns(["session:abc", "cache:x:y:html", "cache:x:json", "tmp:00ff", "tmp:zz",
                         "user:7:profile", "user:7:cart", "tag:#red", "other:1"], [str(path)])
    assert got == {
        "session:abc": "session:*",
        "cache:x:y:html": "cache:{page}",
        "cache:x:json": "cache:x:json",               # no rule: inferred
        "tmp:00ff": "tmp:{hash}",
        "tmp:zz": "tmp:zz",
        "user:7:profile": "re:^user:[0-9]+:(profile|settings)$",   # the first matching rule wins
        "user:7:cart": "users (never reached for profiles)",
        "tag:#red": "tag:#*",                         # '#' without a space before it is no comment
        "other:1": "other:{id}",
    }


def test_rules_given_inline_and_as_tuples():
    got = rule_patterns(["a:1", "b:2", "c:3"], ["a:* => A", ("^b:.*$", "B", "test")])
    assert got == {"a:1": "A", "b:2": "B", "c:3": "c:{id}"}


def test_glob_rules_follow_redis_matching():
    got = rule_patterns(["k1", "k22", "kx", "k?", "a*b"], ["k? => one", "k[0-9][0-9] => two", "a\\*b => star"])
    assert got == {"k1": "one", "kx": "one", "k?": "one", "k22": "two", "a*b": "star"}


def test_rules_match_multiline_keys():
    assert rule_patterns(["a\nb"], ["a* => A"]) == {"a\nb": "A"}


def test_bad_regex_names_file_and_line(tmp_path):
    path = tmp_path / "rules.txt"
    path.write_text("# fine\nsession:*\nre:^user:([0-9]+ => broken\n")
    with pytest.raises(RdbscanError, match=rf"^{path}:3: bad regular expression"):
        patterns.PatternRules(rules=[str(path)]).register(duckdb.connect())


def test_empty_rule_names_file_and_line(tmp_path):
    path = tmp_path / "rules.txt"
    path.write_text("a:*\n => nothing\n")
    with pytest.raises(RdbscanError, match=rf"^{path}:2: an empty rule"):
        patterns.read_rules(path)


def test_unreadable_rules_file(tmp_path):
    with pytest.raises(RdbscanError, match="cannot read the pattern rules"):
        patterns.read_rules(tmp_path / "missing.txt")


# ---- each key in exactly one pattern -----------------------------------------------------------

@pytest.mark.parametrize("kw", [{}, {"depth": 1}, {"delimiters": ":"},
                                {"rules": ["user:* => users", "re:^.*[0-9]$ => ends-in-digit"]}])
def test_each_key_in_exactly_one_pattern(tmp_path, kw):
    from conftest import model_options
    name = "redis-7.4.1"
    resolved = resolve([dump_path(name)], cache_dir=tmp_path, **model_options(name))
    with Dataset(resolved, **kw) as ds:
        def one(q):
            return tuple(ds.sql(q).fetchall()[0])
        n, nulls, distinct = one("SELECT count(*), count(*) - count(pattern), count(DISTINCT (db, key)) FROM keys")
        assert nulls == 0 and distinct == n
        assert one("SELECT sum(keys), sum(memory_bytes) FROM pattern_stats") == \
            one("SELECT count(*), sum(memory_bytes) FROM keys")
        # a key's pattern is a function of the key: never two patterns for one (db, key)
        assert one("SELECT count(*) FROM (SELECT db, key FROM keys GROUP BY db, key "
                   "HAVING count(DISTINCT pattern) > 1)") == (0,)
        if "rules" in kw:
            assert one("SELECT count(*) FROM keys WHERE key LIKE 'user:%' AND pattern <> 'users'") == (0,)
            assert one("SELECT count(*) FROM keys WHERE key LIKE 'user:%'")[0] > 0


def test_scan_stores_the_default_patterns(tmp_path):
    """rdbscan scan writes each key's default pattern; the keys view uses it and agrees with inference."""
    import pyarrow.parquet as pq
    import rdbscan
    from rdbscan.analysis import dataset
    from conftest import dump_path
    out = tmp_path / "k.parquet"
    rdbscan.scan(dump_path("redis-7.4.1"), str(out))
    t = pq.read_table(out)
    assert t["pattern"].to_pylist() == [pypatterns.key_pattern(k) for k in t["key"].to_pylist()]
    with dataset.open_dataset([str(out)]) as ds:
        assert dataset.stored_patterns(ds.resolved, ds.pattern_rules)
        rows = ds.sql("SELECT pattern, key_pattern(key) AS inferred FROM keys").fetchall()
        assert rows and all(p == q for p, q in rows)
    with dataset.open_dataset([str(out)], depth=1) as ds:    # other settings: inferred again
        assert not dataset.stored_patterns(ds.resolved, ds.pattern_rules)
        assert {p for (p,) in ds.sql("SELECT DISTINCT pattern FROM keys").fetchall()} == \
            {pypatterns.key_pattern(k, depth=1) for k in t["key"].to_pylist()}
