#!/usr/bin/env python3
"""Plot the results of `heteroscale sweep SWEEP.yaml --out DIR` (or of `heteroscale sweep --merge DIR`).

    python3 tools/plot_sweep.py DIR [--out PLOTDIR]

Reads DIR/results_summary.csv and writes, per trace (default PLOTDIR: DIR/plots):
  <trace>_latency.png   TTFT, TBT and E2E at p50/p90/p99 against request rate, a line per policy (mean over
                        seeds, the band min..max); the SLO (slo_ttft_ms, slo_tbt_ms) as a dashed line
  <trace>_slowdown.png  the same as slowdown (latency / the request's unloaded latency); 1 dotted
  <trace>_p90_grid.png  the p90 metrics grid: TTFT, TBT, E2E, slowdown, SLO attainment, GPU-hours against rate
  <trace>_bars.png      per policy, averaged over rates (and seeds), values on the bars
  <trace>_frontier.png  GPU-hours against SLO attainment, a line per policy through its rates (labelled):
                        what each policy pays for the attainment it reaches as the load grows
The data functions work without matplotlib (it is imported when plotting).
"""
import argparse
import os
import sys
from collections import defaultdict

from plotlib import num, pyplot, read_csv, save


def ordered(values):
    """Unique values in first-seen order (the sweep file's order: results_summary.csv is in cell order)."""
    seen, out = set(), []
    for v in values:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


def series(rows, trace, policy, column):
    """(rates, mean, min, max) of `column` over the seeds, per rate, for one trace and policy; NaN cells skipped."""
    by_rate = defaultdict(list)
    for r in rows:
        if r["trace"] == trace and r["policy"] == policy:
            v = num(r.get(column))
            if v == v:
                by_rate[num(r["rate"])].append(v)
    rates = sorted(by_rate)
    return (rates, [sum(by_rate[x]) / len(by_rate[x]) for x in rates],
            [min(by_rate[x]) for x in rates], [max(by_rate[x]) for x in rates])


def average(rows, trace, policy, column):
    """Mean of `column` over rates and seeds (NaN when no cell has it)."""
    vals = [num(r.get(column)) for r in rows if r["trace"] == trace and r["policy"] == policy]
    vals = [v for v in vals if v == v]
    return sum(vals) / len(vals) if vals else float("nan")


def slo_of(rows, column):
    vals = {num(r.get(column)) for r in rows}
    vals = {v for v in vals if v == v}
    return vals.pop() if len(vals) == 1 else None


METRICS = [("ttft", "TTFT", "ms", "slo_ttft_ms"), ("tbt", "TBT", "ms", "slo_tbt_ms"), ("e2e", "E2E", "s", None)]
QUANTILES = ["p50", "p90", "p99"]


def plot_curves(rows, trace, policies, outdir, slowdown):
    plt = pyplot()
    fig, axes = plt.subplots(3, 3, figsize=(14, 11), sharex=True)
    for i, (key, label, unit, slo_col) in enumerate(METRICS):
        slo = None if slowdown or not slo_col else slo_of(rows, slo_col)
        for j, q in enumerate(QUANTILES):
            ax = axes[i][j]
            col = f"{key}_slowdown_{q}" if slowdown else f"{key}_{q}_{unit}"
            for policy in policies:
                rates, mean, lo, hi = series(rows, trace, policy, col)
                if rates:
                    line, = ax.plot(rates, mean, marker="o", markersize=3, label=policy)
                    ax.fill_between(rates, lo, hi, color=line.get_color(), alpha=0.15, linewidth=0)
            if slo:
                ax.axhline(slo, color="black", linestyle="--", linewidth=1, label=f"SLO {slo:g} {unit}")
            if slowdown:
                ax.axhline(1, color="gray", linestyle=":", linewidth=1)
            ax.set_yscale("log")
            ax.set_title(f"{label} {q}" + (" slowdown" if slowdown else f" ({unit})"), fontsize=10)
            if i == 2:
                ax.set_xlabel("request rate (req/s)")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{trace}: {'slowdown (latency / unloaded latency)' if slowdown else 'latency'} against request rate")
    return save(plt, fig, outdir, f"{trace}_{'slowdown' if slowdown else 'latency'}.png")


GRID = [("ttft_p90_ms", "P90 TTFT (ms)", "slo_ttft_ms", True), ("tbt_p90_ms", "P90 TBT (ms)", "slo_tbt_ms", True),
        ("e2e_p90_s", "P90 E2E (s)", None, True), ("e2e_slowdown_p90", "P90 E2E slowdown", None, True),
        ("slo_attainment", "SLO attainment (requests)", None, False), ("gpu_hours", "GPU-hours", None, False)]


