"""``rdbscan check``: rules over a snapshot (and a baseline), for CI gates.

Rules come from TOML: ``rdbscan.toml`` (keys at its top level), ``[tool.rdbscan]``
in ``pyproject.toml``, or ``--rules FILE``; command-line flags add to them::

    max_total_memory = "8GB"          # sum of memory_bytes
    max_keys = 10_000_000
    max_key_bytes = "10MB"            # any single key
    max_key_length = 1_000_000        # elements (bytes for strings)
    max_no_ttl_share = "20%"          # share of memory in keys without TTL
    require_ttl = ["cache:*", "session:*"]   # keys matching these globs must expire
    forbid = ["tmp:*", "debug:*"]     # no key may match these globs
    max_stream_pending = 10_000       # unacknowledged entries per stream
    max_growth = "10%"                # total memory vs --baseline ("1GB" for bytes)
    max_pattern_growth = "50%"        # each pattern's memory vs the baseline
    pattern_growth_min_bytes = "1MB"  # ignore patterns smaller than this (new size)

    [[limit]]                         # limits for some keys: match (glob), pattern, type
    match = "user:*"
    type = "hash"
    max_key_bytes = "1MB"
    max_key_length = 5000
    max_memory = "2GB"                # all matching keys together
    max_keys = 1_000_000
    max_growth = "20%"
    require_ttl = true

    [patterns]                        # how patterns are inferred
    delimiters = ":/|"
    depth = 0
    rules = ["session:*", "re:^tmp:.* => tmp"]

Each rule is one check with a result: passed, failed (with violations:
rule, subject, observed, limit) or skipped (growth rules without a
baseline).  Exit status of the command: 0 all pass, 1 any fails, 2 bad
input or rules.
"""

import os
import re
import tomllib
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

from rdbscan.errors import RdbscanError
from rdbscan.scanner.records import redis_glob_to_regex

MAX_EXAMPLES = 10      # violating keys listed per rule

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
          "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "t": 1000**4, "tb": 1000**4, "tib": 1024**4}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)$")

GLOBAL_KEYS = {"max_total_memory", "max_keys", "max_key_bytes", "max_key_length", "max_no_ttl_share",
               "require_ttl", "forbid", "max_stream_pending", "max_growth", "max_pattern_growth",
               "pattern_growth_min_bytes", "limit", "patterns"}
LIMIT_KEYS = {"match", "pattern", "type", "db", "max_key_bytes", "max_key_length", "max_memory", "max_keys",
              "max_growth", "require_ttl", "name"}
PATTERN_KEYS = {"delimiters", "depth", "rules"}


class RuleError(RdbscanError):
    """A rules file or flag that cannot be used."""


def parse_size(value, where):
    """Bytes from ``512``, ``"64KiB"``, ``"10MB"``."""
    if isinstance(value, bool):
        raise RuleError(f"{where}: expected a size, got {value!r}")
    if isinstance(value, (int, float)):
        return int(value)
    m = _SIZE.match(str(value).strip().lower().replace("_", ""))
    if not m or m.group(2) not in _UNITS:
        raise RuleError(f"{where}: not a size: {value!r} (examples: 512, 64KiB, 10MB)")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def parse_share(value, where):
    """A fraction from ``"20%"`` or ``0.2``."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1]) / 100
        except ValueError:
            pass
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    raise RuleError(f"{where}: expected a share such as \"20%\" or 0.2, got {value!r}")


def parse_growth(value, where):
    """``("share", 0.1)`` from ``"10%"``, ``("bytes", n)`` from a size."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return ("share", parse_share(value, where))
    return ("bytes", parse_size(value, where))


def _int(value, where):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RuleError(f"{where}: expected a whole number, got {value!r}")
    return value


def _globs(value, where):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RuleError(f"{where}: expected a glob or a list of globs, got {value!r}")
    return value


@dataclass
class Rules:
    """Parsed, validated rules."""
    source: str = "flags"
    globals: dict = field(default_factory=dict)
    limits: list = field(default_factory=list)
    patterns: dict = field(default_factory=dict)

    def merge_flags(self, **flags):
        """Add command-line rules (they override the same rule from the file)."""
        for k, v in flags.items():
            if v in (None, (), []):
                continue
            if k in ("require_ttl", "forbid"):
                self.globals[k] = list(self.globals.get(k, [])) + list(v)
            else:
                self.globals[k] = v
        return self

    def empty(self):
        """True when there is nothing to check."""
        return not self.globals and not self.limits


