"""The report page: the summary, problems by code, time; one self-contained HTML text.

Everything is inline (CSS, the SVG chart); a Content-Security-Policy forbids any request and
any script, so the page opens the same from an email attachment, a ticket or a laptop offline.
Every text passes through :func:`._text.page_text` (printable, masked if asked, escaped). The
CSS is scoped to ``.pp-report`` so the same markup can sit inside a notebook's page.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .._chart_layout import STATUS_COLORS, rows_text, share_text
from ..problem_codes import PROBLEMS
from ..status import PROBLEM_STATUSES
from ._collect import ProblemRows, ReportData, now_ms
from ._text import mask_value, page_text
from ._timeline import timeline_svg

__all__ = ["render_fragment", "render_page", "verdict"]

_CSS = """
.pp-report{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;
max-width:60rem;margin:0 auto;padding:1.5rem}
.pp-report h1{font-size:1.7rem;margin:0 0 .3rem}.pp-report h2{font-size:1.3rem;margin:2rem 0 .6rem;
border-bottom:2px solid #ddd;padding-bottom:.2rem}.pp-report h3{font-size:1.05rem;margin:1.4rem 0 .3rem}
.pp-report .verdict{font-size:1.1rem;padding:.7rem 1rem;border-left:6px solid;background:#f6f6f6}
.pp-report .verdict.ready{border-color:#009E73}.pp-report .verdict.not-ready{border-color:#D55E00}
.pp-report dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.8rem 0}
.pp-report dt{font-weight:600}.pp-report dd{margin:0;overflow-wrap:anywhere}
.pp-report table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}
.pp-report th,.pp-report td{padding:.3rem .6rem;border-bottom:1px solid #e2e2e2;text-align:left;
vertical-align:top}
.pp-report td.num,.pp-report th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.pp-report td.text{overflow-wrap:anywhere;word-break:break-word}
.pp-report code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}
.pp-report .swatch{display:inline-block;width:.8em;height:.8em;margin-right:.4em;border-radius:2px;
vertical-align:baseline}
.pp-report .muted{color:#555}.pp-report svg{width:100%;height:auto;font-size:11px;fill:#333}
.pp-report figure{margin:.5rem 0}.pp-report figcaption{color:#555;font-size:.9rem}
.pp-report footer{margin-top:2rem;color:#555;font-size:.85rem}
@media print{.pp-report{max-width:none;padding:0;font-size:11pt}.pp-report h2{break-after:avoid}
.pp-report section.problem,.pp-report figure,.pp-report tr{break-inside:avoid}
.pp-report a{color:inherit;text-decoration:none}.pp-report .verdict{background:none}}
"""
# No request and no script, whatever a value managed to carry: the browser enforces it.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def _when(iso: str | None) -> str:
    if not iso:
        return "not recorded"
    stamp = pd.Timestamp(iso)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC")


def verdict(data: ReportData) -> tuple[bool, str]:
    """Whether the data is ready to send (or was sent), and the one sentence that says so."""
    counts, total = data.counts, data.rows
    to_fix = sum(counts[name] for name in PROBLEM_STATUSES)
    left_out = counts["duplicate"] + counts["skipped"]
    aside = f" ({rows_text(left_out)} duplicate or skipped by choice)" if left_out else ""
    if total == 0:
        return False, "No rows were checked: there is nothing to send."
    if "app_id" in data.run:  # a publish
        if counts["failed"]:
            return False, (
                f"Not finished: {rows_text(counts['failed'])} could not be delivered; publish again "
                f"(with the same journal) to send them."
            )
        if to_fix:
            return False, (
                f"{rows_text(counts['sent'])} sent; {rows_text(to_fix)} need fixing in the export "
                f"before they can be sent{aside}."
            )
        return True, f"Done: every row that passed its checks was sent ({rows_text(counts['sent'])}){aside}."
    if to_fix:
        return False, (
            f"Not ready to send: {rows_text(to_fix)} ({share_text(to_fix, total)}) fail a check; "
            f"fix them in the export, or send only the {rows_text(counts['valid'])} that pass{aside}."
        )
    return True, f"Ready to send: all {rows_text(counts['valid'])} to send pass every check{aside}."


def _options(run: dict[str, Any], t) -> list[tuple[str, str]]:
    options = run.get("options")
    if not isinstance(options, dict):
        return [("Options", "not recorded (a status frame read back from a file)")]
    columns = options.get("columns") or {}
    mapping = ", ".join(f"<code>{t(a)}</code> → <code>{t(b)}</code>" for a, b in columns.items())
    allowed = options.get("allowed_events")
    login = options.get("login_events") or []
    login_count = int(options.get("login_events_count", len(login)))
    login_text = ", ".join(f"<code>{t(name)}</code>" for name in login) or "none"
    if login_count > len(login):
        login_text += f" and {login_count - len(login):,} more"
    return [
        ("Column mapping", mapping or "none (the columns have the API's names)"),
        ("Unit of epoch numbers", t(options.get("unit", "ms"))),
        ("Time zone of naive times", t(options.get("tz")) if options.get("tz") else "none: read as UTC"),
        ("Allowed events", "any name" if allowed is None else f"{int(allowed):,} names"),
        ("Login events", login_text),
        ("Stale events", t(options.get("on_stale", "warn"))),
        ("Future tolerance", t(options.get("future_tolerance", ""))),
    ]


def _summary(data: ReportData, t) -> list[str]:
    ready, sentence = verdict(data)
    run = data.run
    items = [
        ("Source", t(data.source) if data.source else "a DataFrame (in memory)"),
        ("Rows", f'<span data-count="rows">{data.rows:,}</span>'),
        ("Run", "publish" if "app_id" in run else "validate (nothing sent)"),
        ("Time of the run", t(_when(run.get("ran_at")))),
    ]
    if "app_id" in run:
        items.append(("App id", f"<code>{t(run['app_id'])}</code>"))
    items += _options(run, t)
    out = [
        '<section aria-labelledby="pp-summary"><h2 id="pp-summary">Summary</h2>',
        f'<p class="verdict {"ready" if ready else "not-ready"}" data-ready="{str(ready).lower()}">'
        f"{t(sentence)}</p><dl>",
        *(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in items),
        '</dl><h3 id="pp-statuses">Rows per status</h3><table aria-labelledby="pp-statuses">'
        '<thead><tr><th scope="col">Status</th><th scope="col" class="num">Rows</th>'
        '<th scope="col" class="num">Share</th></tr></thead><tbody>',
    ]
    for name, count in data.counts.items():
        if count:
            out.append(
                f'<tr data-status="{name}"><th scope="row"><span class="swatch" '
                f'style="background:{STATUS_COLORS[name]}"></span>{name}</th>'
                f'<td class="num">{count:,}</td><td class="num">{share_text(count, data.rows)}</td></tr>'
            )
    out.append(
        f'</tbody><tfoot><tr><th scope="row">all</th><td class="num">{data.rows:,}</td>'
        f'<td class="num">{"100%" if data.rows else "0%"}</td></tr></tfoot></table></section>'
    )
    return out


def _problem(item: ProblemRows, total: int, t, redact: bool) -> list[str]:
    out = [
        f'<section class="problem" id="problem-{t(item.code)}" data-code="{t(item.code)}" '
        f'aria-labelledby="h-{t(item.code)}"><h3 id="h-{t(item.code)}"><code>{t(item.code)}</code></h3>',
        f"<p>{page_text(PROBLEMS.get(item.code, ''))}</p>",  # our own words: never masked
        f'<p><span data-count="problem">{item.rows:,}</span> {"row" if item.rows == 1 else "rows"} '
        f"({share_text(item.rows, total)} of all rows).",
    ]
    if item.examples:
        shown = len(item.examples)
        which = "the first" if shown < item.rows else "all"
        out.append(f" Examples, {which} {shown:,}:</p>")
        out.append(
            '<table class="examples"><thead><tr><th scope="col">Row</th><th scope="col">Value</th>'
            '<th scope="col">Reason</th></tr></thead><tbody>'
        )
        for example in item.examples:
            raw, reason = example.value, example.reason or ""
            if redact and raw is not None and item.code.startswith("email."):
                # An email's value is masked whole, even without an '@' (a user name), and so is
                # every mention of it in the reason.
                masked = mask_value(raw)
                raw, reason = masked, reason.replace(example.value or "", masked)
            value = '<span class="muted">(missing)</span>' if raw is None else t(raw)
            out.append(
                f'<tr><td class="text"><code>{t(example.label)}</code></td><td class="text">{value}</td>'
                f'<td class="text">{t(reason)}</td></tr>'
            )
        out.append("</tbody></table>")
    else:
        out.append("</p>")
    out.append("</section>")
    return out


def _problems(data: ReportData, t, redact: bool) -> list[str]:
    out = ['<section aria-labelledby="pp-problems"><h2 id="pp-problems">Problems by code</h2>']
    if not data.problems:
        return [*out, "<p>No row has a problem.</p></section>"]
    out.append(
        "<p>Most frequent first. A row with several problems counts under each.</p>"
        '<table class="codes"><thead><tr><th scope="col">Code</th><th scope="col" class="num">Rows</th>'
        '<th scope="col" class="num">Share</th></tr></thead><tbody>'
    )
    for item in data.problems:
        out.append(
            f'<tr data-code="{t(item.code)}"><td><a href="#problem-{t(item.code)}"><code>{t(item.code)}'
            f'</code></a></td><td class="num">{item.rows:,}</td>'
            f'<td class="num">{share_text(item.rows, data.rows)}</td></tr>'
        )
    out.append("</tbody></table>")
    for item in data.problems:
        out += _problem(item, data.rows, t, redact)
    out.append("</section>")
    return out


def _time(data: ReportData, t) -> list[str]:
    now = now_ms(data.run) if data.run.get("ran_at") else None
    svg = timeline_svg(data, now)
    out = [
        '<section aria-labelledby="pp-time"><h2 id="pp-time">Time</h2><table class="time"><tbody>',
        f'<tr><th scope="row">Stale rows (older than 12 hours at the run)</th>'
        f'<td class="num" data-count="stale">{data.stale:,}</td>'
        f'<td class="num">{share_text(data.stale, data.rows)}</td></tr>',
        f'<tr><th scope="row">Future rows (later than the run plus the tolerance)</th>'
        f'<td class="num" data-count="future">{data.future:,}</td>'
        f'<td class="num">{share_text(data.future, data.rows)}</td></tr>',
        f'<tr><th scope="row">Rows not on the timeline (no readable time, before 2000, or more '
        f'than a day after the run)</th><td class="num" data-count="untimed">{data.untimed:,}</td>'
        f'<td class="num">{share_text(data.untimed, data.rows)}</td></tr></tbody></table>',
    ]
    if svg:
        legend = " ".join(
            f'<span class="swatch" style="background:{STATUS_COLORS[name]}"></span>{name}'
            for name, count in data.counts.items()
            if count
        )
        out.append(f"<figure>{svg}<figcaption>Rows over time by status: {legend}</figcaption></figure>")
    out.append("</section>")
    return out


def render_fragment(data: ReportData, redact_emails: bool = False) -> str:
    """The report as one ``<div class="pp-report">`` with its own style: a notebook cell's output."""

    def t(value: object) -> str:
        return page_text(value, redact_emails)

    from .. import __version__

    masked = " Emails are masked." if redact_emails else ""
    parts = [
        f'<div class="pp-report"><style>{_CSS}</style><header><h1>Data-quality report</h1>'
        f'<p class="muted">{t(data.source or "a DataFrame")} · {data.rows:,} rows · '
        f"{t(_when(data.run.get('ran_at')))}</p></header><main>",
        *_summary(data, t),
        *_problems(data, t, redact_emails),
        *_time(data, t),
        f"</main><footer>Written by productiv_pandas {t(__version__)}.{masked} This page is one file: "
        "it runs no script and makes no request.</footer></div>",
    ]
    return "".join(parts)


def render_page(data: ReportData, redact_emails: bool = False) -> str:
    """The whole page: a standalone HTML5 document around :func:`render_fragment`."""
    title = page_text(f"Data-quality report: {data.source or 'a DataFrame'}", redact_emails)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="referrer" content="no-referrer"><title>{title}</title></head><body style="margin:0">'
        f"{render_fragment(data, redact_emails)}</body></html>\n"
    )
