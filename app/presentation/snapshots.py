"""Watching a model learn: its training snapshots as the Filters and Reconstructions pages show them.

The trainer keeps W1 and 20 test digits' codes and reconstructions before training and after epochs
1, 2, 4, 8, ... and the last (`core.train.Snapshotter`, `core.schema.Snapshots`). Here: the epoch
slider's labels and the pictures of one snapshot, drawn by the same builders as the final model's
(`app.presentation.images`), titled with the epoch they show.
"""

from __future__ import annotations

import plotly.graph_objects as go

from app.presentation import images
from core.analysis import normalise_codes
from core.schema import Snapshots

__all__ = ["epoch_label", "epoch_phrase", "filters_at", "reconstructions_at", "unavailable_sentence"]

NOT_AVAILABLE = "Snapshots of training are not available for this model"
WHY = {
    "absent": "trained before they were recorded",
    "damaged": "their file is damaged",
}


def unavailable_sentence(status: str) -> str:
    """The one line a page shows for a model without usable snapshots ("absent" or "damaged")."""
    return f"{NOT_AVAILABLE} ({WHY.get(status, WHY['absent'])})."


def epoch_label(epoch: int, final: int) -> str:
    """An epoch on the slider: "before training", "epoch 4", "epoch 56 (last)"."""
    if epoch == 0:
        return "before training"
    return f"epoch {int(epoch)}" + (" (last)" if epoch == final else "")


def epoch_phrase(epoch: int, final: int) -> str:
    """What a picture of the snapshot after `epoch` epochs is: "Before training", "After 1 epoch of 56", ..."""
    if epoch == 0:
        return "Before training"
    of = f" of {final}" if epoch != final else ""
    return f"After {'1 epoch' if epoch == 1 else f'{epoch} epochs'}{of}"


def filters_at(snaps: Snapshots, epoch: int, *, height: int | None = None, margin: dict | None = None) -> go.Figure:
    """The filter grid of the snapshot after `epoch` epochs (W1 to 8 bits per filter, as the picture draws it).

    Dead units are not outlined: which units never fire is known only for the final model.
    """
    w1 = snaps.w1(snaps.at(epoch))
    key = "black = negative weight, grey = 0, white = positive"
    if epoch == 0:
        key = "random initial weights · black = negative, grey = 0, white = positive"
    title = f"{epoch_phrase(epoch, snaps.epochs[-1])}: what each of the {w1.shape[1]} hidden units looks for<br>{key}"
    return images.filter_grid(w1, None, clickable=True, title=title, height=height, margin=margin)


def reconstructions_at(snaps: Snapshots, epoch: int, *, compact: bool = False) -> go.Figure:
    """The reconstruction grid of the snapshot after `epoch` epochs: the digits, their codes, what was redrawn.

    compact: one-line row names (`images.reconstruction_grid`)."""
    i = snaps.at(epoch)
    code = snaps.codes(i)
    return images.reconstruction_grid(
        snaps.inputs,
        code,
        normalise_codes(code)[0],
        snaps.outputs(i),
        snaps.index,
        title=f"{epoch_phrase(epoch, snaps.epochs[-1])}: how the network redraws test digits",
        compact=compact,
    )
