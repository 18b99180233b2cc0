"""A slot-migration plan that evens *memory* across a cluster's masters.

``redis-cli --cluster rebalance`` evens slot counts; a server runs out of
memory on bytes.  :func:`plan` takes the memory per (shard, slot) and
returns moves of slot ranges, greedily:

1. the target is the mean shard: the fleet's memory over the number of shards;
2. the most loaded shard gives to the least loaded one: at most what lifts
   the receiver to the mean and at most what brings the giver down to it;
3. what it gives is one range of its slots -- consecutive in slot order, no
   other shard's slot inside -- the range holding the most memory within
   that limit (a sliding window over the giver's slots);
4. repeat until the largest shard is within ``tolerance`` of the mean, no
   range fits (a single slot bigger than the room left: a hot slot, whose
   keys only a new hash tag can spread), or ``max_moves`` moves are planned.

A giver never drops below the mean and a receiver never rises above it, so
the largest shard only shrinks and no slot moves twice.  Memory is the
scan's ``memory_bytes`` (``MEMORY USAGE``); slots without keys have no
memory and go along with the range they sit in.

The plan is registered on DuckDB as the function ``rebalance_plan`` (see
``reports/rebalance.sql``), which adds up each move's keys and memory in SQL.
"""

SLOT_ROW = {"shard": "VARCHAR", "slot": "INTEGER", "memory_bytes": "BIGINT"}
MOVE_ROW = {"step": "INTEGER", "from_shard": "VARCHAR", "to_shard": "VARCHAR",
            "first_slot": "INTEGER", "last_slot": "INTEGER"}


def _runs(slots, owners, shard):
    """The shard's slots (sorted (slot, memory) pairs) cut where another shard holds a slot in between."""
    runs, current = [], []
    for slot, memory in slots:
        if current and any(o != shard for s in range(current[-1][0] + 1, slot) for o in owners.get(s, ())):
            runs.append(current)
            current = []
        if current and len(owners.get(slot, ())) > 1:     # a slot shared with another dump stands alone
            runs.append(current)
            current = []
        current.append((slot, memory))
        if len(owners.get(slot, ())) > 1:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _best_window(runs, limit):
    """(memory, first index run, start, end) of the range of consecutive slots holding the most memory <= limit."""
    best = None
    for r, run in enumerate(runs):
        total, start = 0, 0
        for end, (_, memory) in enumerate(run):
            total += memory
            while total > limit and start <= end:
                total -= run[start][1]
                start += 1
            if start <= end and total > 0:
                key = (total, -(end - start))        # more memory first, then fewer slots
                if best is None or key > best[0]:
                    best = (key, r, start, end)
    return None if best is None else (best[0][0], best[1], best[2], best[3])


def plan(slots, max_moves=50, tolerance=0.01, shards=None):
    """Moves that even memory across shards; see the module docstring for the method.

    ``slots``: dicts with ``shard``, ``slot`` and ``memory_bytes`` (one per
    shard and slot with keys).  ``shards``: every shard's name, those
    without keys included (default: those in ``slots``).  Returns dicts
    with ``step``, ``from_shard``, ``to_shard``, ``first_slot`` and
    ``last_slot`` (inclusive).
    """
    held = {name: {} for name in shards or ()}
    owners = {}
    for row in slots:
        if row is None or row.get("shard") is None or row.get("slot") is None:
            continue
        shard, slot = row["shard"], int(row["slot"])
        held.setdefault(shard, {})
        held[shard][slot] = held[shard].get(slot, 0) + int(row.get("memory_bytes") or 0)
        owners.setdefault(slot, set()).add(shard)
    if len(held) < 2:
        return []
    memory = {shard: sum(s.values()) for shard, s in held.items()}
    mean = sum(memory.values()) / len(memory)
    moves = []
    while len(moves) < max_moves:
        receiver = min(memory, key=lambda s: (memory[s], s))
        room = mean - memory[receiver]
        chosen = None
        for giver in sorted(memory, key=lambda s: (-memory[s], s)):
            excess = memory[giver] - mean
            if excess <= tolerance * mean or giver == receiver:
                break
            runs = _runs(sorted(held[giver].items()), owners, giver)
            window = _best_window(runs, min(excess, room))
            if window is not None:
                chosen = (giver, window, runs)
                break
            # this shard cannot give (a hot slot bigger than the room): the next ones may still even out
        if chosen is None:
            break
        giver, (moved, r, start, end), runs = chosen
        span = runs[r][start:end + 1]
        for slot, slot_memory in span:
            del held[giver][slot]
            held[receiver][slot] = held[receiver].get(slot, 0) + slot_memory
            owners[slot].discard(giver)
            owners[slot].add(receiver)
        memory[giver] -= moved
        memory[receiver] += moved
        moves.append({"step": len(moves) + 1, "from_shard": giver, "to_shard": receiver,
                      "first_slot": span[0][0], "last_slot": span[-1][0]})
    return moves


def register(con):
    """Register ``rebalance_plan(slots, shards, max_moves)`` on a DuckDB connection.

    ``slots`` is a list of ``{shard, slot, memory_bytes}`` structs,
    ``shards`` a list of every shard's name; the result is a list of
    ``{step, from_shard, to_shard, first_slot, last_slot}`` structs.
    """
    def udf(slots, shards, max_moves):
        return plan(slots or [], max_moves=int(max_moves), shards=[s for s in shards or [] if s is not None])

    con.create_function("rebalance_plan", udf,
                        [con.list_type(con.struct_type(SLOT_ROW)), con.list_type("VARCHAR"), "INTEGER"],
                        con.list_type(con.struct_type(MOVE_ROW)), type="native", side_effects=False)