def plot_grid(rows, trace, policies, outdir):
    plt = pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5), sharex=True)
    for ax, (col, title, slo_col, log) in zip(axes.flatten(), GRID):
        for policy in policies:
            rates, mean, _, _ = series(rows, trace, policy, col)
            if rates:
                ax.plot(rates, mean, marker="o", markersize=3, label=policy)
        slo = slo_of(rows, slo_col) if slo_col else None
        if slo:
            ax.axhline(slo, color="black", linestyle="--", linewidth=1, label=f"SLO {slo:g} ms")
        if log:
            ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
    for ax in axes[1]:
        ax.set_xlabel("request rate (req/s)")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{trace}: p90 metrics against request rate")
    return save(plt, fig, outdir, f"{trace}_p90_grid.png")


BARS = [("ttft_p90_ms", "P90 TTFT (ms)"), ("tbt_p90_ms", "P90 TBT (ms)"), ("e2e_p90_s", "P90 E2E (s)"),
        ("slo_attainment", "SLO attainment"), ("gpu_hours", "GPU-hours"), ("cost_per_1m_tokens", "cost per 1M tokens"),
        ("scaling_actions", "scaling actions")]


def plot_bars(rows, trace, policies, outdir):
    plt = pyplot()
    panels = [(c, t) for c, t in BARS if any(num(r.get(c)) == num(r.get(c)) for r in rows if r["trace"] == trace)]
    cols = 4
    nrows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.6 * nrows))
    axes = list(axes.flatten())
    for ax, (col, title) in zip(axes, panels):
        vals = [average(rows, trace, p, col) for p in policies]
        bars = ax.bar(range(len(policies)), vals, color=[f"C{i}" for i in range(len(policies))])
        ax.bar_label(bars, labels=[f"{v:.3g}" for v in vals], fontsize=8)
        ax.set_xticks(range(len(policies)))
        ax.set_xticklabels(policies, rotation=30, ha="right", fontsize=8)
        ax.set_title(title + " (mean over rates)", fontsize=9)
        ax.margins(y=0.15)
    for ax in axes[len(panels):]:
        ax.axis("off")
    fig.suptitle(f"{trace}: per policy, averaged over request rates and seeds")
    return save(plt, fig, outdir, f"{trace}_bars.png")


def plot_frontier(rows, trace, policies, outdir):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 6))
    for policy in policies:
        rates, hours, _, _ = series(rows, trace, policy, "gpu_hours")
        _, slo, _, _ = series(rows, trace, policy, "slo_attainment")
        if not rates or len(slo) != len(rates):
            continue
        line, = ax.plot(hours, slo, marker="o", label=policy)
        for x, y, rate in zip(hours, slo, rates):
            ax.annotate(f"{rate:g}", (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7, color=line.get_color())
    ax.set_xlabel("GPU-hours")
    ax.set_ylabel("SLO attainment (share of requests)")
    ax.set_title(f"{trace}: GPU-hours against SLO attainment (labels: req/s)")
    ax.legend(fontsize=8)
    return save(plt, fig, outdir, f"{trace}_frontier.png")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sweep", help="directory written by `heteroscale sweep --out` (with results_summary.csv)")
    ap.add_argument("--out", help="where to write the PNGs (default SWEEP/plots)")
    a = ap.parse_args(argv)
    summary = os.path.join(a.sweep, "results_summary.csv")
    if not os.path.exists(summary):
        sys.exit(f"{summary}: not found; run `heteroscale sweep SWEEP.yaml --out {a.sweep}` or `heteroscale sweep --merge {a.sweep}`")
    rows = read_csv(summary)
    if not rows:
        sys.exit(f"{summary}: no cells")
    outdir = a.out or os.path.join(a.sweep, "plots")
    os.makedirs(outdir, exist_ok=True)
    policies = ordered(r["policy"] for r in rows)
    for trace in ordered(r["trace"] for r in rows):
        for path in (plot_curves(rows, trace, policies, outdir, False), plot_curves(rows, trace, policies, outdir, True),
                     plot_grid(rows, trace, policies, outdir), plot_bars(rows, trace, policies, outdir),
                     plot_frontier(rows, trace, policies, outdir)):
            print(path)


if __name__ == "__main__":
    main()
