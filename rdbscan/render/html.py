"""The HTML report: one self-contained file that draws the JSON document.

The page embeds the very document ``--format json`` writes (see
:mod:`rdbscan.render.formats`) in a ``<script type="application/json">``
block and a small hand-written script (``static/report.js``, no library)
draws every chart and table from it with DOM calls: text always goes in as
text nodes, never as markup, so key names (untrusted: anything a client
could SET) cannot execute or break the layout.  Styles (``static/report.css``)
and script are inline; the Content-Security-Policy in the page allows only
those two blocks (by hash), no network access of any kind, and Trusted Types
(so a stray ``innerHTML`` would throw instead of parsing markup).

Fonts are the reader's system fonts: nothing is fetched, so the file opens
from disk, a CI artifact or a mail attachment alike.
"""

import base64
import hashlib
import html
import json
from importlib import resources

DATA_ID = "rdbscan-data"
"""The id of the script element holding the JSON document."""


def _asset(name):
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def _sha256(text):
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def embed_json(doc):
    """``doc`` as JSON text that is safe inside a ``<script>`` element.

    ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e``, ``\\u0026`` (so no
    ``</script>`` or ``<!--`` in a key can end or alter the block) and
    U+2028/U+2029 are escaped as well; JSON.parse reads back the same strings.
    """
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    for ch, esc in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def read_embedded(page):
    """The JSON document embedded in a page written by :func:`render_html` (for tests and tools)."""
    start_tag = f'<script type="application/json" id="{DATA_ID}">'
    start = page.index(start_tag) + len(start_tag)
    return json.loads(page[start:page.index("</script>", start)])


def _title(doc):
    sections = doc.get("sections", {})
    if "diff" in sections and len(sections) == 1:
        return "rdbscan diff"
    overview = (sections.get("summary", {}).get("tables", {}).get("overview") or [{}])[0]
    parts = ["rdbscan report"]
    if overview.get("server"):
        parts.append(str(overview["server"]))
    if overview.get("snapshot_time"):
        parts.append(str(overview["snapshot_time"]).replace("T", " ").replace("Z", " UTC"))
    return " · ".join(parts)


def render_html(doc):
    """The page for a JSON document (``formats.as_json_document``), as text."""
    script = _asset("report.js")
    style = _asset("report.css")
    for block in (script, style):
        if "</" in block:
            raise AssertionError("an inline asset must not contain '</'")
    csp = (f"default-src 'none'; script-src {_sha256(script)}; style-src {_sha256(style)}; img-src data:; "
           "base-uri 'none'; form-action 'none'; require-trusted-types-for 'script'")
    from rdbscan import __version__
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="generator" content="rdbscan {html.escape(__version__)}">
<title>{html.escape(_title(doc))}</title>
<link rel="icon" href="data:,">
<style>{style}</style>
</head>
<body>
<noscript><p class="noscript">This report draws itself with JavaScript, which is turned off.
Its data is the JSON document in the element <code>#{DATA_ID}</code> of this file
(the same as <code>--format json</code>).</p></noscript>
<div id="app"></div>
<script type="application/json" id="{DATA_ID}">{embed_json(doc)}</script>
<script>{script}</script>
</body>
</html>
"""
