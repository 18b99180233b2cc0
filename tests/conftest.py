"""Shared test helpers: the bundled real-server fixtures and their truth."""

import binascii
import json
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
THIRD_PARTY = pathlib.Path(os.environ.get(
    "RDBSCAN_THIRD_PARTY", ROOT.parent / "shared" / "fixtures" / "third_party"))

FIXTURE_NAMES = sorted(p.name for p in FIXTURES.iterdir() if (p / "dump.rdb").exists())


def load_truth(name):
    """The truth.jsonl rows of one fixture, keyed by (db, key bytes)."""
    rows = {}
    with open(FIXTURES / name / "truth.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            rows[(row["db"], bytes.fromhex(row["key_hex"]))] = row
    return rows


def load_server(name):
    """The server.json facts of one fixture."""
    with open(FIXTURES / name / "server.json", encoding="utf-8") as f:
        return json.load(f)


def dump_path(name):
    """Path of a fixture's dump.rdb."""
    return FIXTURES / name / "dump.rdb"


def key_bytes_of(row):
    """The exact key bytes of a scan row (dict from Table.to_pylist())."""
    return row["key_bytes"] if row["key_bytes"] is not None else row["key"].encode("utf-8")


def third_party_dumps():
    """Every third-party .rdb under ../shared (empty when it is not there)."""
    if not THIRD_PARTY.is_dir():
        return []
    return sorted(THIRD_PARTY.rglob("*.rdb"))


requires_third_party = pytest.mark.skipif(
    not THIRD_PARTY.is_dir(),
    reason=f"third-party dumps not found at {THIRD_PARTY} (set RDBSCAN_THIRD_PARTY)")


# Debian's redis-server package (the 7.0.15 fixtures) links the system
# jemalloc, whose size classes have a 16-byte quantum, not the bundled 8.
DEBIAN_BUILD_IDS = {"ae4d7c971a948f0"}


def model_options(name):
    """What the dump cannot tell about its server, from the fixture's server.json."""
    server = load_server(name)
    build = (server.get("info_server") or {}).get("redis_build_id")
    return {"allocator": "jemalloc-16" if build in DEBIAN_BUILD_IDS else "jemalloc",
            "cluster": bool(server.get("cluster_enabled"))}


def reference_slot(key):
    """Redis Cluster keyHashSlot, with binascii's CRC-CCITT (XMODEM) as an independent CRC16."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    return binascii.crc_hqx(key, 0) & 16383
