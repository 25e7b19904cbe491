"""A run's report, rendered from its ``results.json`` (the only module that writes report files
besides ``results.json`` itself, which :mod:`harness.results.store` owns).

The report is a list of :class:`Section` s (a title, a short text, a table) built once and
rendered twice: ``report.md`` and a self-contained ``report.html`` (CSS inline, plots embedded as
data URIs, no network). ``results.csv`` (one row per measurement) and the plots as PNG are
written next to them.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from harness.common.files import write_text_atomic
from harness.report.plots import TITLES, draw_all
from harness.report.search import write_plans
from harness.report.section import Section
from harness.report.sections import build_sections, objective_of
from harness.report.tables import measurements_frame, precision_rows_text
from harness.results.precision import precision_table
from harness.results.view import RunResults, as_results
from harness.ship.recommend import recommend

# ---------------------------------------------------------------------------------------------
# Rendering


def render_markdown(
    results: RunResults | dict,
    plots: dict[str, Path] | None = None,
    objective: str | None = None,
    sections: list[Section] | None = None,
) -> str:
    results = as_results(results)
    lines: list[str] = []
    for index, section in enumerate(sections or build_sections(results, objective)):
        lines += [f"{'#' if index == 0 else '##'} {section.title}", ""]
        bullet = section.anchor == "summary"
        lines += [(f"- {p}" if bullet else p) for p in section.text]
        if section.text:
            lines.append("")
        if section.header:
            lines.append("| " + " | ".join(section.header) + " |")
            lines.append("| " + " | ".join("---" for _ in section.header) + " |")
            lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in section.rows]
            lines.append("")
        if section.anchor == "precision-table" and plots:
            lines += ["## Plots", ""] + [f"![{TITLES[name]}]({path.name})" for name, path in plots.items()] + [""]
    return "\n".join(lines)


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;
color:#1d2733;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #d5dbe3;
padding-bottom:.2em}
table{border-collapse:collapse;font-size:.86em;margin:.6em 0;width:100%}
th,td{border:1px solid #d5dbe3;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eef2f7}tr:nth-child(even) td{background:#fafbfd}
code{background:#eef2f7;padding:0 .25em;border-radius:3px;font-size:.92em}
.recommendation{background:#eaf6ee;border-left:5px solid #2e8b57;padding:.6em 1em;margin:1em 0}
.recommendation p{margin:.4em 0}
.fail{color:#b03a2e;font-weight:bold}.pass{color:#2e8b57}
figure{margin:1.2em 0}figure img{max-width:100%;border:1px solid #e3e7ed}
figcaption{font-size:.85em;color:#5a6675}
ul.summary{padding-left:1.2em}details summary{cursor:pointer;font-weight:bold;margin:.6em 0}
td:first-child{white-space:nowrap}
"""
# Counts, once the page has loaded, the plots the browser could decode and any script error, on
# <body data-images=... data-images-rendered=... data-errors=...>: a headless browser's DOM dump
# then shows whether the report renders (tests/e2e/test_report.py).
SELF_CHECK = """<script>
window.addEventListener("error", () => { document.body.dataset.errors = (+document.body.dataset.errors || 0) + 1; });
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  document.body.dataset.images = images.length;
  document.body.dataset.imagesRendered = images.filter(i => i.complete && i.naturalWidth > 0).length;
});
</script>"""


def _inline(text: str) -> str:
    """Markdown's **bold** and `code` in a paragraph, as HTML (the rest escaped)."""
    out = html.escape(text, quote=False)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"`(.+?)`", r"<code>\1</code>", out)
    return re.sub(r"(?<![\w*])\*([^*\s]|[^*\s][^*]*?[^*\s])\*(?![\w*])", r"<em>\1</em>", out)


def _cell(text: str) -> str:
    rendered = _inline(text)
    if text == "**FAIL**":
        return '<td class="fail">FAIL</td>'
    if text == "pass":
        return '<td class="pass">pass</td>'
    return f"<td>{rendered}</td>"


def render_html(
    results: RunResults | dict,
    plots: dict[str, Path] | None = None,
    objective: str | None = None,
    sections: list[Section] | None = None,
) -> str:
    results = as_results(results)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Precision report {html.escape(results.run_id)}</title>",
        f"<style>{CSS}</style>{SELF_CHECK}</head><body>",
    ]
    for index, section in enumerate(sections or build_sections(results, objective)):
        tag = "h1" if index == 0 else "h2"
        body = [f'<{tag} id="{section.anchor}">{_inline(section.title)}</{tag}>']
        if section.anchor == "summary":
            body.append('<ul class="summary">' + "".join(f"<li>{_inline(p)}</li>" for p in section.text) + "</ul>")
        elif section.anchor == "recommendation":
            body.append(
                '<div class="recommendation" id="recommendation-text">'
                + "".join(f"<p>{_inline(p)}</p>" for p in section.text)
                + "</div>"
            )
        else:
            body += [f"<p>{_inline(p)}</p>" for p in section.text]
        if section.header:
            table = [
                "<table><thead><tr>"
                + "".join(f"<th>{_inline(h)}</th>" for h in section.header)
                + "</tr></thead><tbody>"
            ]
            table += ["<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in section.rows]
            table.append("</tbody></table>")
            if section.collapsed:
                table = [f"<details><summary>{len(section.rows)} rows</summary>"] + table + ["</details>"]
            body += table
        parts += body
        if section.anchor == "precision-table" and plots:
            parts.append('<h2 id="plots">Plots</h2>')
            for name, path in plots.items():
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                parts.append(
                    f'<figure id="plot-{name}"><img alt="{html.escape(TITLES[name])}" '
                    f'src="data:image/png;base64,{data}"><figcaption>{html.escape(TITLES[name])}'
                    f"</figcaption></figure>"
                )
    parts.append("</body></html>")
    return "\n".join(parts)


TERMINAL_COLUMNS = ("variant", "status", "size MB", "× fp32", "decode tok/s", "accuracy", "KLD", "gates")


def summary_lines(results: RunResults | dict, objective: str | None = None) -> list[str]:
    """The short table and the recommendation printed at the end of a pytest run."""
    results = as_results(results)
    header, rows = precision_rows_text(precision_table(results), results.references())
    keep = [header.index(c) for c in TERMINAL_COLUMNS]
    table = [[header[i] for i in keep]] + [[row[i].split(" [")[0] for i in keep] for row in rows]
    widths = [max(len(r[c]) for r in table) for c in range(len(keep))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(r, widths)).rstrip() for r in table]
    for entry in recommend(results, objective or objective_of(results)):
        lines.append(entry["text"].replace("**", ""))
    return lines


def write_report(run_dir: Path, results: RunResults | dict, objective: str | None = None) -> Path:
    """Write results.csv, the plots, report.md and report.html into ``run_dir``; returns the
    HTML report's path."""
    results = as_results(results)
    write_text_atomic(run_dir / "results.csv", measurements_frame(results).to_csv(index=False))
    write_plans(run_dir, results)
    plots = draw_all(results, run_dir)
    sections = build_sections(results, objective)  # built once, rendered twice
    write_text_atomic(run_dir / "report.md", render_markdown(results, plots, sections=sections))
    path = run_dir / "report.html"
    write_text_atomic(path, render_html(results, plots, sections=sections))
    return path
