"""Two snapshots side by side: ``rdbscan diff`` and the baseline of ``rdbscan check``.

:class:`Pair` opens OLD and NEW (dumps or Parquet scans, either side either)
on one DuckDB connection as ``old_keys`` / ``new_keys``, ``old_meta`` /
``new_meta`` and ``old_pattern_stats`` / ``new_pattern_stats`` (the views of
:mod:`rdbscan.analysis.dataset`, once per side), plus the macro
``key_pattern_of(key)``.  :func:`diff` runs ``diff.sql`` on it: the join on
(db, key) happens once, into a table of the changed keys only, and DuckDB
spills to disk when the sides outgrow memory.
"""

import tempfile
from importlib import resources

from rdbscan.analysis import dataset, patterns, reports
from rdbscan.scanner.records import redis_glob_to_regex

DIFF_DEFAULTS = {"top": 10}


def _q(s):
    return "'" + s.replace("'", "''") + "'"


class Pair:
    """OLD and NEW scans on one DuckDB connection (see the module docstring)."""

    def __init__(self, old, new, *, db=None, types=None, match=None, delimiters=patterns.DEFAULT_DELIMITERS,
                 depth=0, rules=None, temp_directory=None):
        self.old, self.new = old, new
        self.con = dataset.connect(list(old) + list(new))
        self.con.execute(f"SET temp_directory = {_q(temp_directory or tempfile.gettempdir())}")
        self.rules = patterns.PatternRules(delimiters=delimiters, depth=depth, rules=rules)
        self.rules.register(self.con)
        self.con.execute(f"CREATE MACRO key_pattern_of(k) AS {self.rules.sql('k')}")
        where = []
        if db:
            where.append(f"db IN ({', '.join(str(int(d)) for d in sorted(db))})")
        if types:
            where.append(f"type IN ({', '.join(_q(t) for t in sorted(types))})")
        if match is not None:
            where.append(f"regexp_full_match(key, {_q(redis_glob_to_regex(match))}, 's')")
        for side, resolved in (("old", old), ("new", new)):
            self.con.register(f"{side}_meta_rows", dataset.meta_table(resolved))
            self.con.execute(f"CREATE VIEW {side}_meta AS SELECT * FROM {side}_meta_rows")
            self.con.execute(f"CREATE VIEW {side}_keys AS "
                             + dataset.keys_sql(resolved, "key_pattern_of(key)", where,
                                              stored=dataset.stored_patterns(resolved, self.rules)))
            self.con.execute(f"CREATE TEMP TABLE {side}_pattern_stats AS "
                             + dataset.pattern_stats_sql(f"{side}_keys", biggest=0))    # diff needs no biggest keys

    @property
    def files(self):
        """(old files, new files) as absolute paths."""
        return ([dataset.location(r.parquet) for r in self.old], [dataset.location(r.parquet) for r in self.new])

    def close(self):
        """Close the connection."""
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_pair(old_sources, new_sources, *, cache_dir=None, on_scan=None, db=None, types=None, match=None,
              delimiters=patterns.DEFAULT_DELIMITERS, depth=0, rules=None, jobs=None, **model_options):
    """Resolve both sides (dumps are scanned or their caches reused) and open them as a :class:`Pair`."""
    old = dataset.resolve(old_sources, cache_dir=cache_dir, on_scan=on_scan, jobs=jobs, **model_options)
    new = dataset.resolve(new_sources, cache_dir=cache_dir, on_scan=on_scan, jobs=jobs, **model_options)
    return Pair(old, new, db=db, types=types, match=match, delimiters=delimiters, depth=depth, rules=rules)


def sql_text():
    """The SQL of ``rdbscan diff``."""
    return resources.files(__package__).joinpath("diff.sql").read_text(encoding="utf-8")


def diff(pair, top=10):
    """Run ``diff.sql`` on a :class:`Pair`; returns ``{"diff": Section}`` (render with :mod:`rdbscan.render.formats`)."""
    description, statements = reports.parse(sql_text())
    section = reports.Section("diff", reports._title(description), description)
    values = {"top": top}
    for st in statements:
        if st.kind in ("view", "temp"):   # joins used by several tables: computed once
            pair.con.execute(f"CREATE OR REPLACE TEMP TABLE {st.name} AS {st.inlined(values)}")
        else:
            table = pair.con.sql(st.sql, params=st.params(values)).to_arrow_table()
            section.tables[st.name] = reports.per_source(table, max(len(pair.old), len(pair.new)))
    return {"diff": section}
