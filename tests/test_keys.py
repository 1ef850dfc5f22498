"""Dashboard state has one home: every session key a page uses is declared in app/keys.py, and λ values are
compared by one rule (`core.config.same_lambda`) everywhere."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.keys import KEYS, TABLE, URL_PARAMS, declared
from conftest import ROOT
from core.config import LAMBDA_RTOL, same_lambda

SESSION_METHODS = {"get", "pop", "setdefault"}  # st.session_state.<method>("key", ...)
KEY_KEYWORDS = {"set_widget"}  # set_widget(lambda_k=...): its keyword names are session keys
KEY_ARGUMENTS = {"chooser"}  # chooser("filters_grid", "unit"): its literal arguments are session keys
NO_PREFIX = "<an f-string key without a constant start>"


@dataclass(frozen=True)
class Use:
    """One place that names a session key."""

    file: str
    line: int
    name: str
    how: str

    @property
    def ok(self) -> bool:
        return declared(self.name)


def _constants(tree: ast.Module) -> dict[str, str]:
    """The module's top-level string constants (PENDING, KEEP = "_pending", "_keep")."""
    out = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name) and isinstance(node.value, ast.Constant):
                if isinstance(node.value.value, str):
                    out[target.id] = node.value.value
            elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                for t, v in zip(target.elts, node.value.elts):
                    if isinstance(t, ast.Name) and isinstance(v, ast.Constant) and isinstance(v.value, str):
                        out[t.id] = v.value
    return out


def _literal(node: ast.AST, constants: dict[str, str]) -> str | None:
    """The key a node names: a string literal, a module constant, or the constant start of an f-string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    if isinstance(node, ast.JoinedStr):
        start = ""
        for part in node.values:
            if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
                break
            start += part.value
        return start or NO_PREFIX
    return None


def _is_session_state(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "session_state"


def _called(node: ast.Call) -> str | None:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def scan_source(source: str, file: str = "<string>") -> list[Use]:
    """Every session key that `source` names: key= arguments, st.session_state[...] and its get/pop/setdefault,
    `"..." in st.session_state`, set_widget's keywords and chooser's arguments."""
    tree = ast.parse(source)
    constants = _constants(tree)
    uses = []

    def add(node: ast.AST, value: ast.AST, how: str) -> None:
        name = _literal(value, constants)
        if name is not None:
            uses.append(Use(file, node.lineno, name, how))

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "key":
                    add(node, kw.value, "key=")
            name = _called(node)
            if isinstance(node.func, ast.Attribute) and _is_session_state(node.func.value) and node.args:
                if node.func.attr in SESSION_METHODS:
                    add(node, node.args[0], f"session_state.{node.func.attr}")
            if name in KEY_KEYWORDS:
                uses += [Use(file, node.lineno, kw.arg, f"{name}(...)") for kw in node.keywords if kw.arg]
            if name in KEY_ARGUMENTS:
                for arg in node.args:
                    add(node, arg, f"{name}(...)")
        elif isinstance(node, ast.Subscript) and _is_session_state(node.value):
            add(node, node.slice, "session_state[...]")
        elif isinstance(node, ast.Compare) and any(_is_session_state(c) for c in node.comparators):
            if all(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
                add(node, node.left, "in session_state")
    return uses


def app_files() -> list[Path]:
    return sorted((ROOT / "app").rglob("*.py"))


def scan_app() -> list[Use]:
    return [u for p in app_files() for u in scan_source(p.read_text(), str(p.relative_to(ROOT)))]


# ------------------------------------------------------------------- the key table
def test_every_session_key_the_dashboard_uses_is_declared():
    undeclared = [f"{u.file}:{u.line}: {u.name!r} ({u.how})" for u in scan_app() if not u.ok]
    assert not undeclared, "declare these in app/keys.py:\n" + "\n".join(undeclared)


def test_the_scanner_finds_the_dashboards_keys():
    found = {u.name for u in scan_app()}
    assert len(found) >= 15
    # one of each way to name a key: a widget's key=, a subscript, .get/.setdefault, an f-string, a constant
    assert {"lambda_k", "readiness_map", "job-prepare", "_waiting", "_asked", "download-", "_pending"} <= found


def test_the_scanner_flags_an_undeclared_key_in_every_form():
    source = """
