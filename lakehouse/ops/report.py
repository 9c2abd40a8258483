"""The ops report: one self-contained, offline HTML file (inline CSS and SVG drawn here; no scripts,
fonts or downloads) built from whatever ops tables exist.

    tables = load_tables(spark, cfg)                   # name -> pandas DataFrame, or None if missing
    html = render_report(tables, title="...")          # pure: frames in, HTML out
    path = run_report(spark, cfg)                      # both, written to ops.report.output

Sections, each skipped with a note when its table does not exist yet: run log (``ops/run_log``),
bronze reconciliation, silver rule metrics and reconciliation, the data-quality scorecard
(``gold/dq_scorecard``) and entity-resolution evaluation (``ops/er_evaluation``). Every section
shows the latest run per source, with charts per source and per criterion, and trends across runs.
Only aggregate counts and scores are shown; no table here holds personal data.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import numbers
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import pandas as pd

# name -> (layer, table)
TABLES: dict[str, tuple[str, str]] = {
    "run_log": ("ops", "run_log"),
    "bronze_reconciliation": ("ops", "bronze_reconciliation"),
    "silver_rule_metrics": ("ops", "silver_rule_metrics"),
    "silver_reconciliation": ("ops", "silver_reconciliation"),
    "dq_scorecard": ("gold", "dq_scorecard"),
    "er_evaluation": ("ops", "er_evaluation"),
}
TIME_COLUMNS = ("checked_at", "measured_at", "run_at", "started_at", "logged_at", "evaluated_at")
CRITERIA = ("dung", "du", "sach", "song", "overall")
CRITERION_LABEL = {"dung": "đúng (correct)", "du": "đủ (complete)", "sach": "sạch (clean)", "song": "sống (live)",
                   "overall": "overall"}
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#9ca3af",
           "#1e3a8a", "#991b1b", "#166534")


# --- SVG charts ----------------------------------------------------------------------------------

def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _nice_max(v: float) -> float:
    if v <= 0 or not math.isfinite(v):
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


def _fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if abs(v) >= 1e6:
        return f"{v / 1e6:.1f}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.0f}k"
    if float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:.3g}" if abs(v) < 1 else f"{v:,.1f}"


def _clip(s: str, n: int = 26) -> str:
    """Keep both ends of a long label (table names differ at the end)."""
    return s if len(s) <= n else f"{s[:9]}…{s[-(n - 10):]}"


def _tick(v: float, step: float, percent: bool) -> str:
    """An axis label with just enough decimals for the tick step."""
    if not percent:
        return _fmt(v)
    pct_step = abs(step) * 100
    decimals = 0 if pct_step >= 1 or pct_step == 0 else min(3, -math.floor(math.log10(pct_step)))
    return f"{v * 100:.{decimals}f}%"


def _legend(names: Sequence[str], x: float, y: float) -> list[str]:
    out, cx = [], x
    for i, name in enumerate(names):
        out.append(f'<rect x="{cx:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
                   f'<text x="{cx + 14:.1f}" y="{y:.1f}" class="lg">{_e(name)}</text>')
        cx += 24 + 7 * len(str(name))
    return out


def bar_chart(categories: Sequence[str], series: dict[str, Sequence[float]], title: str = "", y_label: str = "",
              stacked: bool = False, y_max: float | None = None, width: int = 760, height: int = 300,
              percent: bool = False) -> str:
    """Grouped (or stacked) vertical bars: one group per category, one bar per series."""
    names = list(series)
    n_cat = max(len(categories), 1)
    left, right, top, bottom = 60, 16, 34, 96
    pw, ph = width - left - right, height - top - bottom
    vals = {k: [float(v) if v is not None and math.isfinite(float(v)) else 0.0 for v in series[k]] for k in names}
    if stacked:
        peak = max((sum(vals[k][i] for k in names) for i in range(len(categories))), default=0.0)
    else:
        peak = max((max(v, default=0.0) for v in vals.values()), default=0.0)
    top_v = y_max if y_max is not None else _nice_max(peak)
    sy = ph / top_v if top_v else 0
    group_w = pw / n_cat
    bar_w = group_w * 0.8 / (1 if stacked else max(len(names), 1))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="{_e(title)}">',
           f'<text x="{left}" y="16" class="tt">{_e(title)}</text>']
    for i in range(5):
        v = top_v * i / 4
        y = top + ph - v * sy
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" class="gr"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" class="ax" text-anchor="end">'
                   f'{_e(_tick(v, top_v / 4, percent))}</text>')
    if y_label:
        out.append(f'<text x="12" y="{top + ph / 2:.1f}" class="ax" transform="rotate(-90 12 {top + ph / 2:.1f})" '
                   f'text-anchor="middle">{_e(y_label)}</text>')
    for ci, cat in enumerate(categories):
        gx = left + ci * group_w + group_w * 0.1
        base = 0.0
        for si, name in enumerate(names):
            v = vals[name][ci] if ci < len(vals[name]) else 0.0
            h = v * sy
            if stacked:
                x, y = gx, top + ph - (base + v) * sy
                base += v
            else:
                x, y = gx + si * bar_w, top + ph - h
            shown = f"{v:.1%}" if percent else _fmt(v)
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 1):.1f}" height="{max(h, 0):.1f}" '
                       f'fill="{PALETTE[si % len(PALETTE)]}"><title>{_e(cat)} · {_e(name)}: {_e(shown)}</title></rect>')
        lx = left + ci * group_w + group_w / 2
        out.append(f'<text x="{lx:.1f}" y="{top + ph + 12}" class="ax" text-anchor="end" '
                   f'transform="rotate(-35 {lx:.1f} {top + ph + 12})">{_e(_clip(str(cat)))}<title>{_e(cat)}</title>'
                   f'</text>')
    if len(names) > 1 or stacked:
        out.extend(_legend(names, left, height - 6))
    out.append("</svg>")
    return "".join(out)


def line_chart(x_labels: Sequence[str], series: dict[str, Sequence[float | None]], title: str = "",
               y_label: str = "", y_min: float | None = None, y_max: float | None = None, width: int = 760,
               height: int = 260, percent: bool = False) -> str:
    """One line per series over ordered x labels (runs); gaps where a value is missing."""
    names = list(series)
    left, right, top, bottom = 60, 16, 34, 62
    pw, ph = width - left - right, height - top - bottom
    finite = [float(v) for s in series.values() for v in s if v is not None and math.isfinite(float(v))]
    lo = y_min if y_min is not None else (min(finite + [0.0]))
    hi = y_max if y_max is not None else _nice_max(max(finite, default=1.0))
    if hi <= lo:
        hi = lo + 1
    n = len(x_labels)
    sx = pw / max(n - 1, 1)

    def py(v: float) -> float:
        return top + ph - (v - lo) / (hi - lo) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="{_e(title)}">',
           f'<text x="{left}" y="16" class="tt">{_e(title)}</text>']
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(v):.1f}" y2="{py(v):.1f}" class="gr"/>'
                   f'<text x="{left - 6}" y="{py(v) + 4:.1f}" class="ax" text-anchor="end">'
                   f'{_e(_tick(v, (hi - lo) / 4, percent))}</text>')
    if y_label:
        out.append(f'<text x="12" y="{top + ph / 2:.1f}" class="ax" transform="rotate(-90 12 {top + ph / 2:.1f})" '
                   f'text-anchor="middle">{_e(y_label)}</text>')
    step = max(1, math.ceil(n / 10))
    for i, lab in enumerate(x_labels):
        if i % step == 0 or i == n - 1:
            x = left + (i * sx if n > 1 else pw / 2)
            anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
            out.append(f'<text x="{x:.1f}" y="{top + ph + 14}" class="ax" text-anchor="{anchor}">'
                       f'{_e(str(lab)[:16])}</text>')
    for si, name in enumerate(names):
        color = PALETTE[si % len(PALETTE)]
        segs, cur = [], []
        for i, v in enumerate(series[name]):
            if v is None or not math.isfinite(float(v)):
                if cur:
                    segs.append(cur)
                cur = []
                continue
            cur.append((left + (i * sx if n > 1 else pw / 2), py(float(v)), float(v), x_labels[i]))
        if cur:
            segs.append(cur)
        for seg in segs:
            if len(seg) > 1:
                pts = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in seg)
                out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
            for x, y, v, lab in seg:
                shown = f"{v:.1%}" if percent else _fmt(v)
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{_e(name)} · '
                           f'{_e(lab)}: {_e(shown)}</title></circle>')
    out.extend(_legend(names, left, height - 6))
    out.append("</svg>")
    return "".join(out)


def html_table(df: pd.DataFrame, formats: dict[str, Callable[[Any], str]] | None = None,
               classes: dict[str, Callable[[Any], str]] | None = None, max_rows: int = 200) -> str:
    """A plain HTML table; ``classes`` maps a column to a function giving a cell's CSS class."""
    formats, classes = formats or {}, classes or {}
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    body = []
    for _, row in df.head(max_rows).iterrows():
        cells = []
        for c in df.columns:
            v = row[c]
            num = _is_num(v)
            text = formats[c](v) if c in formats else ("–" if _missing(v) else _fmt(v) if num else str(v))
            cls = classes[c](v) if c in classes else ""
            cells.append(f'<td class="{cls}{" n" if num else ""}">{_e(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = f'<p class="note">{len(df) - max_rows} more rows not shown.</p>' if len(df) > max_rows else ""
    return f'<table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>{more}'


def _is_num(v: Any) -> bool:
    return isinstance(v, numbers.Number) and not isinstance(v, (bool, np_bool))


try:
    from numpy import bool_ as np_bool
except ImportError:  # pragma: no cover
    np_bool = bool


def _missing(v: Any) -> bool:
    try:
        return v is None or (isinstance(v, float) and math.isnan(v)) or pd.isna(v) is True
    except (TypeError, ValueError):
        return False


def _score_class(v: Any) -> str:
    if _missing(v):
        return ""
    v = float(v)
    return "good" if v >= 90 else "warn" if v >= 70 else "bad"


def _ok_class(v: Any) -> str:
    return "good" if v is True or v == "ok" else "bad" if v is False or v in ("failed", "MISMATCH") else ""


# --- frames ----------------------------------------------------------------------------------------

def run_order(df: pd.DataFrame, run_col: str = "run_id") -> list[str]:
    """Runs in time order: by their earliest timestamp when the table has one, else by run id (run ids
    start with their timestamp)."""
    if df is None or df.empty or run_col not in df.columns:
        return []
    tcol = next((c for c in TIME_COLUMNS if c in df.columns), None)
    if tcol is not None:
        first = df.groupby(run_col)[tcol].min().sort_values(kind="stable")
        return [str(r) for r in first.index]
    return sorted(str(r) for r in df[run_col].dropna().unique())


def latest_run(df: pd.DataFrame, run_col: str = "run_id") -> tuple[str | None, pd.DataFrame]:
    runs = run_order(df, run_col)
    if not runs:
        return None, df.iloc[0:0] if df is not None else pd.DataFrame()
    return runs[-1], df[df[run_col].astype(str) == runs[-1]]


def _short(run_id: str) -> str:
    """silver-20260101T120000.123456Z-1a2b3c -> 01-01 12:00 (the x label of a trend)."""
    s = str(run_id)
    m = re.search(r"\d{2}(\d{2})(\d{2})T(\d{2})(\d{2})", s)
    return f"{m[1]}-{m[2]} {m[3]}:{m[4]}" if m else s[:16]


def _trend(df: pd.DataFrame, value: str, by: str, runs: list[str], agg: str = "sum") -> dict[str, list[float | None]]:
    """{by value: [value per run]} for a line chart."""
    out: dict[str, list[float | None]] = {}
    grouped = df.groupby([by, "run_id"])[value].agg(agg)
    for key in sorted(df[by].dropna().unique(), key=str):
        out[str(key)] = [float(grouped[(key, r)]) if (key, r) in grouped.index else None for r in runs]
    return out


# --- sections ----------------------------------------------------------------------------------------

@dataclass
class Section:
    id: str
    title: str
    body: str
    status: str = "ok"       # ok | missing | attention


def _missing_section(sid: str, title: str, table: str, why: str = "") -> Section:
    return Section(sid, title, f'<p class="note">Table <code>{_e(table)}</code> does not exist yet{_e(why)}; '
                               f'this section will appear once a job writes it.</p>', "missing")


def section_run_log(df: pd.DataFrame | None, max_runs: int) -> Section:
    title = "Job runs (ops/run_log)"
    if df is None:
        return _missing_section("runs", title, "ops/run_log")
    runs = df.groupby(["job", "run_id"]).agg(started=("started_at", "min"), ended=("ended_at", "max"),
                                              seconds=("seconds", "sum"), rows=("rows", "sum"),
                                              stages=("stage", "count"),
                                              failed=("status", lambda s: int((s == "failed").sum())))
    runs = runs.reset_index().sort_values("started")
    latest = runs.groupby("job").tail(1).copy()
    latest["status"] = latest["failed"].map(lambda n: "failed" if n else "ok")
    parts = ["<h3>Latest run of each job</h3>",
             html_table(latest[["job", "run_id", "started", "stages", "rows", "seconds", "status"]],
                        formats={"seconds": lambda v: f"{v:,.1f} s", "started": lambda v: str(v)[:19]},
                        classes={"status": _ok_class})]
    order = list(runs["run_id"].astype(str))[-max_runs:]
    series: dict[str, list[float | None]] = {}
    for job, g in runs.groupby("job"):
        by_run = dict(zip(g["run_id"].astype(str), g["seconds"]))
        series[str(job)] = [by_run.get(r) for r in order]
    if order:
        parts.append(line_chart([_short(r) for r in order], series, "Run time per job (seconds, all stages)", "s"))
    lr = df[df["run_id"].astype(str).isin(set(latest["run_id"].astype(str)))]
    lr = lr[lr["seconds"].notna()]
    if not lr.empty:
        top = lr.sort_values("seconds", ascending=False).head(20)
        labels = [(f"{j}:" if s == j else f"{j}:{s}") + (("" if s == j else "/") + src if isinstance(src, str) and src else "")
                  for j, s, src in zip(top["job"], top["stage"], top["source"])]
        parts.append(bar_chart(labels, {"seconds": list(top["seconds"])}, "Slowest stages of the latest runs", "s"))
    failed = df[df["status"] == "failed"].sort_values("started_at").tail(20)
    if not failed.empty:
        parts.append("<h3>Recent failures</h3>" + html_table(
            failed[["job", "run_id", "stage", "source", "message"]]))
    status = "attention" if (latest["failed"] > 0).any() else "ok"
    return Section("runs", title, "".join(parts), status)


def section_bronze(df: pd.DataFrame | None, max_runs: int) -> Section:
    title = "Bronze reconciliation (landing = bronze + quarantined + duplicates)"
    if df is None:
        return _missing_section("bronze", title, "ops/bronze_reconciliation")
    run, last = latest_run(df)
    last = last.sort_values("source")
    cols = [c for c in ("source", "files", "landing_records", "bronze_rows", "quarantined_records",
                        "duplicate_records", "difference", "error_rate", "reconciled") if c in last.columns]
    parts = [f"<h3>Latest run <code>{_e(run)}</code></h3>",
             html_table(last[cols], formats={"error_rate": lambda v: "–" if _missing(v) else f"{float(v):.2%}"},
                        classes={"reconciled": _ok_class,
                                 "difference": lambda v: "bad" if not _missing(v) and int(v) != 0 else ""})]
    stack = {k: list(last[c].fillna(0)) for k, c in (("bronze", "bronze_rows"), ("quarantined", "quarantined_records"),
                                                       ("duplicate records", "duplicate_records")) if c in last.columns}
    parts.append(bar_chart(list(last["source"]), stack, "Where each source's landing records went", "records",
                           stacked=True))
    runs = run_order(df)[-max_runs:]
    d = df[df["run_id"].astype(str).isin(runs)]
    if "error_rate" in d.columns and len(runs) > 1:
        parts.append(line_chart([_short(r) for r in runs], _trend(d, "error_rate", "source", runs, "max"),
                                "Quarantined share per source, by run", "share", y_min=0, percent=True))
    bad = int((~last["reconciled"].astype(bool)).sum()) if "reconciled" in last.columns else 0
    return Section("bronze", title, "".join(parts), "attention" if bad else "ok")


def section_silver_rules(df: pd.DataFrame | None, max_runs: int) -> Section:
    title = "Silver quality rules (violations per source and criterion)"
    if df is None:
        return _missing_section("rules", title, "ops/silver_rule_metrics")
    run, last = latest_run(df)
    per = last.groupby(["source", "criterion"]).agg(violations=("violations", "sum"), rows=("rows", "max")).reset_index()
    sources = sorted(per["source"].unique())
    crits = [c for c in CRITERIA if c in set(per["criterion"])] + sorted(set(per["criterion"]) - set(CRITERIA))
    series = {}
    for c in crits:
        m = {(r.source): (r.violations / r.rows if r.rows else 0.0) for r in per[per["criterion"] == c].itertuples()}
        series[CRITERION_LABEL.get(c, c)] = [m.get(s, 0.0) for s in sources]
    parts = [f"<h3>Latest run <code>{_e(run)}</code></h3>",
             bar_chart(sources, series, "Violations per row, by source and criterion", "share", percent=True)]
    top = (last.groupby(["rule_id", "criterion", "action"]).agg(violations=("violations", "sum"), rows=("rows", "sum"))
           .reset_index().sort_values("violations", ascending=False))
    top["rate"] = top["violations"] / top["rows"].where(top["rows"] > 0)
    parts.append("<h3>Rules by violations (all sources)</h3>" + html_table(
        top[["rule_id", "criterion", "action", "violations", "rows", "rate"]],
        formats={"rate": lambda v: "–" if _missing(v) else f"{float(v):.2%}"}, max_rows=40))
    runs = run_order(df)[-max_runs:]
    if len(runs) > 1:
        d = df[df["run_id"].astype(str).isin(runs)]
        agg = d.groupby(["criterion", "run_id"]).agg(v=("violations", "sum"), n=("rows", "sum"))
        trend = {CRITERION_LABEL.get(c, c): [float(agg.loc[(c, r), "v"] / agg.loc[(c, r), "n"])
                                             if (c, r) in agg.index and agg.loc[(c, r), "n"] else None for r in runs]
                 for c in crits}
        parts.append(line_chart([_short(r) for r in runs], trend, "Violations per row by criterion, by run", "share",
                                y_min=0, percent=True))
    return Section("rules", title, "".join(parts))


def section_silver_recon(df: pd.DataFrame | None, max_runs: int) -> Section:
    title = "Silver reconciliation (bronze = silver + quarantine)"
    if df is None:
        return _missing_section("silver", title, "ops/silver_reconciliation")
    run, last = latest_run(df)
    ok_col = "reconciled" if "reconciled" in last.columns else "ok" if "ok" in last.columns else None
    agg = {c: "sum" for c in ("bronze_rows", "silver_rows", "quarantined", "difference") if c in last.columns}
    per = last.groupby("source").agg(agg).reset_index() if agg else last[["source"]].drop_duplicates()
    if ok_col:
        per = per.merge(last.groupby("source")[ok_col].agg(lambda s: bool(s.astype(bool).all())).reset_index(), on="source")
    elif "difference" in per.columns:
        ok_col = "reconciled"
        per[ok_col] = per["difference"] == 0
    parts = [f"<h3>Latest run <code>{_e(run)}</code></h3>",
             html_table(per, classes={ok_col: _ok_class} if ok_col else None)]
    stack = {k: list(per[c].fillna(0)) for k, c in (("silver", "silver_rows"), ("quarantined", "quarantined"))
             if c in per.columns}
    if stack:
        parts.append(bar_chart(list(per["source"]), stack, "Bronze rows of the latest run: accepted vs quarantined",
                               "rows", stacked=True))
    runs = run_order(df)[-max_runs:]
    if len(runs) > 1 and {"quarantined", "bronze_rows"} <= set(df.columns):
        d = df[df["run_id"].astype(str).isin(runs)].copy()
        g = d.groupby(["source", "run_id"]).agg(q=("quarantined", "sum"), b=("bronze_rows", "sum"))
        trend = {str(s): [float(g.loc[(s, r), "q"] / g.loc[(s, r), "b"]) if (s, r) in g.index and g.loc[(s, r), "b"]
                          else None for r in runs] for s in sorted(d["source"].unique())}
        parts.append(line_chart([_short(r) for r in runs], trend, "Quarantined share per source, by run", "share",
                                y_min=0, percent=True))
    bad = bool(ok_col) and not bool(per[ok_col].astype(bool).all())
    return Section("silver", title, "".join(parts), "attention" if bad else "ok")


def section_scorecard(df: pd.DataFrame | None, max_runs: int) -> Section:
    title = "Data-quality scorecard (gold/dq_scorecard: đúng · đủ · sạch · sống)"
    if df is None:
        return _missing_section("scorecard", title, "gold/dq_scorecard")
    run, last = latest_run(df)
    pivot = last.pivot_table(index="source", columns="criterion", values="score", aggfunc="mean")
    crits = [c for c in CRITERIA if c in pivot.columns] + sorted(set(pivot.columns) - set(CRITERIA))
    pivot = pivot[crits].reset_index()
    parts = [f"<h3>Latest run <code>{_e(run)}</code> (scores 0–100)</h3>",
             html_table(pivot.rename(columns=CRITERION_LABEL),
                        formats={CRITERION_LABEL.get(c, c): (lambda v: "–" if _missing(v) else f"{float(v):.1f}")
                                 for c in crits},
                        classes={CRITERION_LABEL.get(c, c): _score_class for c in crits})]
    parts.append(bar_chart(list(pivot["source"]),
                           {CRITERION_LABEL.get(c, c): list(pivot[c].fillna(0)) for c in crits if c != "overall"},
                           "Score per source and criterion", "score", y_max=100))
    runs = run_order(df)[-max_runs:]
    if len(runs) > 1:
        d = df[df["run_id"].astype(str).isin(runs)]
        overall = d[d["criterion"] == "overall"]
        if not overall.empty:
            parts.append(line_chart([_short(r) for r in runs], _trend(overall, "score", "source", runs, "mean"),
                                    "Overall score per source, by run", "score", y_min=0, y_max=100))
        parts.append(line_chart([_short(r) for r in runs],
                                {CRITERION_LABEL.get(c, c): v for c, v in
                                 _trend(d[d["criterion"] != "overall"], "score", "criterion", runs, "mean").items()},
                                "Mean score per criterion, by run", "score", y_min=0, y_max=100))
    low = "overall" in pivot.columns and bool((pivot["overall"] < 70).any())
    return Section("scorecard", title, "".join(parts), "attention" if low else "ok")


ER_METRICS = ("pairwise_precision", "pairwise_recall", "pairwise_f1", "bcubed_precision", "bcubed_recall", "bcubed_f1")


def section_er(df: pd.DataFrame | None, max_runs: int) -> Section:
    title = "Entity resolution against the ground truth (ops/er_evaluation)"
    if df is None:
        return _missing_section("er", title, "ops/er_evaluation")
    run, last = latest_run(df)
    metrics = [m for m in ER_METRICS if m in last.columns]
    cols = ["entity", *metrics, *[c for c in ("wrong_merges", "wrong_splits") if c in last.columns]]
    parts = [f"<h3>Latest run <code>{_e(run)}</code></h3>",
             html_table(last[cols], formats={m: (lambda v: "–" if _missing(v) else f"{float(v):.4f}") for m in metrics})]
    entities = list(last["entity"].astype(str))
    parts.append(bar_chart(metrics, {e: [float(last[last["entity"].astype(str) == e][m].iloc[0]) for m in metrics]
                                     for e in entities}, "Precision, recall and F1 per entity", "", y_max=1.0))
    runs = run_order(df)[-max_runs:]
    if len(runs) > 1:
        d = df[df["run_id"].astype(str).isin(runs)]
        series = {}
        for e in sorted(d["entity"].astype(str).unique()):
            for m in ("pairwise_f1", "bcubed_f1"):
                if m in d.columns:
                    by = dict(zip(d[d["entity"].astype(str) == e]["run_id"].astype(str), d[d["entity"].astype(str) == e][m]))
                    series[f"{e} {m}"] = [by.get(r) for r in runs]
        parts.append(line_chart([_short(r) for r in runs], series, "F1 by run", "F1", y_max=1.0))
    return Section("er", title, "".join(parts))


CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#111827;background:#f9fafb}
header{background:#111827;color:#f9fafb;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#d1d5db}main{padding:8px 28px 40px;max-width:1100px}
nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:8px}nav li a{display:block;padding:4px 10px;
border-radius:12px;background:#e5e7eb;color:#111827;text-decoration:none;font-size:13px}
nav li.attention a{background:#fee2e2}nav li.missing a{background:#f3f4f6;color:#6b7280}
section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px 18px;margin:16px 0}
h2{font-size:18px;margin:6px 0 10px}h3{font-size:14px;margin:14px 0 6px;color:#374151}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}th,td{border-bottom:1px solid #e5e7eb;
padding:3px 10px;text-align:left}th{background:#f3f4f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
td.good{background:#dcfce7}td.warn{background:#fef3c7}td.bad{background:#fee2e2}
.note{color:#6b7280;font-style:italic}svg{display:block;margin:8px 0;max-width:100%;height:auto}
svg .tt{font-size:13px;font-weight:600;fill:#111827}svg .ax{font-size:10px;fill:#4b5563}svg .lg{font-size:11px;fill:#374151}
svg .gr{stroke:#e5e7eb;stroke-width:1}code{background:#f3f4f6;padding:0 4px;border-radius:3px}
"""


def render_report(tables: dict[str, pd.DataFrame | None], title: str = "Lakehouse operations report",
                  generated_at: dt.datetime | None = None, subtitle: str = "", max_runs: int = 30) -> str:
    """The whole report as one HTML string (pure: frames in, text out)."""
    generated_at = generated_at or dt.datetime.now()
    tables = {k: (df.assign(run_id=df["run_id"].astype(str)) if df is not None and "run_id" in df.columns else df)
              for k, df in tables.items()}
    sections = [
        section_run_log(tables.get("run_log"), max_runs),
        section_bronze(tables.get("bronze_reconciliation"), max_runs),
        section_silver_rules(tables.get("silver_rule_metrics"), max_runs),
        section_silver_recon(tables.get("silver_reconciliation"), max_runs),
        section_scorecard(tables.get("dq_scorecard"), max_runs),
        section_er(tables.get("er_evaluation"), max_runs),
    ]
    nav = "".join(f'<li class="{s.status}"><a href="#{s.id}">{_e(s.title.split(" (")[0])}'
                  f'{" ⚠" if s.status == "attention" else ""}</a></li>' for s in sections)
    found = [n for n, df in tables.items() if df is not None]
    missing = [n for n in TABLES if tables.get(n) is None]
    body = "".join(f'<section id="{s.id}" class="{s.status}"><h2>{_e(s.title)}</h2>{s.body}</section>' for s in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
            f"<header><h1>{_e(title)}</h1><p>Generated {generated_at:%Y-%m-%d %H:%M:%S}"
            f"{' · ' + _e(subtitle) if subtitle else ''} · tables: {_e(', '.join(found) or 'none')}"
            f"{' · not yet written: ' + _e(', '.join(missing)) if missing else ''}</p></header>"
            f"<main><nav><ul>{nav}</ul></nav>{body}</main></body></html>\n")


# --- I/O -------------------------------------------------------------------------------------------------

def load_tables(spark: Any, cfg: Any, names: Iterable[str] = TABLES) -> dict[str, pd.DataFrame | None]:
    """Each ops table as a pandas frame (they are small: a few rows per run and source), None if absent.
    Tables are looked up in the catalog (:mod:`lakehouse.catalog`) of the layers they live in."""
    from lakehouse import catalog
    from lakehouse.storage.delta import delta_exists, read_delta

    names = list(names)
    layers = [layer for layer in catalog.LAYERS if any(TABLES[n][0] == layer for n in names)]
    found = {t.qualified_name: t for t in catalog.tables(cfg, spark, layers)}
    out: dict[str, pd.DataFrame | None] = {}
    for name in names:
        t = found.get("/".join(TABLES[name]))
        out[name] = read_delta(spark, t.path).toPandas() if t is not None and delta_exists(spark, t.path) else None
    return out


def run_report(spark: Any, cfg: Any, log: Callable[[str], None] = print) -> str:
    """Build the report from the ops tables and write it to ``ops.report.output``; returns the path."""
    from lakehouse import storage

    rep = (cfg.get("ops") or {}).get("report") or {}
    output = str(rep.get("output", f"{cfg.paths.ops}/report/index.html"))
    tables = load_tables(spark, cfg)
    text = render_report(tables, title=str(rep.get("title", "Lakehouse operations report")),
                         subtitle=f"env {cfg.get('env_name', '?')}, root {cfg.paths.root}",
                         max_runs=int(rep.get("max_runs", 30)))
    path = storage.write_text(spark, output, text)
    log(f"report: {sum(df is not None for df in tables.values())}/{len(tables)} tables, "
        f"{len(text) / 1024:.0f} KB -> {path}")
    return path
