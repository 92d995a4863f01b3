"""Issue 7 analysis 'noise': one command, writes analyses/results/noise-named CSV, PNG and JSON.

    python analyses/noise.py [--full] [--epochs N] [--seeds S ...] [--workers W] [--out DIR]

Same as `bioopzo analyze noise`; see bioopzo/analysis/ and analyses/README.md.
"""

import sys

from bioopzo.cli import main

if __name__ == "__main__":
    sys.exit(main(["analyze", "noise", *sys.argv[1:]]))
