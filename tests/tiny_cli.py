"""`python -m core` on tiny synthetic data, for tests that run the command line in a subprocess.

    python tests/tiny_cli.py train --lambda-k 0 --lambda-a 0 --cache-dir X ...

The same `core.__main__.main`, with MNIST replaced by `conftest.make_data` of
TINY_N_TRAIN training and TINY_N_TEST test images (default 600 and 200): an
epoch takes a fraction of a second, so a test can train, kill and retrain in
seconds. The worker processes get the data from the coordinator, as with MNIST.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import core.data  # noqa: E402
from conftest import make_data  # noqa: E402
from core.__main__ import main  # noqa: E402


def tiny_mnist(path=None):
    return make_data(n_train=int(os.environ.get("TINY_N_TRAIN", 600)), n_test=int(os.environ.get("TINY_N_TEST", 200)))


if __name__ == "__main__":
    core.data.load_mnist = tiny_mnist
    sys.exit(main(sys.argv[1:]))
