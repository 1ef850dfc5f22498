"""Sentences and numbers for people: λ labels, how two models differ, what the trade-off page says.

Strings out, from the analysis metadata (`core.schema.FastMeta`) and the results table's rows,
so what a page says is tested on small dicts instead of inside the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.presentation.tables import COMPARED, Metric
from core.config import same_lambda
from core.schema import FastMeta, LossTerms

__all__ = [
    "comparison_table",
    "differences",
    "fmt",
    "frontier_caption",
    "frontier_summary",
    "literal",
    "loss_sentence",
    "metric_text",
    "model_label",
]


def fmt(value: float) -> str:
    """A lambda as people read it (slider labels, links, captions): 0, 1.1e-05, 0.003, 1.0e-04."""
    return "0" if value == 0 else f"{value:.2g}" if 1e-3 <= value < 1 else f"{value:.1e}"


_MARKDOWN = set("\\`*_{}[]<>()#+-.!|~:$&")  # ASCII punctuation Markdown (and Streamlit's :color[] / :icon:) reads


def literal(text: str) -> str:
    """Text from a visitor (a link's parameter) as Markdown that shows it exactly: every mark escaped.

    A link like ?lambda_k=[Login](//evil.example) then shows those characters, never a link.
    """
    return "".join("\\" + c if c in _MARKDOWN else c for c in text.replace("\n", " "))


def model_label(letter: str, lambda_k: float, lambda_a: float) -> str:
    """A model's name on the compare page: "A: λ_k = 0, λ_a = 0.001"."""
    return f"{letter}: λ_k = {fmt(lambda_k)}, λ_a = {fmt(lambda_a)}"


def loss_sentence(loss: LossTerms) -> str:
    """The final test loss split into its terms: "Final test loss 0.012 = MSE 0.011 + activity penalty ..."."""
    return (
        f"Final test loss {loss.total:.6f} = MSE {loss.mse:.6f} + activity penalty "
        f"{loss.activity:.6f} + weight penalty {loss.kernel:.6f}."
    )


# ------------------------------------------------------------ two models
def differences(a: FastMeta, b: FastMeta) -> list[str]:
    """Plain sentences on how model B differs from model A, from their analysis metadata."""

    def pct(new: float, old: float) -> str:
        return "unchanged" if old == 0 or abs(new / old - 1) < 0.005 else f"{new / old - 1:+.0%}"

    out = []
    dead = b.n_dead_units - a.n_dead_units
    out.append(
        "the same number of dead units"
        if dead == 0
        else f"{abs(dead)} {'more' if dead > 0 else 'fewer'} dead unit{'s' if abs(dead) != 1 else ''}"
        f" ({a.n_dead_units} → {b.n_dead_units})"
    )
    l0a, l0b = a.l0_mean_test, b.l0_mean_test
    if round(l0a) == round(l0b):
        out.append(f"about as many active units per digit ({l0b:.0f})")
    else:
        out.append(f"{l0b:.0f} instead of {l0a:.0f} active units per digit ({pct(l0b, l0a)})")
    mse_a, mse_b = a.loss_test.mse, b.loss_test.mse
    verdict = "" if pct(mse_b, mse_a) == "unchanged" else (" (worse)" if mse_b > mse_a else " (better)")
    out.append(f"test reconstruction error (MSE) {pct(mse_b, mse_a)}{verdict}")
    sp = (b.sparsity_test - a.sparsity_test) * 100
    out.append(
        f"sparsity {a.sparsity_test:.0%} → {b.sparsity_test:.0%}"
        + ("" if abs(sp) < 0.5 else f" ({sp:+.0f} percentage points)")
    )
    return out


def metric_text(metric: Metric, value: float, signed: bool = False) -> str:
    """A metric's value as the compare page shows it; signed: a difference (B − A), with its sign.

    The difference of two fractions shown in percent is in percentage points ("+3.0 points").
    """
    if signed and metric.spec.endswith("%}"):
        return f"{value * 100:+.1f} points"
    return (metric.spec.replace("{:", "{:+") if signed else metric.spec).format(value)


def comparison_table(a: FastMeta, b: FastMeta, label_a: str, label_b: str) -> dict[str, list[str]]:
    """The compare page's table, as text: a column of metric labels, then A, B and B − A."""
    return {
        "": [m.label for m in COMPARED],
        label_a: [metric_text(m, m.get(a)) for m in COMPARED],
        label_b: [metric_text(m, m.get(b)) for m in COMPARED],
        "B − A": [metric_text(m, m.get(b) - m.get(a), signed=True) for m in COMPARED],
    }


# ------------------------------------------------------------ the trade-off
def frontier_summary(rows: Sequence[Mapping[str, Any]], front: Sequence[int], x_key: str) -> str:
    """The trade-off page's summary (markdown): how many models are on the front, the most faithful, the sparsest.

    rows: the results table (`core.results.results_table`); front: indices into rows; x_key: the sparsity measure.
    """
    best = min(rows, key=lambda r: r["mse_test"])
    sparsest = min(rows, key=lambda r: r[x_key])
    ratio = sparsest["mse_test"] / best["mse_test"]
    head = (
        f"Of the **{len(rows)}** models, **{len(front)}** are on the front. The most faithful "
        f"(λ_k = {fmt(best['lambda_k'])}, λ_a = {fmt(best['lambda_a'])}) uses "
        f"{best['l0_mean_test']:.0f} units per digit"
    )
    if sparsest is best:
        return head + "; it is also the sparsest."
    cost = "about as well" if ratio < 1.05 else f"with {ratio:.1f}× its error" if ratio < 10 else f"{ratio:.0f}× worse"
    return (
        head + f"; the sparsest (λ_k = {fmt(sparsest['lambda_k'])}, λ_a = {fmt(sparsest['lambda_a'])}) uses "
        f"{sparsest['l0_mean_test']:.0f} and redraws digits {cost}."
    )


def frontier_caption(rows: Sequence[Mapping[str, Any]], front: Sequence[int], cell: tuple[float, float]) -> str:
    """Where the chosen model (cell = (lambda_k, lambda_a)) stands: not analysed, on the front, or beaten."""
    chosen = next(
        (i for i, r in enumerate(rows) if same_lambda(r["lambda_k"], cell[0]) and same_lambda(r["lambda_a"], cell[1])),
        None,
    )
    if chosen is None:
        return "The model chosen in the sidebar is not analysed yet, so it is not on the chart."
    on_front = chosen in front
    return f"The chosen model (ringed) is {'on' if on_front else 'not on'} the front" + (
        "." if on_front else ": another model is both sparser and more faithful."
    )
