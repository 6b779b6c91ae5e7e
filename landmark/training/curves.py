"""A plot of the per-epoch training curves (loss terms, accuracy, learning rate)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_curves(history: list[dict[str, float]], path: Path, title: str = "") -> Path:
    """Write a 3-panel PNG of `history` (one dict per epoch with loss, ce, centre, accuracy, lr)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for key in ("loss", "ce", "centre"):
        axes[0].plot(epochs, [h.get(key, float("nan")) for h in history], marker="o", label=key)
    axes[0].set_title("loss")
    axes[0].legend()
    axes[1].plot(epochs, [h.get("accuracy", float("nan")) for h in history], marker="o")
    axes[1].set_title("train accuracy")
    axes[1].set_ylim(0, 1)
    axes[2].plot(epochs, [h.get("lr", float("nan")) for h in history], marker="o")
    axes[2].set_title("learning rate (end of epoch)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
