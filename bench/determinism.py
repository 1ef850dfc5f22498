"""Benchmark: what fixed thread pools and op determinism cost per epoch, and that they give the same bits.

    python bench/determinism.py --data ../shared/data/mnist.npz              # fast engine, 3 rounds
    python bench/determinism.py --data ... --engine keras --epochs 2         # the Keras reference

Every training process now runs TensorFlow with `core.train.TRAINING_THREADS`
threads, and with op determinism on a GPU (see `core.train`). Before, a cell
trained alone got every core (2 threads here) and one inside a sweep of 2
workers got one. Each setting below trains the default cell
(lambda_k = lambda_a = 0) for `--epochs` epochs in a fresh process (thread
pools can only be set before TensorFlow's first op), the settings taking
turns, `--rounds` times; the first epoch (graph tracing) is not timed.

    before-alone   every core, no op determinism (a cell alone, before)
    before-sweep   1 thread, no op determinism (a cell in a 2-worker sweep, before)
    after          what every process runs now
    after+opdet    the same with op determinism forced on (what a GPU gets)

Prints wall and CPU seconds per epoch (median over rounds; CPU seconds count
every thread of the process, so they hold on a machine busy with other work,
where wall times do not), their ratios to before-alone, and whether every
round's weights of each setting are bit-identical to the first `after` run's;
last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# name -> (threads, op determinism): None = what core.train does now
SETTINGS = {
    "before-alone": (os.cpu_count() or 1, False),
    "before-sweep": (1, False),
    "after": (None, None),
    "after+opdet": (None, True),
}


def child(data: str, engine: str, epochs: int, threads: int | None, determinism: bool | None, out: str) -> None:
    """One training run in this (fresh) process; prints the epochs' seconds as JSON, saves the weights."""
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from core.config import ModelConfig, TrainConfig
    from core.data import load_mnist
    from core.train import import_tensorflow, train

    import_tensorflow(threads)
    from tensorflow.python.framework import config as tf_config

    if determinism is True:
        tf_config.enable_op_determinism()
    elif determinism is False:
        tf_config.disable_op_determinism()
    # patience beyond max_epochs: every setting runs the same number of epochs
    cfg = TrainConfig(max_epochs=epochs, engine=engine, patience=epochs + 1)
    cpu = [time.process_time()]  # every thread of this process: robust to other work on the machine
    model_cfg, mnist = ModelConfig(lambda_k=0.0, lambda_a=0.0), load_mnist(data)
    result = train(model_cfg, cfg, mnist, on_epoch=lambda epoch, logs: cpu.append(time.process_time()))
    np.savez(out, **result.weights)
    print(json.dumps({"epoch_seconds": result.epoch_seconds, "epoch_cpu_seconds": list(np.diff(cpu))}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("MNIST_PATH"))
    ap.add_argument("--engine", choices=("fast", "keras"), default="fast")
    ap.add_argument("--epochs", type=int, default=3, help="epochs per run; the first is not timed")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # threads determinism out
    args = ap.parse_args()
    if args.child:
        threads, det, out = args.child
        child(args.data, args.engine, args.epochs, int(threads) or None, {"1": True, "0": False}.get(det), out)
        return
    if not args.data:
        sys.exit("error: pass --data path/to/mnist.npz (or set MNIST_PATH)")
    import numpy as np

    wall: dict[str, list[float]] = {name: [] for name in SETTINGS}
    cpu: dict[str, list[float]] = {name: [] for name in SETTINGS}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, (threads, det) in SETTINGS.items():
                out = str(Path(tmp) / f"{name}-{r}.npz")
                cmd = [sys.executable, __file__, "--data", args.data, "--engine", args.engine]
                det_arg = {True: "1", False: "0"}.get(det, "-")
                cmd += ["--epochs", str(args.epochs), "--child", str(threads or 0), det_arg, out]
                done = subprocess.run(cmd, check=True, capture_output=True, text=True)
                times = json.loads(done.stdout.strip().splitlines()[-1])
                wall[name].append(statistics.median(times["epoch_seconds"][1:]))
                cpu[name].append(statistics.median(times["epoch_cpu_seconds"][1:]))
                line = f"round {r + 1} {name}: {wall[name][-1]:.2f} s/epoch, {cpu[name][-1]:.2f} CPU s/epoch"
                print(line, flush=True)
        after = np.load(Path(tmp) / "after-0.npz")
        same = {}  # every round's weights bit-identical to the first "after" run's
        for name in SETTINGS:
            runs = [np.load(Path(tmp) / f"{name}-{r}.npz") for r in range(args.rounds)]
            same[name] = all(np.array_equal(w[k], after[k]) for w in runs for k in after.files)
    base_wall, base_cpu = statistics.median(wall["before-alone"]), statistics.median(cpu["before-alone"])
    print(f"{args.engine} engine, {os.cpu_count()} cores, per epoch (median of {args.rounds} rounds):")
    print(f"  {'':<13} {'wall s':>7} {'ratio':>6} {'CPU s':>7} {'ratio':>6}  same bits as after")
    summary = {}
    for name in SETTINGS:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        summary[name] = {
            "s_per_epoch": round(w, 3),
            "cpu_s_per_epoch": round(c, 3),
            "ratio": round(w / base_wall, 3),
            "cpu_ratio": round(c / base_cpu, 3),
            "same_bits_as_after": same[name],
        }
        print(f"  {name:<13} {w:7.2f} {w / base_wall:6.2f} {c:7.2f} {c / base_cpu:6.2f}  {same[name]}")
    print(json.dumps({"engine": args.engine, "cores": os.cpu_count(), "epochs": args.epochs} | summary))


if __name__ == "__main__":
    main()
