"""The HTML report, in a real browser (Debian's chromium under playwright, see tests/servers.py).

Each page is written by the CLI as a user would, then loaded from disk.  The
tests check that it embeds exactly the ``--format json`` document; that it
loads with no console error and no request beyond the file itself; that
every chart draws, with the values of that document; that the treemap zooms
and the tables sort and filter; and that hostile key names written by a real
redis-server stay text.  A screenshot of every section goes to
``$RDBSCAN_ARTIFACTS`` (default: a pytest temporary directory).
"""

import json
import os
import pathlib
import re
import stat
import subprocess
import sys

import pytest

from conftest import dump_path
from rdbscan.render import html as page_html
from servers import chromium, playwright_driver, running_server

def rdbscan(*args):
    # the interpreter under test (an `rdbscan` on PATH may be another install's)
    cmd = [sys.executable, "-m", "rdbscan"]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, DISPLAY="", WAYLAND_DISPLAY=""))


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("html-cache")


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    where = os.environ.get("RDBSCAN_ARTIFACTS")
    path = pathlib.Path(where) if where else tmp_path_factory.mktemp("html-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def pw():
    with playwright_driver() as driver:
        yield driver


def write_pages(tmp_path, cache_dir, name, *args):
    """(html path, JSON document from --format json) for ``rdbscan ARGS`` written both ways."""
    out = tmp_path / f"{name}.html"
    r = rdbscan(*args, "--cache-dir", cache_dir, "--format", "html", "-o", out)
    assert r.returncode == 0, r.stderr
    j = rdbscan(*args, "--cache-dir", cache_dir, "--format", "json")
    assert j.returncode == 0, j.stderr
    return out, json.loads(j.stdout)


class Loaded:
    """A page open in chromium, with what it logged and asked for."""

    def __init__(self, context, path):
        self.context = context
        self.errors, self.dialogs, self.requests = [], [], []
        self.page = context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.url = pathlib.Path(path).resolve().as_uri()
        self.page.goto(self.url)
        self.page.wait_for_selector("html[data-ready=true]")
        if self.page.query_selector(".treemap"):           # drawn once the box has its size
            self.page.wait_for_selector(".treemap .tile")

    def assert_clean(self):
        """No console error or warning, no dialog, no request but the page itself."""
        assert self.errors == []
        assert self.dialogs == []
        assert [u for u in self.requests if u != self.url] == []
        assert [u for u in self.context.requests if u != self.url] == []

    def values(self, selector):
        return self.page.eval_on_selector_all(selector, "els => els.map(e => Number(e.dataset.value))")

    def screenshots(self, directory, prefix):
        self.page.evaluate("document.body.classList.add('shot')")     # the section nav stops sticking
        shots = []
        for sec in self.page.query_selector_all("section.report"):
            name = sec.get_attribute("data-section")
            path = directory / f"{prefix}-{name}.png"
            sec.screenshot(path=str(path))
            shots.append(path)
        self.page.evaluate("document.body.classList.remove('shot')")
        return shots


def every_chart_draws(page):
    """Each chart (figure) and card group holds drawn marks; returns the chart names."""
    charts = page.eval_on_selector_all(
        "[data-chart]", "els => els.map(e => [e.dataset.chart, e.querySelectorAll('.mark, .card').length])")
    assert charts, "no chart at all"
    for name, marks in charts:
        assert marks > 0, f"chart {name} drew nothing"
    return [name for name, _ in charts]


def tables_match(page, doc):
    """Every table of the document is on the page with its rows, and its numbers as data-value."""
    for sname, sec in doc["sections"].items():
        for tname, rows in sec["tables"].items():
            sel = f"[data-section='{sname}'][data-table='{tname}']"
            if not rows:
                continue
            if len(rows) == 1 and len(rows[0]) > 4:       # one record: drawn as a list of facts
                dds = page.eval_on_selector_all(sel + " dd", "els => els.length")
                assert dds == len(rows[0]), (sname, tname)
                continue
            button = page.query_selector(f"section[data-section='{sname}'] .tablebox:has({sel}) .showall")
            if button and "show all" in button.inner_text():
                button.click()
            got = page.eval_on_selector_all(
                sel + " tbody tr", "trs => trs.map(tr => [...tr.cells].map(td => { const v = td.querySelector('[data-value]');"
                " return v ? Number(v.dataset.value) : null; }))")
            assert len(got) == len(rows), (sname, tname)
            names = list(rows[0])
            for row, cells in zip(rows, got):
                for name, cell in zip(names, cells):
                    v = row[name]
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        assert cell == pytest.approx(v), (sname, tname, name)


# ---- the document and the file ------------------------------------------------------------------

def test_page_embeds_the_json_report(tmp_path, cache_dir):
    path, doc = write_pages(tmp_path, cache_dir, "report", "report", dump_path("redis-7.4.1-lru"), "--top", "5")
    text = path.read_text(encoding="utf-8")
    assert page_html.read_embedded(text) == doc
    block = text[text.index('id="rdbscan-data">'):]
    block = block[:block.index("</script>")]
    assert "<" not in block[len('id="rdbscan-data">'):] and "&" not in block
    # one file: nothing refers outside it
    assert not re.search(r"""(src|href)\s*=\s*["']?(?![#"']|data:)""", text, re.I)
    assert "http://" not in text and "https://" not in text.replace("https://json-schema.org", "")
    assert "Content-Security-Policy" in text and "default-src 'none'" in text


def test_embedding_escapes_what_would_end_the_script():
    doc = {"sections": {"k": {"tables": {"t": [{"key": "</script><script>alert(1)</script><!--\u2028\u2029&amp;"}]}}}}
    text = page_html.embed_json(doc)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == doc
    assert page_html.read_embedded(page_html.render_html(doc)) == doc


def test_script_builds_no_markup_from_strings():
    js = (pathlib.Path(page_html.__file__).parent / "static" / "report.js").read_text(encoding="utf-8")
    for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                   "setAttribute('on", 'setAttribute("on', "setAttribute('style", "createContextualFragment"):
        assert banned not in js, banned


