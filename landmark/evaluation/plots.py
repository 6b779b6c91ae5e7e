"""Plots of an evaluation: sensitivity against FPR, precision against recall (PNG, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def _figure():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, ax, path: Path, legend: str) -> Path:  # type: ignore[no-untyped-def]
    """Grid, legend, tight layout; write the PNG and free the figure."""
    ax.grid(alpha=0.3)
    ax.legend(loc=legend, fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_sensitivity_fpr(
    curves: dict[str, pd.DataFrame], path: Path, marks: tuple[float, ...] = (0.01, 0.001)
) -> Path:
    """One line per system: sensitivity against FPR (log x), with vertical marks at the reported FPRs."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
    for name, curve in curves.items():
        x = curve["fpr"].clip(lower=1e-4)
        ax.step(x, curve["sensitivity"], where="post", label=name)
    for fpr in marks:
        ax.axvline(fpr, color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("false positive rate (photos that must be rejected)")
    ax.set_ylabel("sensitivity (landmark photos recognised correctly)")
    return _save(plt, fig, ax, path, legend="lower right")


def plot_precision_recall(curves: dict[str, pd.DataFrame], path: Path) -> Path:
    """One line per system: precision against recall of predictions ranked by confidence."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
    for name, curve in curves.items():
        ax.plot(curve["recall"], curve["precision"], label=name)
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    return _save(plt, fig, ax, path, legend="lower left")
