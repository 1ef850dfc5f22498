"""The command line: bad input is one sentence and exit 2 with nothing written; train and status work."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT
from core.__main__ import main


def run_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--lambda-k", "-1e-5"], "zero or positive"),
        (["--lambda-k", "nan"], "finite number"),
        (["--lambda-a", "1e-4", "abc"], "must be a number"),
        (["--backend", "spark"], "invalid choice: 'spark'"),
        (["--jobs", "0"], "at least 1"),
        (["--max-epochs", "two"], "whole number"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --backend dask"),
        (["--data", "/nonexistent/mnist.npz"], "does not exist; pass --data"),
    ],
)
@pytest.mark.parametrize("command", ["train", "analyze", "prepare"])
def test_bad_input_is_one_sentence_exit_2_and_writes_nothing(tmp_path, capsys, args, message, command):
    cache = tmp_path / "cache"
    try:
        code = main([command, "--cache-dir", str(cache), *args])
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1
    assert not cache.exists()


def test_unwritable_cache_dir(tmp_path, capsys, mnist_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["train", "--lambda-k", "0", "--data", str(mnist_path), "--cache-dir", str(blocker / "c")])
    assert code == 2
    assert "cannot be written" in capsys.readouterr().err


def test_damaged_data_file_gives_no_traceback(tmp_path):
    bad = tmp_path / "mnist.npz"
    bad.write_bytes(b"PK\x03\x04 this is not a zip")
    r = run_cli("train", "--data", str(bad), "--cache-dir", str(tmp_path / "c"))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "not a readable .npz" in r.stderr
    assert not (tmp_path / "c").exists()


def test_train_twice_then_status(tmp_path, mnist_path):
    """The issue's walk-through: one real MNIST model for 2 epochs, cached, shown by status."""
    cache = str(tmp_path / "x")
    first = run_cli(
        "train", "--lambda-k", "0", "--max-epochs", "2", "--data", str(mnist_path), "--cache-dir", cache, "--quiet"
    )
    assert first.returncode == 0, first.stderr
    assert "1 trained now, 0 already cached" in first.stdout
    second = run_cli(
        "train", "--lambda-k", "0", "--max-epochs", "2", "--data", str(mnist_path), "--cache-dir", cache, "--quiet"
    )
    assert "0 trained now, 1 already cached" in second.stdout
    status = run_cli("status", "--cache-dir", cache, "--max-epochs", "2", "--lambda-a", "0", "--json")
    cells = json.loads(status.stdout)["cells"]
    assert len(cells) == 10
    ready = [c for c in cells if c["state"] == "trained"]
    assert [(c["lambda_k"], c["lambda_a"]) for c in ready] == [(0.0, 0.0)]
    assert ready[0]["last_epoch"] == 1 and 0 < ready[0]["final_val_loss"] < 0.1
    text = run_cli("status", "--cache-dir", cache, "--max-epochs", "2", "--lambda-a", "0")
    assert "1 of 10 cells trained, 0 analysed, 0 with their maps." in text.stdout
    assert "job: finished." in text.stdout  # the train command ran as this cache's job


def test_status_of_an_empty_cache(tmp_path, capsys):
    assert main(["status", "--cache-dir", str(tmp_path / "none"), "--lambda-k", "0", "1e-5"]) == 0
    out = capsys.readouterr().out
    assert "0 of 10 cells trained, 0 analysed, 0 with their maps." in out  # 2 lambda_k x the default 5 lambda_a
    assert not (tmp_path / "none").exists()


def test_prepare_while_a_job_runs_joins_it_and_trains_nothing(tmp_path, capsys):
    """A terminal's prepare while the dashboard's job runs: its cells go to that job's queue, no second job."""
    from core.store import ModelStore

    store = ModelStore(tmp_path)
    with store.claim_job({"command": "prepare"}):
        code = main(["prepare", "--cache-dir", str(tmp_path), "--lambda-k", "0", "--lambda-a", "0", "--quiet"])
        out = capsys.readouterr().out
        assert code == 0 and "already running" in out and "in its queue" in out
        assert store.take_requests() == [{"cells": [(0.0, 0.0)], "front": False}]
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []  # nothing trained


def test_stop_asks_the_running_job_to_stop(tmp_path, capsys):
    from core.store import ModelStore

    store = ModelStore(tmp_path)
    assert main(["stop", "--cache-dir", str(tmp_path)]) == 0
    assert "No preparation job is running" in capsys.readouterr().out
    with store.claim_job({"command": "prepare"}):
        assert main(["stop", "--cache-dir", str(tmp_path)]) == 0
        assert store.stop_requested()
