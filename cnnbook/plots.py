"""The book's standard figures: training curves, confusion matrices, image grids, filters.

Every function draws with matplotlib's pyplot and returns the figure, so a notebook shows it once
at the end of the cell.
"""

import matplotlib.pyplot as plt
import numpy as np


def sharp_figures():
    """Show the running notebook's figures as 2x PNGs (IPython's "retina" format): twice the pixels,
    shown at the same size, so lines and labels stay sharp on high-density screens and when a
    reader zooms in. Returns whether it applied (outside IPython nothing changes).
    `cnnbook.system.setup` calls it."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    if get_ipython() is None:
        return False
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina")
    return True


def _history_of(run):
    """The per-epoch history dict of a FitResult, a Record or a plain dict."""
    return run.history if hasattr(run, "history") else run


def curves(runs, *, metrics=("loss", "accuracy"), title=None, figsize=None):
    """Training (solid) and validation (dashed) curves per epoch, one panel per metric.

    ``runs``: ``{label: run}`` where a run is a `cnnbook.train.FitResult`, a result record or a
    history dict with ``loss``, ``accuracy``, ``val_loss`` and ``val_accuracy`` lists.
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=figsize or (5.2 * len(metrics), 3.6), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (label, run), color in zip(runs.items(), colors * 10):
        history = _history_of(run)
        epochs = history.get("epoch") or list(range(1, len(history[metrics[0]]) + 1))
        for ax, metric in zip(axes[0], metrics):
            ax.plot(epochs, history[metric], color=color, label=f"{label} train")
            if f"val_{metric}" in history:
                ax.plot(epochs, history[f"val_{metric}"], color=color, linestyle="--", label=f"{label} val")
    for ax, metric in zip(axes[0], metrics):
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion(y_true, y_pred, num_classes):
    """Confusion counts: ``matrix[i, j]`` = examples of class i predicted as j."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)), 1)
    return matrix


def confusion_matrix(y_true, y_pred, class_names, *, title=None):
    """The confusion matrix as a heat map, rows normalized to the share of each true class."""
    counts = confusion(y_true, y_pred, len(class_names))
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(class_names)):
        for j in range(len(class_names)):
            ax.text(j, i, f"{shares[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if shares[i, j] > 0.5 else "black")  # fmt: skip
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def image_grid(images, titles=None, *, columns=8, scale=1.3, title=None):
    """Images (N, H, W, C), uint8 or floats in 0..1, in a grid with optional titles."""
    images = np.asarray(images)
    rows = int(np.ceil(len(images) / columns))
    title_lines = max((str(t).count("\n") + 1 for t in titles), default=0) if titles is not None else 0
    height = rows * scale * (1.0 + 0.18 * title_lines)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * scale, height), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= len(images):
            continue
        image = images[index]
        ax.imshow(image.squeeze(-1) if image.shape[-1] == 1 else image, cmap="gray" if image.shape[-1] == 1 else None,
                  interpolation="nearest")  # fmt: skip
        if titles is not None:
            ax.set_title(titles[index], fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def samples(images, labels, class_names, *, per_class=8, seed=0):
    """``per_class`` random images of every class, one row per class."""
    labels = np.asarray(labels).reshape(-1)
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(len(class_names))]
    fig = image_grid(images[np.concatenate(chosen)], columns=per_class, scale=1.0)
    for row, name in enumerate(class_names):
        fig.axes[row * per_class].text(-4, 16, name, ha="right", va="center", fontsize=8)
    return fig


def mistakes(images, y_true, logits, class_names, *, count=24, columns=8):
    """The ``count`` most confident mistakes, titled ``predicted (probability) / true``."""
    y_true = np.asarray(y_true).reshape(-1)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]], kind="stable")][:count]
    titles = [f"{class_names[predicted[i]]} ({probabilities[i, predicted[i]]:.2f})\nis {class_names[y_true[i]]}" for i in wrong]
    return image_grid(images[wrong], titles, columns=columns, scale=1.4)


def filters(kernel, titles=None, *, columns=None, title=None):
    """First-layer filters, a kernel of shape (height, width, channels, filters), each scaled to
    its own 0..1 range; shown in colour when there are three input channels."""
    kernel = np.asarray(kernel, dtype=np.float32)
    tiles = np.moveaxis(kernel, -1, 0)
    low = tiles.min(axis=(1, 2, 3), keepdims=True)
    high = tiles.max(axis=(1, 2, 3), keepdims=True)
    tiles = (tiles - low) / np.maximum(high - low, 1e-8)
    if tiles.shape[-1] not in (1, 3):
        tiles = tiles.mean(axis=-1, keepdims=True)
    titles = titles if titles is not None else [str(i) for i in range(len(tiles))]
    return image_grid(tiles, titles, columns=columns or min(len(tiles), 8), scale=1.0, title=title)


def reliability(calibrations, *, title=None, figsize=None):
    """Reliability diagrams, one panel per classifier: accuracy against confidence per bin.

    ``calibrations``: ``{label: cnnbook.visualize.calibration(...)}``. Bars are each bin's
    accuracy; the diagonal is a calibrated classifier; the gap between bar and diagonal, weighted
    by the bin's size, averages to the expected calibration error printed in the panel.
    """
    fig, axes = plt.subplots(1, len(calibrations), figsize=figsize or (4.2 * len(calibrations), 4.0), squeeze=False)
    for ax, (label, c) in zip(axes[0], calibrations.items()):
        edges = np.asarray(c["edges"])
        width = np.diff(edges)
        accuracy = np.nan_to_num(np.asarray(c["accuracy"], float))
        confidence = np.asarray(c["confidence"], float)
        ax.bar(edges[:-1], accuracy, width=width, align="edge", color="#4c72b0", edgecolor="white", label="accuracy")
        gap = np.where(np.isnan(confidence), 0.0, confidence - accuracy)
        ax.bar(edges[:-1], gap, bottom=accuracy, width=width, align="edge", color="#dd8452", alpha=0.5,
               edgecolor="white", label="confidence above accuracy")
        ax.plot([0, 1], [0, 1], color="0.3", linestyle="--", linewidth=1)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", title=f"{label}\nECE {c['ece']:.1%}")
        ax.set_ylabel("accuracy")
    axes[0][0].legend(loc="upper left", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
