"""Format corners no bundled dump has, written byte by byte from the server sources."""

import io
import json
import struct

import pytest

import rdbscan
from fuzz_harness import outcome
from rdbgen import (dump as _dump, length as _len, listpack as _lp, meta_spec as _meta_spec, string as _str,
                    stream_value as _stream_value, template as _template)
from rdbscan.scanner._scanner import Scanner as CScanner
from rdbscan.scanner.pyscanner import Scanner as PyScanner


def _s(b):
    return bytes([len(b)]) + b


def test_function_library_of_a_7_0_release_candidate():
    # Opcode 246 (7.0 RC1/RC2, rdb.c rdbFunctionLoad of 7.0-rc1): name,
    # engine, a description flag and description, then the code.
    code = b"redis.register_function('f', function() return 1 end)"
    data = (b"REDIS0010\xf6" + _s(b"mylib") + _s(b"LUA") + b"\x01" + _s(b"about it") + _s(code)
            + b"\xfe\x00\x00\x01k\x01v\xff" + b"\x00" * 8)
    assert outcome(CScanner, data, True) == outcome(PyScanner, data, True)
    meta = rdbscan.info(io.BytesIO(data))
    assert meta["functions"] == [{"name": "mylib", "engine": "lua", "bytes": len(code) + len("#!lua name=mylib\n")}]
    assert meta["rows"] == 1


# ---------------------------------------------------------------- RDB 13-15 (Redis 8.6, 8.8, 8.10)
#
# Layouts from Redis' rdb.c / keymeta.c of 8.6.3 and the 8.8/8.10 formats
# as its own test payloads and third-party readers write them (README,
# Formats).  Each dump is checked with both scanner twins.


def _scan(data):
    """Rows and meta, after checking the two scanner twins agree (errors included)."""
    assert outcome(CScanner, data, True) == outcome(PyScanner, data, True)
    table = rdbscan.read_table(io.BytesIO(data))
    return table.to_pylist(), json.loads(table.schema.metadata[b"rdbscan"])


def _error(data):
    """The RDBFormatError both twins raise: (message, offset)."""
    c, p = outcome(CScanner, data, True), outcome(PyScanner, data, True)
    assert c == p and c[2] is not None, c
    with pytest.raises(rdbscan.RDBFormatError) as info:
        rdbscan.read_table(io.BytesIO(data))
    assert str(info.value).endswith(c[2][1]) and info.value.offset == c[2][2]
    assert "\n" not in str(info.value)
    return c[2][1], c[2][2]


def test_key_meta_before_a_key_counts_into_it():
    # 243 KEY_META: class count, then per class its spec and module-style
    # typed fields up to EOF; DUMP carries them, so they are the key's bytes.
    meta_record = (b"\xf3" + _len(2) + _meta_spec("ABCD") + b"\x02" + _len(300) + b"\x05" + _str(b"xy") + b"\x00"
                   + _meta_spec("Zz_9") + b"\x00")
    plain = b"\x00" + _str(b"plain") + _str(b"value")
    body = b"\xfe\x00" + meta_record + b"\x00" + _str(b"k") + _str(b"value") + plain
    rows, meta = _scan(_dump(13, body))
    assert meta["key_meta"] == {"META-ABCD": 1, "META-Zz_9": 1}
    k, p = rows
    assert (k["key"], k["type"], k["encoding"]) == ("k", "string", "embstr")
    assert k["serialized_bytes"] == p["serialized_bytes"] + len(meta_record)
    assert k["offset"] == 9 + 2                       # the record starts at its KEY_META byte


def test_key_meta_is_not_an_rdb_12_opcode():
    body = b"\xfe\x00\xf3" + _len(1) + _meta_spec("ABCD") + b"\x00" + b"\x00" + _str(b"k") + _str(b"v")
    message, offset = _error(_dump(12, body))
    assert "opcode 243" in message and "RDB version 12" in message and offset == 11


def test_array_elements_by_tag():
    # 28 ARRAY: element count, insert-cursor flag (+ cursor), then
    # (index, tag, element): 0 sds, 1 int64 LE, 2 double LE, 3 short string.
    elements = (_len(0) + _len(0) + _str(b"hello world")
                + _len(7) + _len(1) + struct.pack("<q", -12345)
                + _len(1 << 40) + _len(2) + struct.pack("<d", 1.5)
                + _len(9) + _len(3) + _str(b"tiny"))
    value = _len(4) + _len(1) + _len(1 << 40) + elements
    rows, _ = _scan(_dump(14, b"\xfe\x00\x1c" + _str(b"arr") + value))
    (r,) = rows
    assert (r["type"], r["encoding"], r["rdb_type"]) == ("array", "sliced-array", 28)
    assert r["length"] == 4                          # elements set (ARCOUNT), not the highest index + 1
    assert r["max_element_bytes"] == len("hello world")
    assert r["memory_bytes"] is None
    assert r["serialized_bytes"] == 1 + len(value)   # type byte and value, as DUMP carries them


def test_array_with_an_unknown_tag_or_a_long_small_string():
    head = b"\xfe\x00\x1c" + _str(b"arr") + _len(1) + _len(0) + _len(0)
    message, offset = _error(_dump(14, head + _len(9) + _str(b"x")))
    assert "unknown array element tag 9" in message and offset == 9 + len(head)
    message, _ = _error(_dump(14, head + _len(3) + _str(b"eight ch")))
    assert "small string of 8 bytes" in message


