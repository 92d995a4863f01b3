"""Issue 7 analysis 'variance': one command, writes analyses/results/variance-named CSV, PNG and JSON.

    python analyses/variance.py [--full] [--epochs N] [--seed S] [--seeds N] [--workers W] [--out DIR]

Runs `bioopzo analyze variance`, but writes into the shared results
folder, replacing this analysis's files there; see bioopzo/analysis/ and analyses/README.md.
"""

import os
import sys

# one BLAS thread: the reference model's small per-step products gain nothing from more
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from bioopzo.analysis.command import script_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(script_main("variance", sys.argv[1:]))
