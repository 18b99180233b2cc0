"""The reports: SQL files run by DuckDB over a :class:`rdbscan.analysis.dataset.Dataset`.

Each section is one ``NAME.sql`` file in this package.  Its leading comment
describes it; then statements follow, each introduced by a marker line:

``-- table: NAME``
    a result table of the section (``notes`` is special: one text column
    whose rows are remarks printed with the section);
``-- fleet table: NAME``
    a result table only for a dataset of more than one dump (the dumps side
    by side); a dataset of one dump has no such table;
``-- view: NAME``
    a helper view the later statements of the section use;
``-- temp: NAME``
    a helper table computed once (a small aggregate several statements read);
``-- values: NAME``
    a query of one integer column whose values later statements use as the
    literal list ``$NAME`` (``"offset" IN $NAME``): a constant list lets the
    Parquet scan skip the rows it excludes before reading their key text,
    which a join or subquery does not.

A column named ``source`` (the dump a row comes from) is left out of a
table when the dataset holds one dump: ranked tables show it for fleets.

Statements may use the parameters ``$top``, ``$maxmemory``, ``$idle``,
``$big_value``, ``$tiny_keys``, ``$pending`` and ``$max_moves`` (see
:data:`DEFAULTS`).  The connection carries ``key_pattern(key)`` and
``rebalance_plan(...)`` (:mod:`rdbscan.analysis.rebalance`).
Read or copy the files: ``rdbscan sql`` runs the same SQL with the same
views (``keys``, ``meta``, ``pattern_stats``).
"""

import re
from dataclasses import dataclass, field
from importlib import resources

import pyarrow as pa

from rdbscan.errors import RdbscanError

SECTIONS = ("summary", "memmap", "bigkeys", "sizes", "patterns", "nottl", "ttl", "idle", "hot", "eviction",
            "whatif", "advice", "streams", "slots", "shards", "rebalance")
"""Every section, in the order ``rdbscan report`` prints them."""

FLEET_SECTIONS = ("shards", "rebalance")
"""Sections about dumps side by side: part of every report when a dataset holds more than one dump
(asked for by name, they run on one dump too)."""

DEFAULTS = {
    "top": 10,               # rows per ranked table
    "maxmemory": None,       # eviction: each server's limit to test (None: each dump's used-mem)
    "idle": 86400,           # idle / eviction: seconds without access that make a key cold
    "big_value": 10_000,     # advice: string values at least this long are worth compressing
    "tiny_keys": 1000,       # advice: patterns with this many small strings are worth bucketing
    "pending": 1000,         # advice: streams with this many unacknowledged entries
    "max_moves": 50,         # rebalance: the most slot-range moves a plan may hold
}

MAX_LIST = 10_000    # longest literal list a "values" statement becomes

_MARKER = re.compile(r"^--\s*(fleet table|table|view|temp|values):\s*(\w+)\s*$", re.M)
_PARAM = re.compile(r"\$(\w+)")


@dataclass
class Statement:
    """One statement of a section's SQL file."""
    kind: str        # "table", "view", "temp" or "values"
    name: str
    sql: str
    fleet: bool = False    # a table only for more than one dump

    def inlined(self, values, only=None):
        """The SQL with its parameters (or those in ``only``) written in as literals (views take no parameters)."""
        def literal(m):
            if only is not None and m.group(1) not in only:
                return m.group(0)
            v = values[m.group(1)]
            if isinstance(v, str):       # a list from a "values" statement, already SQL
                return v
            return "NULL" if v is None else repr(int(v) if float(v).is_integer() else float(v))
        return _PARAM.sub(literal, self.sql)

    def params(self, values, skip=()):
        """The parameter values this statement uses (but those in ``skip``)."""
        return {p: values[p] for p in dict.fromkeys(_PARAM.findall(self.sql)) if p not in skip}


@dataclass
class Section:
    """One report section's results: its tables (pyarrow) and notes."""
    name: str
    title: str
    description: str
    tables: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


def sql_text(section):
    """The SQL file of a section, as text."""
    if section not in SECTIONS:
        raise KeyError(section)
    return resources.files(__package__).joinpath(f"{section}.sql").read_text(encoding="utf-8")


def parse(text):
    """(description, statements) of a section's SQL text."""
    parts = _MARKER.split(text)
    head = parts[0]
    description = " ".join(line[2:].strip() for line in head.splitlines() if line.startswith("--")).strip()
    statements = []
    for kind, name, body in zip(parts[1::3], parts[2::3], parts[3::3]):
        fleet = kind == "fleet table"
        statements.append(Statement("table" if fleet else kind, name, body.strip().rstrip(";").strip(), fleet))
    return description, statements