def test_hash_templates_and_the_hashes_that_use_them():
    fields = [b"name", b"email", b"a-long-field-name"]
    body = (b"\xfe\x00" + _template(7, fields)
            # 32: values as strings, template by id
            + b"\x20" + _str(b"u1") + _len(7) + _str(b"ann") + _str(b"a@x") + _str(b"1")
            # 30: a listpack [id, values...]
            + b"\x1e" + _str(b"u2") + _str(_lp([7, b"bob", b"b@x", b"2"]))
            # 31: self-contained: id, field count and names, values
            + b"\x1f" + _str(b"u3") + _len(3) + _len(2) + _str(b"f") + _str(b"g") + _str(b"v1") + _str(b"v2")
            # 29: self-contained: id, field-name listpack, value listpack [id, values...]
            + b"\x1d" + _str(b"u4") + _len(3) + _str(_lp([b"f", b"g"])) + _str(_lp([3, b"value-one", b"v2"])))
    rows, meta = _scan(_dump(15, body))
    assert meta["hash_templates"] == 1
    got = {r["key"]: (r["type"], r["encoding"], r["length"], r["max_element_bytes"]) for r in rows}
    assert got == {"u1": ("hash", "template-array", 3, len(b"a-long-field-name")),
                   "u2": ("hash", "template-listpack", 3, len(b"a-long-field-name")),
                   "u3": ("hash", "template-array", 2, 2),
                   "u4": ("hash", "template-listpack", 2, len(b"value-one"))}
    assert all(r["memory_bytes"] is None for r in rows)


def test_a_hash_naming_an_undefined_template_is_a_format_error():
    record = b"\x20" + _str(b"u1") + _len(9) + _str(b"v")
    message, offset = _error(_dump(15, b"\xfe\x00" + _template(7, [b"f"]) + record))
    assert "hash template 9 is not defined" in message
    assert offset == 9 + 2 + len(_template(7, [b"f"])) + 1 + len(_str(b"u1"))   # at the template id
    message, _ = _error(_dump(15, b"\xfe\x00" + _template(7, [b"f"]) + _template(7, [b"g"])))
    assert "hash template 7 is defined twice" in message
    message, _ = _error(_dump(15, b"\xfe\x00" + _template(7, [])))
    assert "zero fields" in message
    # A listpack holding fewer values than the template has fields.
    short = b"\x1e" + _str(b"u2") + _str(_lp([7, b"only-one"]))
    message, _ = _error(_dump(15, b"\xfe\x00" + _template(7, [b"f", b"g"]) + short))
    assert "1 values for 2 fields" in message


def test_gcra_value():
    rows, _ = _scan(_dump(15, b"\xfe\x00\x21" + _str(b"limiter") + _len(1_700_000_000_000)))
    (r,) = rows
    assert (r["type"], r["rdb_type"], r["length"], r["memory_bytes"]) == ("gcra", 33, None, None)


@pytest.mark.parametrize("version,type_byte,name", [(13, 28, "array"), (13, 27, None), (12, 26, None),
                                                     (13, 29, None), (14, 34, None)])
def test_a_type_newer_than_the_dump_is_one_clear_line(version, type_byte, name):
    body = b"\xfe\x00" + bytes([type_byte]) + _str(b"k") + _str(b"v")
    message, offset = _error(_dump(version, body))
    assert f"{type_byte}" in message and f"RDB version {version}" in message and offset == 11
    if name:
        assert f"value type {type_byte} ({name})" in message
    assert "\n" not in message


def test_rdb_16_reads_with_the_newest_rules_and_says_so():
    body = b"\xfe\x00\x21" + _str(b"limiter") + _len(5) + b"\x00" + _str(b"k") + _str(b"v")
    rows, meta = _scan(_dump(16, body))
    assert [r["type"] for r in rows] == ["gcra", "string"]
    assert any("RDB version 16 is newer than the newest this rdbscan knows (15)" in n for n in meta["notes"])
    _, meta15 = _scan(_dump(15, body))
    assert not meta15["notes"]


def test_stream_v5_nack_zone():
    # Type 27 (Redis 8.8): after each group's consumers, the IDs of its
    # pending entries no consumer owns (XNACK).  They are pending entries of
    # the group PEL already: stream_pending counts the group PEL, NACKed
    # entries included; the zone adds no column.
    rows, _ = _scan(_dump(14, b"\xfe\x00\x1b" + _str(b"s") + _stream_value([1])))
    (r,) = rows
    assert (r["type"], r["rdb_type"], r["length"]) == ("stream", 27, 0)
    assert (r["stream_groups"], r["stream_consumers"], r["stream_pending"]) == (1, 1, 2)
    # The same stream as type 26 (8.6: no NACK zone) counts the same.
    rows26, _ = _scan(_dump(13, b"\xfe\x00\x1a" + _str(b"s") + _stream_value(None)))
    assert (rows26[0]["stream_groups"], rows26[0]["stream_consumers"], rows26[0]["stream_pending"]) == (1, 1, 2)
    # A zone cut short is a clean error.
    data = _dump(14, b"\xfe\x00\x1b" + _str(b"s") + _stream_value([1], idmp=False)[:-8])
    message, _ = _error(data)
    assert "\n" not in message
