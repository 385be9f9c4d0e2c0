#!/usr/bin/env python3
"""Plot the evidence of `heteroscale curate CURATE.yaml --out DIR`.

    python3 tools/plot_curate.py DIR [--out PLOTDIR]

Reads DIR/stress_probes.csv and DIR/policies.csv and writes (default PLOTDIR: DIR/plots):
  throughput_vs_load.png  tokens/s per GPU against the request rate, a line per ratio and GPU pairing through
                          its probes; probes within the SLO filled, outside it hollow; the knee (the highest rate
                          within the SLO) starred
  policies_frontier.png   GPU-hours against SLO attainment, a point per policy (labelled), the attainment
                          target dashed when given (--target, default 0.95)
The data functions work without matplotlib (it is imported when plotting).
"""
import argparse
import os
import sys
from collections import defaultdict

from plotlib import num, pyplot, read_csv, save


def curves(probes):
    """{label: [(rate, tokens_per_gpu_s, within, knee)]} sorted by rate, label = 'RATIO PREFILL/DECODE'."""
    out = defaultdict(list)
    for r in probes:
        label = f"{r['ratio']} {r['prefill_gpu']}/{r['decode_gpu']}"
        out[label].append((num(r["rate"]), num(r["tokens_per_gpu_s"]), r["within_slo"] == "1", r["knee"] == "1"))
    return {k: sorted(v) for k, v in out.items()}


def plot_throughput(plt, probes, outdir):
    fig, ax = plt.subplots(figsize=(8, 5))
    for i, (label, pts) in enumerate(sorted(curves(probes).items())):
        color = f"C{i % 10}"
        style = "-" if i < 10 else "--"  # more curves than colours: the second ten dashed
        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, color=color, alpha=0.6, label=label)
        ax.scatter([p[0] for p in pts if p[2]], [p[1] for p in pts if p[2]], color=color, s=18)
        ax.scatter([p[0] for p in pts if not p[2]], [p[1] for p in pts if not p[2]], facecolors="none", edgecolors=color, s=18)
        for p in pts:
            if p[3]:
                ax.scatter([p[0]], [p[1]], marker="*", color=color, s=160, edgecolors="black", zorder=5)
    ax.set_xlabel("request rate of one unit (req/s)")
    ax.set_ylabel("tokens/s per GPU")
    ax.set_title("Stress test: throughput per GPU vs load (filled: within the SLO; star: knee)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(plt, fig, outdir, "throughput_vs_load.png")


def plot_frontier(plt, policies, outdir, target):
    fig, ax = plt.subplots(figsize=(7, 5))
    for i, r in enumerate(policies):
        x, y = num(r["slo_attainment"]), num(r["gpu_hours"])
        ax.scatter([x], [y], color=f"C{i % 10}", s=40)
        ax.annotate(f"{r['rank']}. {r['policy']}", (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    if target:
        ax.axvline(target, linestyle="--", color="grey", label=f"attainment target {target}")
        ax.legend(fontsize=8)
    ax.set_xlabel("SLO attainment (requests meeting TTFT and TBT)")
    ax.set_ylabel("GPU-hours over the workload")
    ax.set_title("Policies: GPU-hours vs SLO attainment")
    ax.grid(alpha=0.3)
    return save(plt, fig, outdir, "policies_frontier.png")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--out")
    ap.add_argument("--target", type=float, default=0.95)
    a = ap.parse_args(argv)
    probes = read_csv(os.path.join(a.dir, "stress_probes.csv"))
    policies = read_csv(os.path.join(a.dir, "policies.csv"))
    outdir = a.out or os.path.join(a.dir, "plots")
    os.makedirs(outdir, exist_ok=True)
    plt = pyplot()
    for p in (plot_throughput(plt, probes, outdir), plot_frontier(plt, policies, outdir, a.target)):
        print(p)


if __name__ == "__main__":
    main(sys.argv[1:])