import streamlit as st
PENDING_X = "_not_a_key_const"
st.button("Go", key="not_a_key_widget")
st.session_state["not_a_key_subscript"] = 1
st.session_state.get("not_a_key_get")
st.session_state.pop("not_a_key_pop", None)
st.session_state.setdefault("not_a_key_setdefault", 0)
st.session_state.setdefault(PENDING_X, {})
if "not_a_key_in" not in st.session_state:
    pass
st.plotly_chart(fig, key=f"not_a_family-{letter}")
st.plotly_chart(fig, key=f"{letter}")
selection.set_widget(not_a_key_kw=1)
selection.chooser("not_a_key_chart", "unit")
st.button("Fine", key="job-prepare")
"""
    uses = scan_source(source)
    flagged = {u.name for u in uses if not u.ok}
    assert flagged == {
        "_not_a_key_const",
        "not_a_key_widget",
        "not_a_key_subscript",
        "not_a_key_get",
        "not_a_key_pop",
        "not_a_key_setdefault",
        "not_a_key_in",
        "not_a_family-",
        NO_PREFIX,
        "not_a_key_kw",
        "not_a_key_chart",
    }
    assert {u.name for u in uses if u.ok} == {"job-prepare", "unit"}


def test_every_declared_key_is_used():
    found = {u.name for u in scan_app()}
    unused = [k.name for k in TABLE if not any(f == k.name or (k.prefix and f.startswith(k.name)) for f in found)]
    assert not unused, f"declared in app/keys.py but used nowhere: {unused}"


def test_the_url_carries_only_declared_keys_each_under_its_own_parameter():
    assert all(key in KEYS for key in URL_PARAMS)
    assert len(set(URL_PARAMS.values())) == len(URL_PARAMS)
    for p in app_files():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Call) and _called(node) == "to_url":
                assert all(kw.arg in URL_PARAMS for kw in node.keywords), f"{p}:{node.lineno}"


# ------------------------------------------------------------- one rule for "same λ"
RULE_HOME = ROOT / "core" / "config.py"
# (file, function): each compares λ values, and must do it with core.config's rule
USERS_OF_THE_RULE = [
    ("app/selection.py", "lambda_from_url"),
    ("app/selection.py", "sidebar"),
    ("app/cache.py", "progress_of"),
    ("app/cache.py", "eta_of"),
    ("app/presentation/charts.py", "_same"),
    ("app/presentation/text.py", "frontier_caption"),
    ("core/results.py", "find"),
]
RULE = {"same_lambda", "snap_lambda"}


def _isclose_calls(path: Path) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and _called(node) == "isclose"
    ]


def test_only_core_config_compares_floats_with_isclose():
    files = sorted((ROOT / "core").rglob("*.py")) + app_files()
    elsewhere = [f"{p.relative_to(ROOT)}:{line}" for p in files if p != RULE_HOME for line in _isclose_calls(p)]
    assert not elsewhere, "compare λ values with core.config.same_lambda, not isclose: " + ", ".join(elsewhere)
    assert _isclose_calls(RULE_HOME), "the scan looks for calls the way core/config.py makes them"


@pytest.mark.parametrize(("file", "function"), USERS_OF_THE_RULE)
def test_lambda_comparisons_use_the_one_rule(file, function):
    tree = ast.parse((ROOT / file).read_text())
    imported = {
        a.asname or a.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "core.config"
        for a in node.names
    }
    assert imported & RULE, f"{file} imports the rule from core.config"
    body = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function)
    calls = {_called(n) for n in ast.walk(body) if isinstance(n, ast.Call)}
    assert calls & RULE & imported, f"{file}:{function} compares λ values with {sorted(RULE)}"


@pytest.mark.parametrize("rel", [LAMBDA_RTOL / 10, LAMBDA_RTOL * 10])
def test_the_modules_agree_on_which_lambdas_are_the_same(rel):
    """Near the tolerance the rules would part: every module answers as core.config.same_lambda does."""
    from app.presentation import charts, text
    from core.results import CellSummary, find

    a = 1e-3
    b = a * (1 + rel)
    same = same_lambda(a, b)
    assert same == (rel < LAMBDA_RTOL)
    assert charts._same(a, b) == same
    cells = {(a, 0.0): CellSummary(a, 0.0, "fast", "entry", {})}
    assert (find(cells, b, 0.0) is not None) == same
    rows = [{"lambda_k": a, "lambda_a": 0.0, "l0_mean_test": 10.0, "mse_test": 0.01}]
    assert ("not analysed yet" not in text.frontier_caption(rows, [0], (b, 0.0))) == same
