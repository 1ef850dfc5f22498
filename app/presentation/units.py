"""One hidden unit as people read it: the per-unit table, which unit to open on, and what a unit does.

Pure functions of the stored analysis arrays, so the unit explorer's
decisions (the unit it opens on, the verdict it writes) are tested on
small arrays instead of inside the page.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core import schema as S
from core.analysis import label_selectivity
from core.results import CellView

__all__ = ["RARE", "SELECTIVE", "telling_unit", "unit_verdict", "units_columns", "units_table"]

RARE = 20  # a unit firing on fewer test digits is "nearly dead": its preferences mean little
SELECTIVE = 0.1  # below this selectivity a unit is said to fire alike on every digit


def units_columns(view: CellView) -> dict[str, np.ndarray]:
    """One entry (n_units,) per hidden unit: what the units table shows and the CSV holds."""
    a = view.arrays
    status = np.where(a[S.DEAD_UNITS], "dead", np.where(a[S.DENSE_UNITS], "dense", "normal"))
    selectivity, preferred = label_selectivity(a[S.UNIT_LABEL_FREQUENCY])
    fires_on = a[S.UNIT_HIST].sum(axis=1)  # the exact count of test images with h > 0
    return {
        "unit": np.arange(len(status)),
        "fires_on_images": fires_on,
        "fires_on_fraction": fires_on / len(a[S.LABELS_TEST]),
        "mean_activation": a[S.UNIT_MEAN_TEST],
        "max_activation": a[S.UNIT_HIST_MAX],
        "selectivity": selectivity,
        "preferred_digit": preferred,
        "status": status,
    }


def telling_unit(units: Mapping[str, np.ndarray]) -> int:
    """The unit to open on: the most selective of those firing on at least 1% (and RARE) of the test digits.

    units: as `units_columns` returns them. With no such unit, the one that fires most often.
    """
    freq = units["fires_on_fraction"]
    common = (freq >= 0.01) & (units["fires_on_images"] >= RARE)
    if not common.any():
        return int(np.argmax(freq))
    return int(np.argmax(np.where(common, units["selectivity"], -1.0)))


def unit_verdict(units: Mapping[str, np.ndarray], unit: int, label_mean: np.ndarray, n_images: int) -> str:
    """One sentence (markdown) on what `unit` does: dead, nearly dead, or how often and on which digits it fires.

    units: as `units_columns` returns them; label_mean (10,): the unit's mean activation on each digit.
    """
    n_fire = int(units["fires_on_images"][unit])
    status = units["status"][unit]
    preferred, selectivity = int(units["preferred_digit"][unit]), float(units["selectivity"][unit])
    if status == "dead":
        verdict = "is **dead**: it fires on none of the test digits, so it carries no information."
    elif n_fire < RARE:
        verdict = (
            f"fires on only {n_fire} of the {n_images:,} test digits: too few to say what it is for "
            "(it is nearly dead)."
        )
    else:
        kind = "a **dense** unit, " if status == "dense" else ""
        liking = "about as often on every digit" if selectivity < SELECTIVE else f"most often on **{preferred}s**"
        strongest = int(np.argmax(label_mean))  # the digit with the largest mean activation
        strength = f", most strongly on **{strongest}s**" if selectivity < SELECTIVE or strongest != preferred else ""
        verdict = (
            f"is {kind}firing on {n_fire / n_images:.1%} of the test digits, {liking} "
            f"(selectivity {selectivity:.2f} on a 0–1 scale){strength}."
        )
    return f"Unit {unit} {verdict}"


def units_table(units: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The unit explorer's table of all units: firing in percent, "–" for a unit with no preferred digit."""
    preferred = units["preferred_digit"]
    return {
        "unit": units["unit"],
        "fires on": units["fires_on_fraction"] * 100,
        "mean activation": units["mean_activation"],
        "selectivity": units["selectivity"],
        "preferred digit": np.where(preferred >= 0, preferred.astype(str), "–"),
        "status": units["status"],
    }
