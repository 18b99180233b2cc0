"""What the dump itself says about what it does not record: cluster mode and the allocator.

Neither is an aux field, and both change MEMORY USAGE: a Redis 7.0 / 7.2
(or Valkey 7.2) cluster node keeps 16 bytes of slot links per key, and the
allocator decides every allocation's size class.  The evidence:

- cluster: a node of a multi-master cluster holds only its own slots, a
  few contiguous ranges; the keys of a standalone server spread over all
  16384.  Empty runs longer than chance allows (given how many keys there
  are) mark the slots another node owns.
- allocator: the dump's ``used-mem`` is everything the server had
  allocated, keys included, so an estimate above it is impossible; one that
  accounts for nearly all of it fits.

Both are only evidence: rdbscan says what it assumed and which option
overrides it, never switches silently.
"""

import math

SLOTS = 16384
MIN_FOREIGN_SLOTS = SLOTS // 8   # another node's share must be at least this big to count
MAX_RANGES = 16                  # a node owns a few ranges, not a scatter


def cluster_slot_ranges(slots):
    """Evidence that keys with these hash slots come from one node of a multi-master cluster.

    ``slots`` is a sequence of key slots (a sample is enough: the first
    batch of a scan).  Returns ``{"keys", "slots", "ranges": [[first,
    last], ...]}`` when the keys occupy a few contiguous ranges leaving at
    least an eighth of the slots to other nodes, else None.  An empty run
    counts when it is longer than a standalone server's keys would leave by
    chance: ``3 ln(16384) / (keys / 16384)`` slots, at least 64.
    """
    keys = len(slots)
    if keys < 32:
        return None
    used = sorted(set(int(s) for s in slots))
    gap = max(64, int(3 * math.log(SLOTS) * SLOTS / keys))
    ranges, foreign = [], 0
    start = prev = used[0]
    for s in used[1:]:
        if s - prev - 1 >= gap:
            ranges.append([start, prev])
            foreign += s - prev - 1
            start = s
        prev = s
    ranges.append([start, prev])
    # the wrap-around run (before the first and after the last used slot)
    edge = used[0] + (SLOTS - 1 - used[-1])
    foreign += edge if edge >= gap else 0
    if foreign < MIN_FOREIGN_SLOTS or len(ranges) > MAX_RANGES:
        return None
    return {"keys": keys, "slots": len(used), "ranges": ranges}


def describe_ranges(ranges):
    """``0-5460, 10923-16383`` for a list of ``[first, last]`` ranges."""
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in ranges)


def allocator_fit(estimates, used_mem, assumed, slack=0):
    """Which allocators the dump's ``used-mem`` allows, and the likely one.

    ``estimates`` maps allocator names to the estimated total (keys plus
    keyspace tables) under each.  Returns ``(rows, note)``: per allocator
    its estimate, share of used-mem and ``impossible`` / ``fits`` /
    ``possible``; ``note`` names the likely allocator and its option when
    the assumed one is impossible or another fits and it does not, else
    None.  An estimate fits when it accounts for all but max(2 MB, 2 %) of
    used-mem (the rest of a server: clients, buffers, scripts), plus
    ``slack`` (what the estimate cannot know, such as a rehash under way).
    """
    rows = []
    if not used_mem:
        return [{"allocator": a, "estimated_total": e, "share_of_used_mem": None, "fit": None}
                for a, e in estimates.items()], None
    slack = max(2_000_000, 0.02 * used_mem) + slack
    for name, total in estimates.items():
        fit = "impossible" if total > used_mem else ("fits" if used_mem - total <= slack else "possible")
        rows.append({"allocator": name, "estimated_total": total,
                     "share_of_used_mem": round(total / used_mem, 4), "fit": fit})
    by = {r["allocator"]: r for r in rows}
    fits = [r["allocator"] for r in rows if r["fit"] == "fits"]
    possible = [r["allocator"] for r in rows if r["fit"] != "impossible"]
    mine = by.get(assumed, {}).get("fit")
    if mine == "impossible":
        why = f"the {assumed} estimate exceeds the dump's used-mem"
        candidates = fits if len(fits) == 1 else possible
    elif mine != "fits":
        why = f"only the {fits[0] if fits else ''} estimate accounts for nearly all of the dump's used-mem"
        candidates = fits
    else:
        candidates = []
    if len(candidates) == 1:
        likely = candidates[0]
        return rows, (f"allocator: {why}; the server likely used {likely} (--allocator {likely}); "
                      f"the estimates here assume {assumed}")
    if mine == "impossible":
        return rows, (f"allocator: {why}; {' or '.join(possible) or 'none'} would fit "
                      f"(--allocator); the estimates here assume {assumed}")
    return rows, None