def parse_rules(doc, source):
    """Validate a TOML document (already parsed) into :class:`Rules`."""
    rules = Rules(source=source)
    unknown = set(doc) - GLOBAL_KEYS
    if unknown:
        raise RuleError(f"{source}: unknown rule {sorted(unknown)[0]!r} (known: {', '.join(sorted(GLOBAL_KEYS))})")
    g = rules.globals
    for k, v in doc.items():
        where = f"{source}: {k}"
        if k in ("max_total_memory", "max_key_bytes", "pattern_growth_min_bytes"):
            g[k] = parse_size(v, where)
        elif k in ("max_keys", "max_key_length", "max_stream_pending"):
            g[k] = _int(v, where)
        elif k == "max_no_ttl_share":
            g[k] = parse_share(v, where)
        elif k in ("require_ttl", "forbid"):
            g[k] = _globs(v, where)
        elif k in ("max_growth", "max_pattern_growth"):
            g[k] = parse_growth(v, where)
    for i, lim in enumerate(doc.get("limit", []) or []):
        where = f"{source}: limit #{i + 1}"
        if not isinstance(lim, dict):
            raise RuleError(f"{where}: expected a table ([[limit]])")
        unknown = set(lim) - LIMIT_KEYS
        if unknown:
            raise RuleError(f"{where}: unknown setting {sorted(unknown)[0]!r} (known: {', '.join(sorted(LIMIT_KEYS))})")
        if not any(k in lim for k in ("match", "pattern", "type", "db")):
            raise RuleError(f"{where}: say which keys it limits (match, pattern, type or db)")
        out = {k: lim[k] for k in ("match", "pattern", "type", "name") if k in lim}
        for k in ("match", "pattern", "type", "name"):
            if k in out and not isinstance(out[k], str):
                raise RuleError(f"{where}: {k} must be a string")
        if "db" in lim:
            out["db"] = _int(lim["db"], f"{where}: db")
        for k in ("max_key_bytes", "max_memory"):
            if k in lim:
                out[k] = parse_size(lim[k], f"{where}: {k}")
        for k in ("max_key_length", "max_keys"):
            if k in lim:
                out[k] = _int(lim[k], f"{where}: {k}")
        if "max_growth" in lim:
            out["max_growth"] = parse_growth(lim["max_growth"], f"{where}: max_growth")
        if "require_ttl" in lim:
            if not isinstance(lim["require_ttl"], bool):
                raise RuleError(f"{where}: require_ttl must be true or false")
            out["require_ttl"] = lim["require_ttl"]
        rules.limits.append(out)
    pat = doc.get("patterns", {}) or {}
    unknown = set(pat) - PATTERN_KEYS
    if unknown:
        raise RuleError(f"{source}: [patterns]: unknown setting {sorted(unknown)[0]!r}")
    rules.patterns = dict(pat)
    return rules


def load_rules(path=None, cwd="."):
    """Rules from ``path``, else ``rdbscan.toml``, else ``[tool.rdbscan]`` of ``pyproject.toml``, else none."""
    candidates = [path] if path else [os.path.join(cwd, "rdbscan.toml"), os.path.join(cwd, "pyproject.toml")]
    for p in candidates:
        if not os.path.isfile(p):
            if path:
                raise RuleError(f"{p}: no such rules file")
            continue
        try:
            with open(p, "rb") as f:
                doc = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise RuleError(f"{p}: not valid TOML: {e}") from None
        except OSError as e:
            raise RuleError(f"{p}: cannot read: {e.strerror or e}") from None
        if os.path.basename(p) == "pyproject.toml" and not path:
            doc = doc.get("tool", {}).get("rdbscan")
            if doc is None:
                continue
            return parse_rules(doc, f"{p} [tool.rdbscan]")
        if os.path.basename(p) == "pyproject.toml":
            doc = doc.get("tool", {}).get("rdbscan", {})
        return parse_rules(doc, p)
    return Rules(source="flags")