# ---- in the browser -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, args", [
    ("lru", ["redis-7.4.1-lru"]),
    ("lfu", ["redis-7.4.1-lfu"]),
    ("cluster", ["valkey-8.0.1-cluster"]),
    ("fleet", ["redis-7.4.1-cluster", "valkey-8.0.1-cluster", "redis-7.0.15-cluster"]),
])
def test_report_page_in_chromium(pw, tmp_path, cache_dir, artifacts, name, args):
    sources = [dump_path(a) for a in args]
    path, doc = write_pages(tmp_path, cache_dir, name, "report", *sources)
    with chromium(pw, viewport={"width": 1280, "height": 900}) as ctx:
        p = Loaded(ctx, path)
        page = p.page
        embedded = page.evaluate("JSON.parse(document.getElementById('rdbscan-data').textContent)")
        assert embedded == doc
        charts = every_chart_draws(page)
        secs = doc["sections"]
        assert {"treemap", "by-type", "sizes", "patterns", "eviction", "ttl-expiring", "advice"} <= set(charts)
        assert ({"shards", "rebalance", "eviction-shards"} <= set(charts)) == (len(sources) > 1)
        assert ("idle" in charts) == bool(secs["idle"]["tables"]["idle_longer_than"])
        assert ("hot" in charts) == bool(secs["hot"]["tables"]["frequency"])

        # drawn values are the document's
        by_type = {r["type"]: r["memory_bytes"] for r in secs["summary"]["tables"]["by_type"]}
        assert sorted(p.values("[data-chart='treemap'] .tile")) == sorted(v for v in by_type.values() if v)
        assert p.values("[data-chart='by-type'] .seg") == [
            e["memory_bytes"] for t in secs["summary"]["tables"]["by_type"]
            for e in secs["summary"]["tables"]["by_encoding"] if e["type"] == t["type"]]
        assert p.values("[data-chart='patterns'] .mark") == [r["memory_bytes"] for r in secs["patterns"]["tables"]["patterns"]]
        assert p.values("[data-chart='eviction'] .mark") == [r["evictable_bytes"] for r in secs["eviction"]["tables"]["policies"]]
        assert p.values("[data-chart='advice'] .card.mark") == [r["memory_at_stake"] for r in secs["advice"]["tables"]["advice"]]
        no_ttl = [r["memory_bytes"] for r in secs["ttl"]["tables"]["distribution"] if r["ttl"] == "no TTL"]
        assert p.values("[data-chart='ttl-expiring'] .mark") == [
            r["memory_bytes"] for r in secs["ttl"]["tables"]["expiring"]] + (no_ttl or [0])
        totals = page.eval_on_selector_all("[data-chart='sizes'] .col", "cs => cs.map(c => Number(c.dataset.total))")
        assert [t for t in totals if t] == [r["keys"] for r in secs["sizes"]["tables"]["overall"]]
        if len(sources) > 1:
            assert p.values("[data-chart='shards'] .mark") == [r["memory_bytes"] for r in secs["shards"]["tables"]["shards"]]
            assert p.values("[data-chart='rebalance'] .mark") == [r["memory_after"] for r in secs["rebalance"]["tables"]["shards"]]
            by_shard = secs["eviction"]["tables"]["shards"]
            assert len(by_shard) == len(sources)
            assert p.values("[data-chart='eviction-shards'] .mark") == [r["key_memory"] for r in by_shard]
        # exact bytes on hover
        first = page.query_selector("[data-chart='by-type'] .bvalue span")
        assert first.get_attribute("title") == f"{secs['summary']['tables']['by_type'][0]['memory_bytes']:,} bytes"
        tables_match(page, doc)

        # the sizes chart switches to memory
        page.click("[data-chart='sizes'] button[data-mode=memory]")
        totals = page.eval_on_selector_all("[data-chart='sizes'] .col", "cs => cs.map(c => Number(c.dataset.total))")
        assert [t for t in totals if t] == [r["memory_bytes"] for r in secs["sizes"]["tables"]["overall"]]

        shots = p.screenshots(artifacts, name)
        assert len(shots) == len(secs) and all(s.stat().st_size > 2000 for s in shots)
        page.screenshot(path=str(artifacts / f"{name}-top.png"))
        p.assert_clean()


