"""Unit explorer: one hidden unit up close, chosen by clicking its filter, by number, or in the units table."""

import streamlit as st

from app import cache, chrome, guards, selection
from app.presentation import charts, images, tables, units
from core import schema as S
from core.analysis import top_images

chrome.page_intro(
    "One hidden unit up close",
    "Click a filter (or type a unit's number) to see what that unit does: the digits that make it fire most, "
    "how often it fires, and on which digits.",
)
sel = selection.this_run()
view = guards.require_view(sel)
a = view.arrays
ident = cache.identity(view)
n_units = view.weights["W1"].shape[1]
n_images = len(a[S.LABELS_TEST])
per_unit = units.units_columns(view)  # per unit: firing count and fraction, selectivity, preferred digit...
TIGHT = dict(l=0, r=0, t=40, b=0)  # margins of the two small figures side by side

if "unit" not in st.session_state or not 0 <= st.session_state["unit"] < n_units:
    url_unit, notice = selection.int_from_url("unit", n_units)
    if notice:
        st.warning(f"{notice}; showing another.", icon=":material/link:")
    st.session_state["unit"] = url_unit if url_unit is not None else units.telling_unit(per_unit)


def _row_chosen() -> None:
    rows = st.session_state["units_table"].selection.rows  # positions in the data, whatever the sort
    if rows:
        selection.set_widget(unit=int(rows[0]))


@st.fragment
def explorer() -> None:
    """The grid, the chosen unit's figures and the table: only this part reruns when another unit is chosen."""
    left, right = st.columns([1, 1], gap="medium")
    with left:
        unit = st.session_state["unit"]
        grid = chrome.figure(
            ("units", "grid", *ident, unit),
            lambda: images.filter_grid(
                view.weights["W1"],
                a[S.DEAD_UNITS],
                selected=unit,
                clickable=True,
                colorbar=False,
                title="Click a filter to explore its unit",
                height=500,
                margin=dict(l=0, r=0, t=40, b=0),
            ),
        )
        chrome.chart(
            grid, key="unit_grid", on_select=selection.chooser("unit_grid", "unit"), selection_mode="points", main=True
        )
    selection.to_url(unit=str(unit))

    with right:
        c0, c1 = st.columns([1, 2], vertical_alignment="bottom")
        c0.number_input("Unit", min_value=0, max_value=n_units - 1, step=1, key="unit")
        c1.subheader(f"Unit {unit}")
        st.markdown(units.unit_verdict(per_unit, unit, a[S.UNIT_LABEL_MEAN][unit], n_images))
        f1, f2 = st.columns([2, 3])
        chrome.chart(
            chrome.figure(
                ("units", "filter", *ident, unit),
                lambda: images.unit_filter(
                    view.weights["W1"][:, unit], unit, title="Its filter", height=230, margin=TIGHT
                ),
            ),
            where=f1,
        )

        def _tiles():
            imgs = top_images(a, unit)
            idx = a[S.UNIT_TOP_INDEX][unit][: len(imgs)]
            vals = a[S.UNIT_TOP_VALUE][unit][: len(imgs)]
            labels = a[S.LABELS_TEST][idx]
            captions = [f"test image {i}: digit {d}, h = {v:.3g}" for i, d, v in zip(idx, labels, vals)]
            title = f"Its top {len(imgs)} digits"
            return images.digit_tiles(imgs, captions, title, n_cols=4, height=230, margin=TIGHT)

        chrome.chart(chrome.figure(("units", "top", *ident, unit), _tiles), where=f2)
    h1, h2 = st.columns(2)
    chrome.chart(
        chrome.figure(
            ("units", "hist", *ident, unit),
            lambda: charts.unit_activation_histogram(a[S.UNIT_HIST][unit], a[S.UNIT_HIST_MAX][unit], n_images, unit),
        ),
        where=h1,
    )
    chrome.chart(
        chrome.figure(
            ("units", "digits", *ident, unit), lambda: charts.unit_digit_bars(a[S.UNIT_LABEL_FREQUENCY][unit], unit)
        ),
        where=h2,
    )

    st.subheader("All units")
    st.caption("Sort by any column; choose a row to explore that unit.")
    st.dataframe(
        units.units_table(per_unit),
        hide_index=True,
        height=320,
        key="units_table",
        on_select=_row_chosen,
        selection_mode="single-row",
        column_config={
            "fires on": st.column_config.ProgressColumn("fires on", format="%.1f%%", min_value=0, max_value=100),
            "mean activation": st.column_config.NumberColumn(format="%.4f"),
            "selectivity": st.column_config.ProgressColumn(format="%.2f", min_value=0, max_value=1),
        },
    )


explorer()
chrome.explain(
    "A unit that fires mostly on one digit has a clear job; a **dead** unit never fires, a **dense** one fires "
    "on more than half of all digits.",
    "Activation h_u = relu(x·W1[:, u] + b1[u]) over the 10,000 test images. Histogram: the non-zero values "
    "(30 bins up to the unit's maximum), h = 0 counted apart. Top 16: the largest h_u, ties by index. "
    "Selectivity, from how often the unit fires on each digit (the bar chart): the preferred digit's share "
    "of those ten frequencies, rescaled so 0 = as often on every digit and 1 = on one digit only "
    f"(0 for a dead unit). Units firing on fewer than {units.RARE} test digits are called nearly dead.",
)
chrome.download("Units table (CSV)", lambda: tables.units_csv(view), f"units_{sel.tag}.csv")
