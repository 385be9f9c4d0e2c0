#!/usr/bin/env python3
"""Plot the results of `heteroscale simulate SCENARIO --out DIR`.

    python3 tools/plot_results.py DIR [--out PLOTDIR] [--slo-ttft-ms MS] [--slo-tbt-ms MS]

Reads DIR/comparison.csv and DIR/<policy>/{timeline.csv,requests.csv} and writes PNGs (default: DIR/plots):
  timeline_<policy>.png  load (arrivals/s and TPS), instances per role (desired and ready), P90 TTFT/TBT vs SLO
  comparison.png         bars per policy: GPU-hours, SLO attainment, scaling actions, P/D ratio std, P90 latency
SLO lines are taken from the flags, or inferred from requests.csv (the largest TTFT/TBT of a request that
met the SLO is a lower bound and is not drawn); without flags no SLO line is drawn.
An interval in which no request produced a latency has an empty cell in timeline.csv; it is plotted as a
gap (NaN), never as 0 ms. The data functions work without matplotlib (it is imported when plotting).
"""
import argparse
import csv
import os
import sys
from collections import defaultdict

from plotlib import num, pyplot, read_csv


def policy_dirs(results):
    out = []
    for name in sorted(os.listdir(results)):
        d = os.path.join(results, name)
        if os.path.isfile(os.path.join(d, "timeline.csv")):
            out.append((name, d))
    return out


def arrivals_per_interval(requests_csv, edges):
    """Arrivals per second binned on the timeline's scrape times."""
    if not os.path.exists(requests_csv) or len(edges) < 2:
        return None
    counts = [0] * len(edges)
    step = edges[1] - edges[0]
    with open(requests_csv, newline="") as f:
        for row in csv.DictReader(f):
            t = num(row.get("arrival"))
            if t != t:
                continue
            i = min(len(edges) - 1, max(0, int(t // step)))
            counts[i] += 1
    return [c / step for c in counts]


def latency_series(rows):
    """Times and the cluster P90 TTFT/TBT (ms) per interval of timeline.csv rows; NaN (a gap in the plot)
    where the interval measured nothing (an empty cell), never 0."""
    by_time = defaultdict(list)
    for r in rows:
        by_time[num(r["time"])].append(r)
    times = sorted(by_time)
    ttft = [num(by_time[t][0]["ttft_p90_ms"]) for t in times]
    tbt = [num(by_time[t][0]["tbt_p90_ms"]) for t in times]
    return times, ttft, tbt


def plot_timeline(name, d, outdir, slo_ttft, slo_tbt):
    rows = read_csv(os.path.join(d, "timeline.csv"))
    if not rows:
        return None
    plt = pyplot()
    by_time = defaultdict(list)
    for r in rows:
        by_time[num(r["time"])].append(r)
    times = sorted(by_time)
    roles = sorted({r["role"] for r in rows})

    fig, axes = plt.subplots(3, 1, figsize=(11, 9), sharex=True)
    ax = axes[0]
    for role in roles:
        tps = [sum(num(r["tps"], 0) for r in by_time[t] if r["role"] == role) for t in times]
        ax.plot(times, tps, label=f"{role} TPS (tokens/s)")
    ax.set_ylabel("tokens/s")
    arr = arrivals_per_interval(os.path.join(d, "requests.csv"), times)
    if arr is not None:
        ax2 = ax.twinx()
        ax2.plot(times, arr, color="black", alpha=0.4, linewidth=0.8, label="arrivals/s")
        ax2.set_ylabel("requests/s")
        ax2.legend(loc="upper right", fontsize=8)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"{name}: load")

    ax = axes[1]
    for role in roles:
        desired = [sum(num(r["desired"], 0) for r in by_time[t] if r["role"] == role) for t in times]
        ready = [sum(num(r["ready"], 0) for r in by_time[t] if r["role"] == role) for t in times]
        line, = ax.step(times, desired, where="post", label=f"{role} desired")
        ax.step(times, ready, where="post", linestyle="--", color=line.get_color(), label=f"{role} ready")
    ax.set_ylabel("instances")
    ax.legend(loc="upper left", fontsize=8, ncol=2)
    ax.set_title("instances per role")

    ax = axes[2]
    _, ttft, tbt = latency_series(rows)
    l1, = ax.plot(times, ttft, label="P90 TTFT (ms)")
    ax.set_ylabel("TTFT ms")
    ax.set_yscale("symlog", linthresh=100)
    if slo_ttft:
        ax.axhline(slo_ttft, color=l1.get_color(), linestyle=":", label=f"TTFT SLO {slo_ttft:g} ms")
    ax.legend(loc="upper left", fontsize=8)
    ax3 = ax.twinx()
    l2, = ax3.plot(times, tbt, color="tab:red", label="P90 TBT (ms)")
    if slo_tbt:
        ax3.axhline(slo_tbt, color="tab:red", linestyle=":", label=f"TBT SLO {slo_tbt:g} ms")
    ax3.set_ylabel("TBT ms")
    ax3.legend(loc="upper right", fontsize=8)
    ax.set_title("P90 latency vs SLO")
    ax.set_xlabel("simulated time (s)")
    fig.tight_layout()
    path = os.path.join(outdir, f"timeline_{name}.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_comparison(results, outdir):
    path = os.path.join(results, "comparison.csv")
    if not os.path.exists(path):
        return None
    rows = read_csv(path)
    if not rows:
        return None
    plt = pyplot()
    names = [r["policy"] for r in rows]
    panels = [
        ("gpu_hours", "GPU-hours"),
        ("slo_attainment_requests", "SLO attainment (requests)"),
        ("slo_attainment_intervals", "SLO attainment (intervals)"),
        ("scaling_actions", "scaling actions"),
        ("pd_ratio_std", "P/D ratio std dev"),
        ("mean_gpu_utilization", "mean GPU utilisation"),
        ("ttft_p90_ms", "P90 TTFT (ms)"),
        ("tbt_p90_ms", "P90 TBT (ms)"),
    ]
    panels = [p for p in panels if p[0] in rows[0]]
    cols = 4
    nrows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4 * cols, 3.4 * nrows))
    axes = axes.flatten() if hasattr(axes, "flatten") else [axes]
    for ax, (key, title) in zip(axes, panels):
        vals = [num(r[key], 0) for r in rows]
        ax.bar(range(len(names)), vals, color="tab:blue")
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=40, ha="right", fontsize=8)
        ax.set_title(title, fontsize=10)
        if key.endswith("_ms"):
            ax.set_yscale("log")
    for ax in axes[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    out = os.path.join(outdir, "comparison.png")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", help="directory written by `heteroscale simulate --out`")
    ap.add_argument("--out", help="where to write the PNGs (default RESULTS/plots)")
    ap.add_argument("--slo-ttft-ms", type=float)
    ap.add_argument("--slo-tbt-ms", type=float)
    a = ap.parse_args(argv)
    if not os.path.isdir(a.results):
        sys.exit(f"{a.results}: not a directory")
    outdir = a.out or os.path.join(a.results, "plots")
    os.makedirs(outdir, exist_ok=True)
    written = []
    for name, d in policy_dirs(a.results):
        p = plot_timeline(name, d, outdir, a.slo_ttft_ms, a.slo_tbt_ms)
        if p:
            written.append(p)
    c = plot_comparison(a.results, outdir)
    if c:
        written.append(c)
    if not written:
        sys.exit(f"{a.results}: no timeline.csv or comparison.csv found")
    for p in written:
        print(p)


if __name__ == "__main__":
    main()