@pytest.mark.parametrize("name, args", [
    ("empty", ["report", "FIXTURE:redis-7.4.1", "--match", "no-such-key*"]),        # no keys at all
    ("one-section", ["report", "bigkeys", "FIXTURE:redis-7.4.1", "--top", "3"]),
    ("old-lists", ["report", "FIXTURE:redis-2.8.24"]),                             # keys without a memory estimate
    ("depth", ["report", "FIXTURE:valkey-8.0.1", "--depth", "1", "--type", "hash", "--type", "zset"]),
])
def test_unusual_reports_draw_cleanly(pw, tmp_path, cache_dir, name, args):
    args = [dump_path(a.split(":", 1)[1]) if a.startswith("FIXTURE:") else a for a in args]
    path, doc = write_pages(tmp_path, cache_dir, name, *args)
    with chromium(pw) as ctx:
        p = Loaded(ctx, path)
        assert p.page.evaluate("JSON.parse(document.getElementById('rdbscan-data').textContent)") == doc
        sections = p.page.eval_on_selector_all("section.report", "ss => ss.map(s => s.dataset.section)")
        assert sections == list(doc["sections"])
        if name != "empty":
            every_chart_draws(p.page)
        assert p.page.query_selector(".chart-error") is None
        tables_match(p.page, doc)
        p.assert_clean()


