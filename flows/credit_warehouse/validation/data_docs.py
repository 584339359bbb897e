"""Make Great Expectations Data Docs self-contained: no CDN, no remote logo, nothing fetched online.

GX 1.24's page templates load Bootstrap, jQuery, bootstrap-table, Font Awesome and Vega from CDNs
and a logo from S3; offline the pages are unstyled and the index tables (rendered client-side by
bootstrap-table) stay empty, online they contact those hosts. GX's packaged templates cannot be
overridden (its own loader comes first), so after each build every new or changed page is
rewritten: remote tags are removed and a small inline stylesheet plus a tiny jQuery stand-in that
renders the index tables are added. Idempotent (pages carry a marker once rewritten).
"""

from __future__ import annotations

import re
from pathlib import Path

from credit_warehouse.validation.gx_files import write_atomically

MARKER = "<!-- credit-warehouse: offline data docs -->"

_REMOTE = r"""["']https?://[^"']*["']"""
_REMOTE_TAGS = [
    re.compile(rf"<link\b[^>]*\bhref={_REMOTE}[^>]*>", re.I),
    re.compile(rf"<script\b[^>]*\bsrc={_REMOTE}[^>]*>\s*</script>", re.I),
    re.compile(rf"<img\b[^>]*\bsrc={_REMOTE}[^>]*>", re.I),
]
_REMOTE_HREF = re.compile(rf"\s+href={_REMOTE}", re.I)  # links to greatexpectations.io: plain text
_REMOTE_CSS_URL = re.compile(r"""url\(\s*["']?https?://[^)]*\)""", re.I)

OFFLINE_CSS = """
body { font-family: "HK Grotesk", "Helvetica Neue", Arial, "PingFang SC", "Microsoft YaHei", sans-serif;
       margin: 0 1.5rem 2rem; color: #222; }
a { color: #0062cc; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; vertical-align: top; text-align: left; }
th { background: #f2f2f2; }
tr.clickable-row { cursor: pointer; }
tr.clickable-row:hover { background: #f7f7f7; }
pre, code { white-space: pre-wrap; word-break: break-word; font-size: .85rem; }
.cooltip .top { display: none; }
.text-danger { color: #b00020; } .text-success { color: #1b7f2a; } .text-warning { color: #a66b00; }
.fas::before { font-style: normal; font-weight: bold; }
.fa-check-circle::before { content: "\\2714"; } .fa-times::before { content: "\\2718"; }
.fa-exclamation-triangle::before { content: "!"; } .fa-question-circle::before { content: "?"; }
.fa-comment::before { content: "\\2026"; }
.navbar, .ge-cloud-footer, .ge-newsletter, footer { padding: .5rem 0; }
.btn { display: none; }
"""

# The subset of jQuery the GX templates call, enough to render the index tables from their inline
# data (bootstrap-table would otherwise do it) and keep the other scripts from failing.
OFFLINE_JS = """
(function () {
  function sortRows(rows, columns, options) {
    var column = columns.filter(function (c) { return c.field === options.sortName; })[0];
    if (!column) return rows;
    var key = column.sortName || column.field, sign = options.sortOrder === "desc" ? -1 : 1;
    return rows.slice().sort(function (a, b) { return a[key] < b[key] ? -sign : a[key] > b[key] ? sign : 0; });
  }
  function renderTable(table, options) {
    var columns = options.columns || [], rows = sortRows(options.data || [], columns, options);
    var head = "<thead><tr>" + columns.map(function (c) { return "<th>" + (c.title || "") + "</th>"; }).join("")
      + "</tr></thead>";
    table.innerHTML = head + "<tbody></tbody>";
    var body = table.querySelector("tbody");
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      tr.innerHTML = columns.map(function (c) {
        var cell = row[c.field] == null ? "" : String(row[c.field]);
        if (c.field === "validation_success" && row._validation_success_text) {
          cell += " " + row._validation_success_text;
        }
        return "<td>" + cell + "</td>";
      }).join("");
      if (row._table_row_link_path) {
        tr.className = "clickable-row";
        tr.addEventListener("click", function (e) {
          if (!e.target.closest("a")) window.location = row._table_row_link_path;
        });
      }
      body.appendChild(tr);
    });
  }
  function wrap(nodes) {
    var api = {
      bootstrapTable: function (options) {
        if (options && typeof options === "object") nodes.forEach(function (t) { renderTable(t, options); });
        return api;
      },
      on: function () { return api; },
      ready: function (fn) {
        if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn); else fn();
        return api;
      },
      fadeIn: function () { nodes.forEach(function (n) { n.style.display = ""; }); return api; },
      fadeOut: function () { nodes.forEach(function (n) { n.style.display = "none"; }); return api; },
      parent: function () { return wrap(nodes.map(function (n) { return n.parentNode; }).filter(Boolean)); },
      data: function (key) { return nodes.length ? nodes[0].getAttribute("data-" + key) : undefined; }
    };
    return api;
  }
  window.$ = window.jQuery = function (selector) {
    if (typeof selector === "string") return wrap(Array.prototype.slice.call(document.querySelectorAll(selector)));
    return wrap(selector ? [selector] : []);
  };
})();
"""


def make_page_offline(html: str) -> str:
    """One page without remote resources, with the offline stylesheet and script."""
    if MARKER in html:
        return html
    for pattern in _REMOTE_TAGS:
        html = pattern.sub("", html)
    html = _REMOTE_HREF.sub("", html)
    html = _REMOTE_CSS_URL.sub("none", html)
    head = f"{MARKER}\n<style>{OFFLINE_CSS}</style>\n<script>{OFFLINE_JS}</script>\n"
    return html.replace("</head>", head + "</head>", 1) if "</head>" in html else head + html


def make_site_offline(site_dir: Path, since: float = 0.0) -> list[Path]:
    """Rewrite the site's pages and stylesheets modified at or after ``since`` (a timestamp)."""
    changed = []
    for path in sorted([*site_dir.rglob("*.html"), *site_dir.rglob("*.css")]):
        if path.stat().st_mtime < since:
            continue
        text = path.read_text(encoding="utf-8")
        new = make_page_offline(text) if path.suffix == ".html" else _REMOTE_CSS_URL.sub("none", text)
        if new != text:
            write_atomically(path, new.encode("utf-8"))
            changed.append(path)
    return changed


def remote_urls(site_dir: Path) -> list[str]:
    """Every http(s) URL left in the site's pages and stylesheets (should be none)."""
    found = []
    for path in sorted([*site_dir.rglob("*.html"), *site_dir.rglob("*.css")]):
        found += [f"{path.relative_to(site_dir)}: {m}" for m in
                  re.findall(r"https?://[^\s\"'<>)]+", path.read_text(encoding="utf-8"))]
    return found
