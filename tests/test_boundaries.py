"""Architecture rules: core never imports Streamlit; showing cached models never imports TensorFlow."""

import ast
import subprocess
import sys

from conftest import ROOT


def test_core_never_imports_streamlit():
    for path in (ROOT / "core").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] == "streamlit" for n in names), path


def test_reading_the_cache_does_not_import_tensorflow():
    code = (
        "import sys; import core.config, core.data, core.model, core.store, core.sweep, core.__main__;"
        "import core.analysis, core.results, core.figures, app.state, app.serve;"
        "core.results.scan(core.store.ModelStore('/nonexistent'));"
        "core.store.ModelStore('/nonexistent').entries();"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