@dataclass
class Result:
    """The outcome of one rule."""
    rule: str
    status: str                 # "passed", "failed" or "skipped"
    limit: object = None
    observed: object = None
    violations: list = field(default_factory=list)   # dicts: subject, observed, limit
    message: str = ""


def _q(s):
    return "'" + s.replace("'", "''") + "'"


def _where(lim):
    parts = []
    if "match" in lim:
        parts.append(f"regexp_full_match(key, {_q(redis_glob_to_regex(lim['match']))}, 's')")
    if "pattern" in lim:
        parts.append(f"pattern = {_q(lim['pattern'])}")
    if "type" in lim:
        parts.append(f"type = {_q(lim['type'])}")
    if "db" in lim:
        parts.append(f"db = {int(lim['db'])}")
    return " AND ".join(parts) or "true"


def _limit_name(lim):
    if "name" in lim:
        return lim["name"]
    return "limit[" + ",".join(f"{k}={lim[k]}" for k in ("match", "pattern", "type", "db") if k in lim) + "]"


class Checker:
    """Evaluates :class:`Rules` on a connection with ``{side}_keys`` views (see :class:`rdbscan.analysis.diff.Pair`)."""

    def __init__(self, con, rules, keys="new_keys", baseline_keys=None):
        self.con, self.rules, self.keys, self.base = con, rules, keys, baseline_keys
        self.results = []

    def _one(self, sql):
        return self.con.execute(sql).fetchone()

    def _rows(self, sql):
        cur = self.con.execute(sql)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    def _add(self, rule, limit, observed, violations, skipped=None):
        if skipped:
            self.results.append(Result(rule, "skipped", limit, None, [], skipped))
        else:
            self.results.append(Result(rule, "failed" if violations else "passed", limit, observed, violations))

    def _keys_over(self, rule, column, limit, where="true", label="key"):
        k = self.keys
        count, worst = self._one(f"SELECT count(*), max({column}) FROM {k} WHERE {where} AND {column} > {limit}")
        rows = self._rows(f"SELECT db, key, {column} AS v FROM {k} WHERE {where} AND {column} > {limit} "
                          f"ORDER BY {column} DESC, db, key LIMIT {MAX_EXAMPLES}")
        violations = [{"subject": f"db{r['db']} {r['key']}", "observed": r["v"], "limit": limit} for r in rows]
        if count > len(rows):
            violations.append({"subject": f"... and {count - len(rows):,} more {label}s", "observed": None,
                               "limit": limit})
        self._add(rule, limit, worst if count else self._one(f"SELECT max({column}) FROM {k} WHERE {where}")[0],
                  violations)

    def _require_ttl(self, rule, where, subject):
        k = self.keys
        count, mem, example = self._one(
            f"SELECT count(*), coalesce(sum(memory_bytes), 0), min(key) FROM {k} WHERE {where} AND expire_at IS NULL")
        v = [{"subject": f"{subject}: {count:,} keys without TTL ({mem:,} bytes), e.g. {example}",
              "observed": count, "limit": 0}] if count else []
        self._add(rule, 0, count, v)

    def _growth(self, rule, growth, where, subject):
        if self.base is None:
            self._add(rule, growth[1], None, [], skipped="no --baseline to compare with")
            return
        before = self._one(f"SELECT coalesce(sum(memory_bytes), 0) FROM {self.base} WHERE {where}")[0]
        after = self._one(f"SELECT coalesce(sum(memory_bytes), 0) FROM {self.keys} WHERE {where}")[0]
        kind, lim = growth
        observed = (after - before) / before if kind == "share" and before else (
            float("inf") if kind == "share" and after > 0 else (0.0 if kind == "share" else after - before))
        bad = observed > lim
        v = [{"subject": f"{subject}: {before:,} -> {after:,} bytes", "observed": _fmt_growth(kind, observed),
              "limit": _fmt_growth(kind, lim)}] if bad else []
        self._add(rule, _fmt_growth(kind, lim), _fmt_growth(kind, observed), v)

    def run(self):
        """Evaluate every rule; returns the list of :class:`Result`."""
        g, k = self.rules.globals, self.keys
        if "max_total_memory" in g:
            total = self._one(f"SELECT coalesce(sum(memory_bytes), 0) FROM {k}")[0]
            lim = g["max_total_memory"]
            self._add("max_total_memory", lim, total,
                      [{"subject": "all keys", "observed": total, "limit": lim}] if total > lim else [])
        if "max_keys" in g:
            n = self._one(f"SELECT count(*) FROM {k}")[0]
            lim = g["max_keys"]
            self._add("max_keys", lim, n, [{"subject": "all keys", "observed": n, "limit": lim}] if n > lim else [])
        if "max_key_bytes" in g:
            self._keys_over("max_key_bytes", "memory_bytes", g["max_key_bytes"])
        if "max_key_length" in g:
            self._keys_over("max_key_length", "length", g["max_key_length"])
        if "max_no_ttl_share" in g:
            share = self._one(f"SELECT coalesce(sum(memory_bytes) FILTER (WHERE expire_at IS NULL), 0) / "
                              f"nullif(sum(memory_bytes), 0) FROM {k}")[0] or 0.0
            lim = g["max_no_ttl_share"]
            self._add("max_no_ttl_share", lim, round(share, 4),
                      [{"subject": "memory in keys without TTL", "observed": round(share, 4), "limit": lim}]
                      if share > lim else [])
        for glob in g.get("require_ttl", []):
            self._require_ttl(f"require_ttl[{glob}]",
                              f"regexp_full_match(key, {_q(redis_glob_to_regex(glob))}, 's')", glob)
        for glob in g.get("forbid", []):
            where = f"regexp_full_match(key, {_q(redis_glob_to_regex(glob))}, 's')"
            count, example = self._one(f"SELECT count(*), min(key) FROM {k} WHERE {where}")
            self._add(f"forbid[{glob}]", 0, count,
                      [{"subject": f"{glob}: {count:,} keys, e.g. {example}", "observed": count, "limit": 0}]
                      if count else [])
        if "max_stream_pending" in g:
            self._keys_over("max_stream_pending", "stream_pending", g["max_stream_pending"], "type = 'stream'",
                            "stream")
        if "max_growth" in g:
            self._growth("max_growth", g["max_growth"], "true", "all keys")
        if "max_pattern_growth" in g:
            self._pattern_growth(g["max_pattern_growth"], g.get("pattern_growth_min_bytes", 1_000_000))
        for lim in self.rules.limits:
            name, where = _limit_name(lim), _where(lim)
            if "max_key_bytes" in lim:
                self._keys_over(f"{name}.max_key_bytes", "memory_bytes", lim["max_key_bytes"], where)
            if "max_key_length" in lim:
                self._keys_over(f"{name}.max_key_length", "length", lim["max_key_length"], where)
            if "max_memory" in lim:
                m = self._one(f"SELECT coalesce(sum(memory_bytes), 0) FROM {k} WHERE {where}")[0]
                self._add(f"{name}.max_memory", lim["max_memory"], m,
                          [{"subject": name, "observed": m, "limit": lim["max_memory"]}] if m > lim["max_memory"] else [])
            if "max_keys" in lim:
                n = self._one(f"SELECT count(*) FROM {k} WHERE {where}")[0]
                self._add(f"{name}.max_keys", lim["max_keys"], n,
                          [{"subject": name, "observed": n, "limit": lim["max_keys"]}] if n > lim["max_keys"] else [])
            if lim.get("require_ttl"):
                self._require_ttl(f"{name}.require_ttl", where, name)
            if "max_growth" in lim:
                self._growth(f"{name}.max_growth", lim["max_growth"], where, name)
        return self.results

    def _pattern_growth(self, growth, min_bytes):
        rule = "max_pattern_growth"
        if self.base is None:
            self._add(rule, growth[1], None, [], skipped="no --baseline to compare with")
            return
        kind, lim = growth
        bp, np_ = self.base.replace("_keys", "_pattern_stats"), self.keys.replace("_keys", "_pattern_stats")
        delta = "coalesce(n.m, 0) - coalesce(o.m, 0)"
        measure = delta if kind == "bytes" else f"({delta}) / nullif(coalesce(o.m, 0), 0)"
        rows = self._rows(
            f"WITH o AS (SELECT pattern, sum(memory_bytes) AS m FROM {bp} GROUP BY pattern), "
            f"n AS (SELECT pattern, sum(memory_bytes) AS m FROM {np_} GROUP BY pattern) "
            f"SELECT n.pattern, coalesce(o.m, 0)::BIGINT AS before, n.m::BIGINT AS after, {measure} AS g "
            f"FROM n LEFT JOIN o ON o.pattern = n.pattern "
            f"WHERE n.m >= {int(min_bytes)} AND ({measure} > {lim} OR (o.m IS NULL AND {'true' if kind == 'share' else 'false'}))"
            f" ORDER BY {delta} DESC, n.pattern LIMIT {MAX_EXAMPLES + 1}")
        v = [{"subject": f"{r['pattern']}: {r['before']:,} -> {r['after']:,} bytes" + (" (new)" if not r["before"] else ""),
              "observed": _fmt_growth(kind, r["g"] if r["g"] is not None else float("inf")),
              "limit": _fmt_growth(kind, lim)} for r in rows[:MAX_EXAMPLES]]
        if len(rows) > MAX_EXAMPLES:
            v.append({"subject": "... and more patterns", "observed": None, "limit": _fmt_growth(kind, lim)})
        self._add(rule, _fmt_growth(kind, lim), None, v)