def test_whatif_scenarios_drawn_side_by_side(pw, tmp_path, cache_dir, artifacts):
    """The whatif section's chart: one bar per scenario, as-is first, each the document's memory_bytes."""
    path, doc = write_pages(tmp_path, cache_dir, "whatif", "report", "whatif", dump_path("redis-7.0.15"),
                            "--scenario", "valkey-8.1", "--scenario", "hash-max-listpack-entries=1",
                            "--scenario", "allocator=libc")
    scenarios = doc["sections"]["whatif"]["tables"]["scenarios"]
    assert [r["scenario"] for r in scenarios][0] == "as-is" and len(scenarios) == 4
    with chromium(pw) as ctx:
        p = Loaded(ctx, path)
        assert "whatif" in every_chart_draws(p.page)
        assert p.values("[data-chart='whatif'] .mark") == [r["memory_bytes"] for r in scenarios]
        rules = p.page.eval_on_selector_all("[data-chart='whatif'] .rule", "rs => rs.map(r => r.title)")
        assert len(rules) == len(scenarios) - 1 and all(r.startswith("as-is ") for r in rules)
        colors = p.page.eval_on_selector_all("[data-chart='whatif'] .mark", "ms => ms.map(m => m.style.background)")
        for r, color in zip(scenarios[1:], colors[1:]):           # savings green, growth red
            assert ("good" in color) == (r["delta_bytes"] < 0) and ("bad" in color) == (r["delta_bytes"] > 0)
        tables_match(p.page, doc)
        p.page.screenshot(path=str(artifacts / "whatif-top.png"))
        p.assert_clean()


def test_treemap_zooms_on_click(pw, tmp_path, cache_dir, artifacts):
    path, doc = write_pages(tmp_path, cache_dir, "zoom", "report", dump_path("redis-7.4.1"))
    patterns = doc["sections"]["memmap"]["tables"]["patterns"]
    keys = doc["sections"]["memmap"]["tables"]["keys"]
    with chromium(pw, viewport={"width": 1280, "height": 900}) as ctx:
        p = Loaded(ctx, path)
        page = p.page
        tiles = "[data-chart='treemap'] .treemap > .tile"
        assert set(page.eval_on_selector_all(tiles, "ts => ts.map(t => t.dataset.kind)")) == {"type"}
        # zoom into the string type: its patterns, with the (other) tile, adding up to the type
        string = [r for r in patterns if r["type"] == "string"]
        page.click(f"{tiles}[aria-label^='string,']")
        page.wait_for_function("() => document.querySelector('.crumbs .here') && document.querySelector('.crumbs .here').textContent.startsWith('string')")
        assert sorted(p.values(tiles)) == sorted(r["memory_bytes"] for r in string if r["memory_bytes"])
        assert "other" in page.eval_on_selector_all(tiles, "ts => ts.map(t => t.dataset.kind)")
        page.screenshot(path=str(artifacts / "treemap-zoomed-type.png"))
        # then into its biggest pattern: its biggest keys and (other N keys)
        top = string[0]
        page.click(f"{tiles}[data-kind=pattern] >> nth=0")
        page.wait_for_function("() => document.querySelectorAll('.crumbs button').length === 2")
        want = [k["memory_bytes"] for k in keys if k["type"] == "string" and k["pattern"] == top["pattern"]]
        assert sorted(p.values(tiles)) == sorted(want) and sum(want) == top["memory_bytes"]
        assert set(page.eval_on_selector_all(tiles, "ts => ts.map(t => t.dataset.kind)")) <= {"key", "other"}
        # Escape goes back up, the path goes to the top
        page.keyboard.press("Escape")
        page.wait_for_function("() => document.querySelectorAll('.crumbs button').length === 1")
        page.click(".crumbs button >> nth=0")
        page.wait_for_function("() => document.querySelectorAll('.crumbs button').length === 0")
        assert len(p.values(tiles)) == len({r["type"] for r in patterns})
        p.assert_clean()


