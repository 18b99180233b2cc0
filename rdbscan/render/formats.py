"""Rendering report sections (and ad-hoc query results) as text, JSON, CSV, Markdown or HTML.

The JSON shape is stable and documented in ``reports/report.schema.json``::

    {"rdbscan_version": "0.1.0",
     "sources": ["/abs/dump.rdb.rdbscan.parquet", ...],
     "sections": {"bigkeys": {"title": "...", "description": "...", "notes": ["..."],
                              "tables": {"by_memory": [{"db": 0, "key": "...", ...}, ...]}}}}

Timestamps are ISO 8601 strings in UTC; sizes are integers in bytes; shares
are fractions (0.25 = 25 %).
"""

import csv
import datetime as dt
import decimal
import io
import json

FORMATS = ("table", "json", "csv", "markdown", "html")

_BYTE_WORDS = ("bytes", "memory", "used_mem", "must_free", "saving", "at_stake", "estimated_total")


def _is_bytes_column(name):
    return any(w in name for w in _BYTE_WORDS) and "share" not in name


def human_bytes(n):
    """1234567 -> '1.2 MB' (decimal units, as Redis' own INFO does not; stated in the README)."""
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000


def _plain(v):
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "backslashreplace")
    return v


def rows(table):
    """A pyarrow Table as a list of JSON-ready dicts."""
    return [{k: _plain(v) for k, v in r.items()} for r in table.to_pylist()]


def _cell(name, v):
    v = _plain(v)
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)) and ("share" in name or "deviation" in name or name == "growth"):
        text = f"{100 * v:.1f}"
        return ("0.0" if text == "-0.0" else text) + " %"
    if isinstance(v, int) and _is_bytes_column(name):
        return human_bytes(v)
    if isinstance(v, int) and name.endswith("slot"):     # an identifier, not a quantity
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


_WHOLE = ("move", "flags")            # sentences: never cut
_TAIL = ("source", "file")             # paths and URLs: the end tells them apart


def _shorten(name, text, width):
    if len(text) <= width or name in _WHOLE:
        return text
    if name in _TAIL:
        return "…" + text[len(text) - width + 1:]
    return text[:width - 1] + "…"


def _text_table(table, width=48):
    names = table.column_names
    data = table.to_pylist()
    if not data:
        return "  (none)"
    if len(data) == 1 and len(names) > 4:       # one record: one field per line
        pad = max(len(n) for n in names)
        return "\n".join(f"  {n:<{pad}}  {_cell(n, data[0][n])}" for n in names)
    cells = [[_shorten(n, _cell(n, r[n]), width) for n in names] for r in data]
    widths = [max(len(n), *(len(row[i]) for row in cells)) for i, n in enumerate(names)]
    numeric = [all(isinstance(r[n], (int, float)) or r[n] is None for r in data) for n in names]

    def line(vals):
        return "  " + "  ".join(v.rjust(w) if num else v.ljust(w)
                                for v, w, num in zip(vals, widths, numeric)).rstrip()
    return "\n".join([line(names), line(["-" * w for w in widths])] + [line(r) for r in cells])


def render_text(sections):
    """Readable tables for a terminal."""
    out = []
    for name, sec in sections.items():
        out.append(f"== {name}: {sec.title}")
        for note in sec.notes:
            out.append(f"  note: {note}")
        for tname, table in sec.tables.items():
            if len(sec.tables) > 1:
                out.append(f"-- {tname}")
            out.append(_text_table(table))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def as_json_document(sections, sources=(), version=None):
    """The documented JSON shape as Python objects."""
    from rdbscan import __version__
    return {
        "rdbscan_version": version or __version__,
        "sources": list(sources),
        "sections": {name: {"title": sec.title, "description": sec.description, "notes": list(sec.notes),
                            "tables": {t: rows(tab) for t, tab in sec.tables.items()}}
                     for name, sec in sections.items()},
    }


def render_json(sections, sources=()):
    """The documented JSON document, as text."""
    return json.dumps(as_json_document(sections, sources), indent=2, ensure_ascii=False) + "\n"


def render_csv(sections):
    """CSV: one block per table, each after a ``# section.table`` line, blocks separated by a blank line."""
    buf = io.StringIO()
    first = True
    for name, sec in sections.items():
        for tname, table in sec.tables.items():
            if not first:
                buf.write("\n")
            first = False
            if len(sections) > 1 or len(sec.tables) > 1:
                buf.write(f"# {name}.{tname}\n")
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(table.column_names)
            for r in rows(table):
                w.writerow(["" if v is None else v for v in r.values()])
    return buf.getvalue()


def _md(v):
    return str(v).replace("|", "\\|").replace("\n", " ")


def render_markdown(sections):
    """Markdown: a heading per section and per table, pipe tables."""
    out = []
    for name, sec in sections.items():
        out.append(f"## {name}: {sec.title}\n")
        for note in sec.notes:
            out.append(f"> {_md(note)}\n")
        for tname, table in sec.tables.items():
            if len(sec.tables) > 1:
                out.append(f"### {tname}\n")
            names = table.column_names
            data = table.to_pylist()
            if not data:
                out.append("_none_\n")
                continue
            out.append("| " + " | ".join(names) + " |")
            out.append("|" + "|".join("---:" if isinstance(data[0][n], (int, float)) else "---" for n in names) + "|")
            for r in data:
                out.append("| " + " | ".join(_md(_cell(n, r[n])) for n in names) + " |")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def render(sections, fmt="table", sources=()):
    """Render ``{name: Section}`` in one of :data:`FORMATS`."""
    if fmt == "json":
        return render_json(sections, sources)
    if fmt == "html":          # the same document as JSON, drawn by the page (rdbscan.render.html)
        from rdbscan.render.html import render_html
        return render_html(as_json_document(sections, sources))
    if fmt == "csv":
        return render_csv(sections)
    if fmt == "markdown":
        return render_markdown(sections)
    return render_text(sections)
