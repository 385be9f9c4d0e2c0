"""Helpers shared by the plot scripts (plot_results.py, plot_sweep.py, plot_curate.py).

The data helpers work without matplotlib; `pyplot()` imports it on first use.
"""
import csv
import os


def pyplot():
    """matplotlib's pyplot on the Agg backend, imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(plt, fig, outdir, name):
    """Lays out, writes OUTDIR/NAME at 100 dpi, closes the figure, returns the path."""
    fig.tight_layout()
    path = os.path.join(outdir, name)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def num(x, default=float("nan")):
    """float(x), or `default` for an empty or non-numeric cell."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return default


def read_csv(path):
    """Every row of a CSV file with a header, as dicts."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
