"""Key patterns: ``user:1234:profile`` -> ``user:{id}:profile``.

Each key gets exactly one pattern: the first user rule that matches it (a
Redis glob or a regular expression, in the order given), else the inferred
one.  Inference normalises variable segments (integers, Unix times, UUIDs,
hex ids, long tokens, dates, IPv4 addresses, e-mail addresses) into
placeholders; the rules are spelled out in :mod:`rdbscan.analysis.pypatterns`, and
the compiled twin ``rdbscan.analysis._patterns`` runs them over Arrow buffers.

Rules files hold one rule per line; ``#`` starts a comment::

    session:*                      # a glob: the pattern is the glob itself
    cache:*:html => cache:{page}   # a glob with the pattern name to report
    re:^tmp:[0-9a-f]+$ => tmp:{hash}
"""

import os

import pyarrow as pa

from rdbscan.analysis import pypatterns
from rdbscan.errors import RdbscanError
from rdbscan.analysis.pypatterns import DEFAULT_DELIMITERS, INFERENCE_VERSION  # noqa: F401 (defined with the rules)
from rdbscan.scanner.records import redis_glob_to_regex

try:
    from rdbscan.analysis import _patterns
except ImportError:    # the pure-Python build
    _patterns = None

__all__ = ["DEFAULT_DELIMITERS", "PatternRules", "key_pattern", "key_patterns", "read_rules"]


def key_pattern(key, delimiters=DEFAULT_DELIMITERS, depth=0):
    """The inferred pattern of one key."""
    return pypatterns.key_pattern(key, delimiters, depth)


def key_patterns(keys, delimiters=DEFAULT_DELIMITERS, depth=0, pure=False):
    """Inferred patterns of a pyarrow string array (compiled unless ``pure`` or not built)."""
    if _patterns is None or pure:
        return pypatterns.key_patterns(keys, delimiters, depth)
    return _patterns.key_patterns(keys, delimiters, depth)


def check_delimiters(delimiters):
    """Validate a delimiter set: ASCII punctuation only (letters and digits would split ids)."""
    if not delimiters or not all(c.isascii() and not c.isalnum() and not c.isspace() for c in delimiters):
        raise RdbscanError(f"delimiters {delimiters!r}: give ASCII punctuation, e.g. ':/|.-_'")
    return delimiters


def parse_rule(text, where="rule"):
    """``(regex, name, where)`` from one rule: ``GLOB``, ``re:REGEX``, optionally ``=> NAME``."""
    rule, _, name = text.partition("=>")
    rule, name = rule.strip(), name.strip()
    if not rule:
        raise RdbscanError(f"{where}: an empty rule")
    if rule.startswith("re:"):   # RE2 syntax, checked when registered on a connection
        return rule[3:], name or rule, where
    return redis_glob_to_regex(rule), name or rule, where


def read_rules(path):
    """The rules of a rules file, as ``(regex, name, where)`` in file order."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise RdbscanError(f"{path}: cannot read the pattern rules: {e.strerror or e}") from None
    rules = []
    for n, line in enumerate(lines, 1):
        text = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if text:
            rules.append(parse_rule(text, f"{path}:{n}"))
    return rules


class PatternRules:
    """How keys map to patterns: delimiters, ``depth`` folding and user rules (first match wins)."""

    def __init__(self, delimiters=DEFAULT_DELIMITERS, depth=0, rules=None):
        self.delimiters = check_delimiters(delimiters)
        if depth < 0:
            raise RdbscanError(f"depth {depth}: give 0 (no folding) or more")
        self.depth = depth
        self.rules = []
        for r in rules or ():
            if isinstance(r, tuple):
                self.rules.append(r)
            elif isinstance(r, (str, os.PathLike)) and os.path.isfile(r):
                self.rules.extend(read_rules(r))
            else:
                self.rules.append(parse_rule(str(r)))

    def is_default(self):
        """True for the default delimiters, no folding and no rules: what ``rdbscan scan`` stores."""
        return self.delimiters == DEFAULT_DELIMITERS and not self.depth and not self.rules

    def udf_name(self):
        """The DuckDB function inferring patterns with these settings."""
        return "rdbscan_key_pattern"

    def register(self, con):
        """Register the inference function on a DuckDB connection."""
        delimiters, depth = self.delimiters, self.depth

        def infer(keys):
            return key_patterns(keys, delimiters, depth)

        for rx, _, where in self.rules:
            try:
                con.execute("SELECT regexp_full_match('', $1)", [rx]).fetchall()   # DuckDB 2 wants it fetched
            except Exception as e:
                raise RdbscanError(f"{where}: bad regular expression {rx!r}: {str(e).splitlines()[0]}") from None
        con.create_function(self.udf_name(), infer, ["VARCHAR"], "VARCHAR", type="arrow",
                            side_effects=False)

    def sql(self, column):
        """A SQL expression giving the pattern of ``column``: the rules in order, then inference."""
        def q(s):
            return "'" + s.replace("'", "''") + "'"
        infer = f"{self.udf_name()}({column})"
        if not self.rules:
            return infer
        whens = " ".join(f"WHEN regexp_full_match({column}, {q(rx)}, 's') THEN {q(name)}"
                         for rx, name, _ in self.rules)
        return f"CASE {whens} ELSE {infer} END"
