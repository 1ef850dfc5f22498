"""Tests for app.presentation.text: what the pages say, on small dicts."""

from __future__ import annotations

import pytest

from app.presentation import tables, text
from core.results import pareto_front
from core.schema import FastMeta, LossTerms


@pytest.mark.parametrize(
    ("value", "label"), [(0.0, "0"), (1.1e-5, "1.1e-05"), (1e-4, "1.0e-04"), (1e-3, "0.001"), (0.003, "0.003")]
)
def test_fmt_labels_lambdas_without_float_noise(value, label):
    assert text.fmt(value) == label
    assert float(label) == pytest.approx(value, rel=0.05)


def test_model_label_names_both_lambdas():
    assert text.model_label("B", 0.0, 1e-3) == "B: λ_k = 0, λ_a = 0.001"


def meta(dead, l0, mse, sparsity, dense=0) -> FastMeta:
    """Analysis metadata with these numbers (and plausible others)."""
    loss = LossTerms(mse=mse, activity=0.001, kernel=0.002, total=mse + 0.003)
    return FastMeta(
        version=1,
        config={},
        loss_train=loss,
        loss_test=loss,
        density_train=1 - sparsity,
        sparsity_train=sparsity,
        l0_mean_train=l0,
        density_test=1 - sparsity,
        sparsity_test=sparsity,
        l0_mean_test=l0,
        n_dead_units=dead,
        n_dense_units=dense,
        mean_activation_test=0.1,
        n_zero_codes_test=0,
        n_zero_codes_cosine=0,
    )


def test_differences_spell_out_the_change():
    a, b = meta(3, 150.0, 0.010, 0.25), meta(15, 90.0, 0.0138, 0.55)
    sentences = text.differences(a, b)
    assert sentences[0] == "12 more dead units (3 → 15)"
    assert sentences[1] == "90 instead of 150 active units per digit (-40%)"
    assert sentences[2] == "test reconstruction error (MSE) +38% (worse)"
    assert sentences[3] == "sparsity 25% → 55% (+30 percentage points)"
    back = text.differences(b, a)
    assert back[0] == "12 fewer dead units (15 → 3)" and back[2].endswith("(better)")
    same = text.differences(a, a)
    assert same[0] == "the same number of dead units" and "unchanged" in same[2] and "points" not in same[3]


def test_the_test_loss_is_spelled_out_term_by_term():
    sentence = text.loss_sentence(LossTerms(mse=0.01, activity=0.002, kernel=0.0005, total=0.0125))
    assert sentence == (
        "Final test loss 0.012500 = MSE 0.010000 + activity penalty 0.002000 + weight penalty 0.000500."
    )


def test_each_metric_is_shown_in_its_own_format():
    shown = {m.label: m for m in tables.COMPARED}
    assert text.metric_text(shown["dead units"], 12) == "12"
    assert text.metric_text(shown["dead units"], 12, signed=True) == "+12"
    assert text.metric_text(shown["sparsity of the code"], 0.25) == "25.0%"
    assert text.metric_text(shown["sparsity of the code"], 0.03, signed=True) == "+3.0 points"  # not "+3.0%"
    assert text.metric_text(shown["active units per digit"], -4.25, signed=True) == "-4.2"
    assert text.metric_text(shown["test reconstruction error (MSE)"], 0.0123456) == "0.01235"


def test_the_comparison_table_has_a_row_per_metric_and_a_column_per_model():
    a, b = meta(3, 150.0, 0.010, 0.25, dense=2), meta(15, 90.0, 0.0138, 0.55, dense=0)
    table = text.comparison_table(a, b, "A: one", "B: other")
    assert list(table) == ["", "A: one", "B: other", "B − A"]
    assert table[""] == [m.label for m in tables.COMPARED]
    row = table[""].index("dead units")
    assert (table["A: one"][row], table["B: other"][row], table["B − A"][row]) == ("3", "15", "+12")
    assert table["B − A"][table[""].index("sparsity of the code")] == "+30.0 points"
    assert table["B − A"][table[""].index("dense units")] == "-2"


def frontier_rows() -> list[dict]:
    """Four models: (0, 0) most faithful and densest, (1e-3, 1e-3) sparsest, (0, 1e-3) beaten by (1e-3, 0)."""
    cells = {
        (0.0, 0.0): (150.0, 0.01),
        (1e-3, 0.0): (80.0, 0.02),
        (0.0, 1e-3): (90.0, 0.03),
        (1e-3, 1e-3): (20.0, 0.05),
    }
    return [
        {"lambda_k": k, "lambda_a": a, "l0_mean_test": l0, "density_test": l0 / 196, "mse_test": mse}
        for (k, a), (l0, mse) in cells.items()
    ]


def test_the_frontier_summary_names_the_most_faithful_and_the_sparsest_model():
    rows = frontier_rows()
    front = pareto_front([r["l0_mean_test"] for r in rows], [r["mse_test"] for r in rows])
    summary = text.frontier_summary(rows, front, "l0_mean_test")
    assert summary.startswith("Of the **4** models, **3** are on the front.")
    assert "most faithful (λ_k = 0, λ_a = 0) uses 150 units per digit" in summary
    assert "the sparsest (λ_k = 0.001, λ_a = 0.001) uses 20 and redraws digits with 5.0× its error" in summary


def test_the_frontier_caption_says_where_the_chosen_model_stands():
    rows = frontier_rows()
    front = pareto_front([r["l0_mean_test"] for r in rows], [r["mse_test"] for r in rows])
    assert text.frontier_caption(rows, front, (1e-3, 0.0)) == "The chosen model (ringed) is on the front."
    beaten = text.frontier_caption(rows, front, (0.0, 1e-3))
    assert beaten.startswith("The chosen model (ringed) is not on the front") and "both sparser" in beaten
    assert "not analysed yet" in text.frontier_caption(rows, front, (5e-5, 0.0))