def test_tables_sort_and_filter(pw, tmp_path, cache_dir):
    path, doc = write_pages(tmp_path, cache_dir, "sort", "report", dump_path("redis-7.4.1"), "--top", "5")
    rows = doc["sections"]["bigkeys"]["tables"]["by_type_memory"]
    with chromium(pw) as ctx:
        p = Loaded(ctx, path)
        page = p.page
        table = "table[data-section=bigkeys][data-table=by_type_memory]"
        box = f"section[data-section=bigkeys] .tablebox:has({table})"
        page.click(f"{box} .showall")
        col = list(rows[0]).index("memory_bytes")

        def column():
            return page.eval_on_selector_all(f"{table} tbody tr", f"trs => trs.map(tr => Number(tr.cells[{col}].querySelector('[data-value]').dataset.value))")
        assert column() == [r["memory_bytes"] for r in rows]            # as the document orders them
        page.click(f"{table} th[data-column=memory_bytes] button")
        assert column() == sorted((r["memory_bytes"] for r in rows), reverse=True)
        assert page.get_attribute(f"{table} th[data-column=memory_bytes]", "aria-sort") == "descending"
        page.click(f"{table} th[data-column=memory_bytes] button")
        assert column() == sorted(r["memory_bytes"] for r in rows)
        page.click(f"{table} th[data-column=key] button")
        keys = page.eval_on_selector_all(f"{table} tbody tr", f"trs => trs.map(tr => tr.cells[{list(rows[0]).index('key')}].querySelector('.txt').title)")
        assert keys == sorted(r["key"] for r in rows)
        # filter
        page.fill(f"{box} input[type=search]", "hash")
        shown = page.eval_on_selector_all(f"{table} tbody tr", "trs => trs.map(tr => tr.textContent)")
        assert shown and len(shown) == sum(1 for r in rows if "hash" in json.dumps(r).lower())
        assert all("hash" in s.lower() for s in shown)
        assert page.inner_text(f"{box} .count").startswith(f"{len(shown)} of ")
        page.fill(f"{box} input[type=search]", "")
        assert len(column()) == len(rows)
        p.assert_clean()


# ---- hostile key names, written by a real redis-server ---------------------------------------------

HOSTILE = [
    b"<img src=x onerror=alert(1)>",
    b"</script><script>alert(1)</script>",
    b'"><svg onload=alert(1)>',
    "rtl:\u202egnp.exe\u202c:\u2066x\u2069".encode(),        # right-to-left override and isolates
    b"ctl:\x00\x01\x07\x1b[31m\x7f:\r\n:end",                  # control characters
    b"bad:\xff\xfe\xc3(:utf8",                                 # invalid UTF-8
    b"big:" + bytes(range(97, 123)) * 40330,                   # a 1 MB key
]
INVISIBLE = re.compile("[\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
                       "\u200b\u200c\u200e\u200f\u202a-\u202e\u2028\u2029\u2060-\u2064\u2066-\u206f\u3164\ufeff\ufff9-\ufffb]")


def shown_as(key_text):
    """How the page writes a key: invisible characters as escapes."""
    return INVISIBLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}",
                         key_text)


