"""Architecture rules: core imports neither Streamlit nor Plotly; the presentation layer imports neither Streamlit
nor TensorFlow; showing cached models never imports TensorFlow."""

import ast
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def imported(path: Path) -> set[str]:
    """The top-level names of every module a file imports (at any depth of its code)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0])
    return names


def test_core_never_imports_streamlit():
    for path in (ROOT / "core").glob("*.py"):
        assert "streamlit" not in imported(path), path


def test_core_never_imports_plotly():
    for path in (ROOT / "core").glob("*.py"):
        assert "plotly" not in imported(path), path


def test_the_presentation_layer_imports_neither_streamlit_nor_tensorflow():
    paths = list((ROOT / "app" / "presentation").glob("*.py"))
    assert len(paths) > 1
    for path in paths:
        assert not imported(path) & {"streamlit", "tensorflow", "keras"}, path


def test_reading_the_cache_does_not_import_tensorflow():
    code = (
        "import sys; import core.config, core.data, core.model, core.store, core.sweep, core.__main__;"
        "import core.analysis, core.results, core.schema, core.bundle;"
        "import app.keys, app.cache, app.selection, app.chrome, app.guards, app.jobs, app.presenter;"
        "import app.presentation.charts, app.presentation.images, app.presentation.style;"
        "import app.presentation.tables, app.presentation.text, app.presentation.units, app.presentation.progress;"
        "core.results.scan(core.store.ModelStore('/nonexistent'));"
        "core.store.ModelStore('/nonexistent').index();"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