def _title(description):
    first = description.split(":", 1)
    return first[1].split(".")[0].strip() if len(first) == 2 else description


def run_section(dataset, section, scenarios=None, explicit=True, **params):
    """Run one section on ``dataset``; returns a :class:`Section` of pyarrow Tables.

    ``scenarios`` (for ``whatif``): :class:`rdbscan.model.scenario.Scenario`
    objects or SPEC strings; default the newest layouts and compact encodings.
    A ``whatif`` over scans without what-if columns raises RdbscanError,
    unless not ``explicit`` (every section asked): then its tables are
    empty and a note says why.
    """
    values = dict(DEFAULTS)
    values.update({k: v for k, v in params.items() if v is not None})
    unknown = set(values) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown report parameters: {', '.join(sorted(unknown))}")
    description, statements = parse(sql_text(section))
    if any("pattern_stats" in st.sql for st in statements):
        dataset.materialize_pattern_stats(idle=values["idle"], big_value=values["big_value"])
    missing = None
    if section == "whatif":
        from rdbscan.analysis import whatif
        if not scenarios or isinstance(scenarios[0], str):
            scenarios = whatif.scenarios_from_specs(scenarios)
        missing = whatif.missing_columns(dataset, scenarios)
        if missing and explicit:
            raise RdbscanError(missing)
        if missing:
            whatif.ensure_tables(dataset)
        else:
            whatif.materialize(dataset, scenarios)
    elif section == "advice":
        from rdbscan.analysis import whatif
        whatif.ensure_tables(dataset)
    result = Section(section, _title(description), description)
    if missing:
        result.notes.append(missing)
    con = dataset.con
    lists = {}
    for st in statements:
        if st.fleet and len(dataset.files) < 2:
            continue
        if st.kind in ("view", "temp"):
            what = "VIEW" if st.kind == "view" else "TABLE"
            con.execute(f"CREATE OR REPLACE TEMP {what} {st.name} AS {st.inlined({**values, **lists})}")
            continue
        sql = Statement(st.kind, st.name, st.inlined(lists, only=lists)).sql if lists else st.sql
        if st.kind == "values":
            got = con.sql(f"SELECT * FROM ({sql}) LIMIT {MAX_LIST + 1}", params=st.params(values, skip=lists)).fetchall()
            got = [v for (v,) in got if v is not None]
            if len(got) > MAX_LIST:       # too many for a literal: the same rows as a subquery (slower, as exact)
                lists[st.name] = "(" + st.inlined(values) + ")"
            else:
                lists[st.name] = "(" + (", ".join(str(int(v)) for v in got) or "NULL") + ")"
            continue
        table = con.sql(sql, params=st.params(values, skip=lists)).to_arrow_table()
        if section not in FLEET_SECTIONS:
            table = per_source(table, len(dataset.files))
        if st.name == "notes":
            result.notes.extend(n for n in table.column(0).to_pylist() if n)
        else:
            result.tables[st.name] = table
    return result


def per_source(table, files):
    """``table`` without its ``source`` column when the dataset holds one dump (``files`` < 2)."""
    if files < 2 and "source" in table.column_names:
        return table.drop_columns(["source"])
    return table


ASKED_SECTIONS = ("whatif",)
"""Sections that run only when named: a what-if re-evaluates the model for every key and scenario
(about a second per scenario and 1.5 M keys), and its scan keeps more per key."""


def default_sections(dataset):
    """The sections of a whole report: all but :data:`ASKED_SECTIONS`, the fleet sections only for more than one dump."""
    several = len(dataset.files) > 1
    return [s for s in SECTIONS if (several or s not in FLEET_SECTIONS) and s not in ASKED_SECTIONS]


def run(dataset, sections=None, scenarios=None, **params):
    """Run ``sections`` (default: :func:`default_sections`) on ``dataset``; returns ``{name: Section}`` in order.

    ``scenarios`` go to the ``whatif`` section (which runs before ``advice``,
    whose encoding advice then cites the matching scenario's figure).
    """
    names = default_sections(dataset) if not sections else sections
    for name in names:
        if name not in SECTIONS:
            raise KeyError(name)
    return {name: run_section(dataset, name, scenarios=scenarios if name == "whatif" else None,
                              explicit=bool(sections), **params)
            for name in names}
