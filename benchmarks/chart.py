"""Benchmark charts (matplotlib, headless): rows/s per stage of one run, and the scale curve
(seconds against records on log-log axes, with a linear reference line per stage)."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STAGE_ORDER = ("generate", "bronze", "silver", "gold", "models")
COLOURS = {"generate": "#4c72b0", "bronze": "#dd8452", "silver": "#55a868", "gold": "#c44e52",
           "models": "#8172b3", "duckdb": "#937860"}


def stage_chart(results: dict, path: str) -> str:
    """Horizontal bars: rows/s per stage (log scale), annotated with seconds, peak memory and disk;
    plus DuckDB vs Spark silver for the compared source when present."""
    stages = [s for s in STAGE_ORDER if s in results["stages"]]
    labels, values, notes, colours, targets = [], [], [], [], []
    for s in stages:
        st = results["stages"][s]
        labels.append(f"{s}\n({st['rate_of']})")
        values.append(st["rows_per_s"] or 0)
        target = st.get("target_rows_per_s")
        notes.append(f"{st['rows_per_s'] or 0:,.0f}/s  {st['seconds']:.1f} s  "
                     f"{st['peak_memory_mb']:,.0f} MB RAM  {st['disk_mb']:,.1f} MB disk"
                     + (f"  (target {target:,.0f}/s)" if target else ""))
        colours.append(COLOURS[s])
        targets.append(target)
    cmp_ = results.get("duckdb_comparison")
    if cmp_:
        for key, label in (("spark", "Spark silver"), ("duckdb", "DuckDB silver")):
            d = cmp_[key]
            labels.append(f"{label}\n({cmp_['source']}, bronze rows)")
            values.append(d["rows_per_s"] or 0)
            notes.append(f"{d['rows_per_s'] or 0:,.0f}/s  {d['seconds']:.2f} s")
            colours.append(COLOURS["silver" if key == "spark" else "duckdb"])
            targets.append(None)
    fig, ax = plt.subplots(figsize=(10, 0.75 * len(labels) + 1.6))
    y = list(range(len(labels)))[::-1]
    ax.barh(y, [max(v, 1e-9) for v in values], color=colours)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("rows per second (log scale); black tick: target")
    for yi, v, note in zip(y, values, notes):
        ax.text(max(v, 1e-9), yi, "  " + note, va="center", fontsize=7)
    for yi, t in zip(y, targets):
        if t:
            ax.plot([t], [yi], marker="|", color="black", markersize=22, mew=2)
    top = max(values + [t for t in targets if t] + [1.0])
    ax.set_xlim(right=top * 30)
    title = f"lakehouse benchmark, scale {results['scale']:g} ({results.get('cores')} cores)"
    if cmp_ and cmp_.get("duckdb_speedup"):
        title += f" - DuckDB / Spark silver: {cmp_['duckdb_speedup']:.2f}x"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def curve_chart(curve: dict, path: str) -> str:
    """Seconds against records per stage on log-log axes, each with a linear (slope 1) reference
    line through its smallest point; the legend gives each stage's growth exponent."""
    fig, ax = plt.subplots(figsize=(8, 6))
    for s in STAGE_ORDER:
        st = curve["stages"].get(s)
        if not st:
            continue
        pts = [p for p in st["points"] if p["records"] and p["seconds"]]
        if not pts:
            continue
        xs, ys = [p["records"] for p in pts], [p["seconds"] for p in pts]
        exp = st.get("growth_exponent")
        ax.plot(xs, ys, "o-", color=COLOURS[s], label=f"{s} (exponent {exp if exp is not None else 'n/a'})")
        x0, y0 = xs[0], ys[0]
        ax.plot([x0, xs[-1]], [y0, y0 * xs[-1] / x0], ":", color=COLOURS[s], alpha=0.7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("records in (log)")
    ax.set_ylabel("seconds (log)")
    scales = ", ".join(f"{s:g}" for s in curve.get("scales", []))
    ax.set_title(f"scale curve ({scales}); dotted: linear growth from the smallest run", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig, path: str) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