def _fmt_growth(kind, v):
    if v is None:
        return None
    if kind == "share":
        return "inf" if v == float("inf") else f"{100 * v:.1f}%"
    return int(v)


def summary(results):
    """Counts of passed / failed / skipped rules."""
    return {s: sum(1 for r in results if r.status == s) for s in ("passed", "failed", "skipped")}


def as_json(results, source=None, baseline=None):
    """The JSON document of a check run."""
    return {"source": source, "baseline": baseline, "summary": summary(results),
            "results": [{"rule": r.rule, "status": r.status, "limit": r.limit, "observed": r.observed,
                         "violations": r.violations, "message": r.message} for r in results]}


def render_text(results):
    """A readable list: one line per failed or skipped rule, its violations indented, then the counts."""
    lines = []
    for r in results:
        if r.status == "failed":
            lines.append(f"FAIL  {r.rule} (limit {r.limit})")
            for v in r.violations:
                lines.append(f"      {v['subject']}" + (f": {v['observed']}" if v["observed"] is not None else ""))
        elif r.status == "skipped":
            lines.append(f"SKIP  {r.rule}: {r.message}")
        else:
            lines.append(f"ok    {r.rule} (observed {r.observed}, limit {r.limit})")
    s = summary(results)
    lines.append(f"{s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped")
    return "\n".join(lines) + "\n"


