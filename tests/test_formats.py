"""Format corners no bundled dump has, written byte by byte from the server sources."""

import io

import rdbscan
from fuzz_harness import outcome
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