@pytest.fixture(scope="module")
def hostile_dump(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    with running_server(d) as r:
        for i, k in enumerate(HOSTILE):
            r.set(k, b"v" * (40_000 + 1000 * i))        # big enough for every top 10
        for i in range(30):
            r.set(f"user:{i}:name", "x" * 10)
        r.save()
    return d / "dump.rdb"


def test_hostile_keys_stay_text(pw, tmp_path, cache_dir, artifacts, hostile_dump):
    path, doc = write_pages(tmp_path, cache_dir, "hostile", "report", hostile_dump, "--allocator", "jemalloc-16")
    texts = {r["key"] for r in doc["sections"]["bigkeys"]["tables"]["by_memory"]}
    want = [k.decode("utf-8", "backslashreplace") for k in HOSTILE]
    assert set(want) <= texts
    with chromium(pw, viewport={"width": 1280, "height": 900}) as ctx:
        p = Loaded(ctx, path)
        page = p.page
        page.wait_for_timeout(300)
        # nothing ran: no dialog, no element or handler came from a key
        assert p.dialogs == []
        assert page.evaluate("document.querySelectorAll('img, svg, iframe, object, embed').length") == 0
        assert page.evaluate("document.scripts.length") == 2
        assert page.evaluate("[...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length") == 0
        # each key shows as text in the biggest-keys table: escapes visible, the whole key on hover
        table = "table[data-section=bigkeys][data-table=by_memory]"
        cells = page.eval_on_selector_all(f"{table} td .txt", "ts => ts.map(t => [t.textContent, t.title, t.getBoundingClientRect().height])")
        by_title = {}
        for content, title, height in cells:
            by_title[title] = (content, height)
        for key in want:
            if len(key) <= 80:
                assert by_title[shown_as(key)][0] == shown_as(key), key
            else:                     # the 1 MB key: shortened in place, its head in the tooltip
                title = next(t for t in by_title if t.startswith(shown_as(key[:2000])))
                assert f"{len(key):,} characters in all" in title
                content, height = by_title[title]
                assert content.startswith(key[:40]) and content.endswith(key[-10:]) and "…" in content
                assert len(content) < 100 and height < 60
        # no layout break: nothing wider than the window
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        # copy gives back the key itself
        ctx.grant_permissions(["clipboard-read", "clipboard-write"])
        rtl = want[3]
        index = page.evaluate("([sel, title]) => [...document.querySelectorAll(sel)].findIndex("
                              "tr => [...tr.querySelectorAll('.txt')].some(t => t.title === title))",
                              [f"{table} tbody tr", shown_as(rtl)])
        assert index >= 0
        row = page.query_selector_all(f"{table} tbody tr")[index]
        row.hover()
        row.query_selector("button.copy").click()
        page.wait_for_function("() => document.querySelector('button.copy.done') !== null")
        assert page.evaluate("navigator.clipboard.readText()") == rtl
        big = page.query_selector(f"{table} tbody tr >> nth=0")
        big.hover()
        big.query_selector("button.copy").click()
        page.wait_for_timeout(100)
        assert page.evaluate("navigator.clipboard.readText()") == want[-1]
        p.screenshots(artifacts, "hostile")
        p.assert_clean()


# ---- diff -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def growth_dumps(tmp_path_factory):
    d = tmp_path_factory.mktemp("growth")
    with running_server(d) as r:
        for i in range(200):
            r.hset(f"user:{i}:profile", mapping={"name": f"n{i}", "bio": "x" * 20})
        for i in range(100):
            r.set(f"session:{i:08x}-aaaa-bbbb-cccc-{i:012x}", "s" * 100, ex=3600)
        r.rpush("queue:jobs", *[f"job{i}" for i in range(100)])
        r.save()
        old = d / "old.rdb"
        os.replace(d / "dump.rdb", old)
        for i in range(200, 400):                 # the profiles grow in number
            r.hset(f"user:{i}:profile", mapping={"name": f"n{i}", "bio": "x" * 20})
        for i in range(60):                       # most sessions go
            r.delete(f"session:{i:08x}-aaaa-bbbb-cccc-{i:012x}")
        r.rpush("queue:jobs", *[f"job{i}" for i in range(100, 5000)])      # the queue grows
        r.set("cache:report:big", "r" * 300_000)  # a new big key
        r.save()
    return old, d / "dump.rdb"


def test_diff_page_in_chromium(pw, tmp_path, cache_dir, artifacts, growth_dumps):
    old, new = growth_dumps
    path, doc = write_pages(tmp_path, cache_dir, "growth", "diff", old, new, "--allocator", "jemalloc-16")
    sec = doc["sections"]["diff"]["tables"]
    deltas = [r["memory_delta"] for r in sec["by_pattern"]]
    assert any(d > 0 for d in deltas) and any(d < 0 for d in deltas)
    with chromium(pw, viewport={"width": 1280, "height": 900}) as ctx:
        p = Loaded(ctx, path)
        page = p.page
        assert page.evaluate("JSON.parse(document.getElementById('rdbscan-data').textContent)") == doc
        charts = every_chart_draws(page)
        assert {"diff-totals", "diff-patterns", "diff-types", "diff-new", "diff-vanished", "diff-growers"} <= set(charts)
        assert p.values("[data-chart='diff-patterns'] .mark") == deltas
        # growth to the right of the middle, shrinking to the left
        lefts = page.eval_on_selector_all("[data-chart='diff-patterns'] .mark", "ms => ms.map(m => parseFloat(m.style.left))")
        assert all((left >= 50) == (d >= 0) for left, d in zip(lefts, deltas))
        assert p.values("[data-chart='diff-new'] .mark") == [r["memory_bytes"] for r in sec["new_big_keys"]]
        assert p.values("[data-chart='diff-vanished'] .mark") == [r["memory_bytes"] for r in sec["vanished_big_keys"]]
        assert p.values("[data-chart='diff-totals'] .value [data-value]") == [r["after"] for r in sec["totals"] if r["after"] is not None]
        tables_match(page, doc)
        p.screenshots(artifacts, "diff")
        page.screenshot(path=str(artifacts / "diff-top.png"), full_page=True)
        p.assert_clean()


def test_sql_page(pw, tmp_path, cache_dir):
    path, doc = write_pages(tmp_path, cache_dir, "sql", "sql", "SELECT type, count(*) AS keys, sum(memory_bytes) AS memory_bytes "
                            "FROM keys GROUP BY ALL ORDER BY 3 DESC", dump_path("redis-7.4.1"))
    with chromium(pw) as ctx:
        p = Loaded(ctx, path)
        assert p.page.evaluate("JSON.parse(document.getElementById('rdbscan-data').textContent)") == doc
        tables_match(p.page, doc)
        p.assert_clean()


# ---- the command line ------------------------------------------------------------------------------------

def test_open_without_a_display_says_where_the_page_is(tmp_path, cache_dir):
    out = tmp_path / "r.html"
    r = rdbscan("report", "summary", dump_path("redis-7.4.1"), "--cache-dir", cache_dir, "-o", out, "--open")
    assert r.returncode == 0, r.stderr
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert f"no browser opened: the page is {out}" in r.stderr and r.stdout == ""


def test_open_starts_the_browser(tmp_path, cache_dir):
    seen = tmp_path / "browser-was-given"
    browser = tmp_path / "fake-browser"
    browser.write_text(f"#!/bin/sh\necho \"$1\" > {seen}\n")
    browser.chmod(browser.stat().st_mode | stat.S_IEXEC)
    r = subprocess.run([sys.executable, "-m", "rdbscan", "diff", str(dump_path("redis-7.2.6")), str(dump_path("redis-7.4.1")), "--cache-dir",
                              str(cache_dir), "--open"], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, DISPLAY=":99", BROWSER=str(browser)))
    assert r.returncode == 0, r.stderr
    written = re.search(r"wrote (\S+\.html)", r.stderr).group(1)
    assert seen.read_text().strip() == pathlib.Path(written).resolve().as_uri()
    assert page_html.read_embedded(pathlib.Path(written).read_text(encoding="utf-8"))["sections"]["diff"]
    os.unlink(written)


@pytest.mark.parametrize("args, message", [
    (["report", "DUMP", "--format", "json", "--open"], "--open shows an HTML page: use it with --format html"),
    (["check", "DUMP", "--max-keys", "1", "--format", "html"], "check writes table, json or markdown"),
])
def test_html_errors_are_one_line(cache_dir, args, message):
    r = rdbscan(*[dump_path("redis-7.4.1") if a == "DUMP" else a for a in args], "--cache-dir", cache_dir)
    assert r.returncode == 2
    lines = [x for x in r.stderr.splitlines() if "cached scan" not in x and "scanned" not in x]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.stderr