def render_markdown(results, source=None):
    """A Markdown summary (for $GITHUB_STEP_SUMMARY)."""
    s = summary(results)
    icon = "❌" if s["failed"] else "✅"
    out = [f"### {icon} rdbscan check" + (f": `{source}`" if source else ""), "",
           f"{s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped", "",
           "| rule | status | observed | limit |", "|---|---|---:|---:|"]
    for r in results:
        out.append(f"| `{r.rule}` | {r.status} | {r.observed if r.observed is not None else '-'} | {r.limit} |")
        for v in r.violations:
            subject = str(v["subject"]).replace("|", "\\|")
            observed = v["observed"] if v["observed"] is not None else ""
            out.append(f"| | ↳ {subject} | {observed} | |")
    return "\n".join(out) + "\n"


def junit_xml(results, name="rdbscan check"):
    """JUnit XML: one test case per rule (failure / skipped elements as Jenkins and GitLab read them)."""
    s = summary(results)
    suites = ET.Element("testsuites", name=name, tests=str(len(results)), failures=str(s["failed"]),
                        skipped=str(s["skipped"]), errors="0")
    suite = ET.SubElement(suites, "testsuite", name=name, tests=str(len(results)), failures=str(s["failed"]),
                          skipped=str(s["skipped"]), errors="0")
    for r in results:
        case = ET.SubElement(suite, "testcase", classname="rdbscan.analysis.check", name=r.rule)
        if r.status == "failed":
            detail = "\n".join(f"{v['subject']}: observed {v['observed']}, limit {v['limit']}" for v in r.violations)
            ET.SubElement(case, "failure", message=f"{r.rule}: limit {r.limit} exceeded",
                          type="RuleViolation").text = detail
        elif r.status == "skipped":
            ET.SubElement(case, "skipped", message=r.message)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
