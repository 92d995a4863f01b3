"""Issue 7 analysis 'variance': one command, writes analyses/results/variance-named CSV, PNG and JSON.

    python analyses/variance.py [--full] [--epochs N] [--seeds S ...] [--workers W] [--out DIR]

Same as `bioopzo analyze variance`; see bioopzo/analysis/ and analyses/README.md.
"""

import os
import sys

# one BLAS thread: the reference model's small per-step products gain nothing from more
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from bioopzo.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["analyze", "variance", *sys.argv[1:]]))
