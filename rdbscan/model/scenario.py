"""What-if scenarios: changes to the as-is model of a dump, as ``rdbscan report whatif`` takes them.

A scenario SPEC is a comma-separated list of changes::

    7.2                                   another release (8.6, redis-8.4, valkey-8.1, ...)
    hash-max-listpack-entries=512         an encoding limit (any redis.conf name the
                                          loader reads, old ziplist names included)
    allocator=libc                        jemalloc | jemalloc-16 | libc
    cluster=yes                           yes | no (7.0-7.2 keep per-key slot links)

Each scenario is applied to the profile the dump was scanned with (its
writer, ``--config`` limits, allocator and cluster mode), so one spec fits
dumps of several releases.  Changes of release or allocator alter how every
element is sized, so the scan must have computed a sizing *slot* for them
(:func:`slot_of`); limits and cluster mode are applied afterwards to the
same per-key sums.
"""

import copy
from dataclasses import dataclass, field

from rdbscan.model.alloc import ALLOCATORS
from rdbscan.model.encoding import (CONFIG_THRESHOLDS, LIST_SIZE_BYTES, ServerProfile, Thresholds,
                                    parse_server)

NEWEST_REDIS = "8.6"
"""The newest Redis release whose layout the model checks against a real server (a default scenario).

8.8 and 8.10 are modelled too, from redis/redis#14704 without a server: they
differ from 8.6 in how MEMORY USAGE counts the key's object, not in what the
server allocates, so a default what-if of theirs would show an accounting
change as a saving."""
NEWEST_VALKEY = "valkey-9.1"
"""The newest Valkey release whose layout the model knows (a default scenario): 9.1, checked key by
key against a server built from Valkey's unstable branch (rdbscan.model.valkey)."""

LIST_SIZE_NAMES = ("list-max-listpack-size", "list-max-ziplist-size")


@dataclass
class Scenario:
    """One what-if: a label and the changes it makes."""
    label: str
    release: str = None              # "7.2", "valkey-8.1": parse_server text
    allocator: str = None
    cluster: bool = None
    limits: dict = field(default_factory=dict)   # Thresholds attribute -> value
    why: str = ""                    # how it was chosen (default scenarios)

    @property
    def slot(self):
        """The sizing slot the scan needs for it: ``"RELEASE|ALLOCATOR"`` (``"|"`` is the scan's own)."""
        return slot_of(self.release, self.allocator)

    def apply(self, base):
        """The :class:`ServerProfile` this scenario makes of ``base`` (which is left unchanged)."""
        profile = copy.deepcopy(base)
        if self.release is not None:
            profile.flavor, profile.version = parse_server(self.release)
            profile.source = "what-if"
        if self.allocator is not None:
            profile.allocator = self.allocator
        if self.cluster is not None:
            profile.cluster = self.cluster
        for name, value in self.limits.items():
            setattr(profile.thresholds, name, value)
        return profile


def slot_of(release=None, allocator=None):
    """The key of a sizing slot: what a scenario changes that alters every element's size."""
    return f"{release or ''}|{allocator or ''}"


def parse_slot(key):
    """``(release, allocator)`` of a slot key (None where unchanged)."""
    release, _, allocator = key.partition("|")
    return release or None, allocator or None


def parse(spec):
    """A :class:`Scenario` from its SPEC text; ValueError naming the bad part."""
    text = str(spec).strip()
    if not text:
        raise ValueError("empty scenario: give a release (7.2, valkey-8.1), a limit "
                         "(hash-max-listpack-entries=512), allocator=... or cluster=...")
    scenario = Scenario(label=text)
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, eq, value = (x.strip() for x in part.partition("="))
        lname = name.lower()
        if not eq:
            try:
                flavor, version = parse_server(part)
            except ValueError:
                raise ValueError(f"scenario {text!r}: {part!r} is neither a release (7.2, 8.6, valkey-8.1) "
                                 "nor NAME=VALUE") from None
            if flavor == "redis" and version < (4, 0):
                raise ValueError(f"scenario {text!r}: the memory model starts at Redis 4.0")
            scenario.release = part
        elif lname == "allocator":
            if value not in ALLOCATORS:
                raise ValueError(f"scenario {text!r}: allocator must be one of {', '.join(ALLOCATORS)}")
            scenario.allocator = value
        elif lname == "cluster":
            if value.lower() not in ("yes", "no"):
                raise ValueError(f"scenario {text!r}: cluster must be yes or no")
            scenario.cluster = value.lower() == "yes"
        elif lname in CONFIG_THRESHOLDS or lname in LIST_SIZE_NAMES:
            try:
                number = int(value)
            except ValueError:
                raise ValueError(f"scenario {text!r}: {name} expects an integer, found {value!r}") from None
            if lname in LIST_SIZE_NAMES:
                scenario.limits["list_max_listpack_bytes"] = LIST_SIZE_BYTES.get(number, 8192)
            else:
                if number < 0:
                    raise ValueError(f"scenario {text!r}: {name} must not be negative")
                scenario.limits[CONFIG_THRESHOLDS[lname]] = number
        else:
            raise ValueError(f"scenario {text!r}: unknown setting {name!r} (limits: "
                             f"{', '.join(sorted(n for n in CONFIG_THRESHOLDS if 'ziplist' not in n))}, "
                             "list-max-listpack-size, allocator, cluster)")
    return scenario


def profile_of_model(model):
    """The as-is :class:`ServerProfile` a scan recorded in its metadata (``meta["model"]``)."""
    flavor, version = parse_server(str(model.get("server", "redis 7.4.0")).replace(" ", "-"))
    thresholds = Thresholds(**{k: v for k, v in (model.get("thresholds") or {}).items()
                               if k in Thresholds.__dataclass_fields__})
    return ServerProfile(flavor, version, "scan", thresholds, model.get("allocator") or "jemalloc",
                         bool(model.get("cluster")))
