"""What people see: Plotly figure builders, CSV writers, and sentences for people.

Arrays and dicts in (as `core.results` returns them), a `go.Figure`, CSV
bytes or a string out. This package imports neither Streamlit nor
TensorFlow, so every figure, file and sentence is tested without a browser
(tests/test_presentation_*.py), and the pages under `app/views` only pick
data, call one function and draw.

    style    the look shared by every figure: colours, template, legend, title/size options
    charts   lines, bars, boxes and scatters (sweeps over λ, training, units, clusters, t-SNE, the frontier)
    images   image grids, each one image of a mosaic (filters, reconstructions, digits)
    tables   the CSV files the pages offer, and the compare page's metrics
    units    one hidden unit: its table row, which unit to open on, the sentence saying what it does
    text     sentences and numbers for people: λ labels, comparisons, the trade-off page's summary
    progress the preparation as people see it: the readiness map, live curves, times
    motion   the t-SNE glide: the browser script that turns one map onto another (Procrustes) and glides
    digit    the "Your digit" page's figures: the drawing, its code, reconstructions, nearest test digits
"""
