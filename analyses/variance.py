"""Issue 7 analysis 'variance': one command, writes analyses/results/variance-named CSV, PNG and JSON.

    python analyses/variance.py [--full] [--epochs N] [--seeds S ...] [--workers W] [--out DIR]

Same as `bioopzo analyze variance`; see bioopzo/analysis/ and analyses/README.md.
"""

import sys

from bioopzo.cli import main

if __name__ == "__main__":
    sys.exit(main(["analyze", "variance", *sys.argv[1:]]))
