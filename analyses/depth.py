"""Issue 7 analysis 'depth': one command, writes analyses/results/depth-named CSV, PNG and JSON.

    python analyses/depth.py [--full] [--epochs N] [--seeds S ...] [--workers W] [--out DIR]

Same as `bioopzo analyze depth`; see bioopzo/analysis/ and analyses/README.md.
"""

import sys

from bioopzo.cli import main

if __name__ == "__main__":
    sys.exit(main(["analyze", "depth", *sys.argv[1:]]))
