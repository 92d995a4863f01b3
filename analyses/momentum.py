"""Issue 7 analysis 'momentum': one command, writes analyses/results/momentum-named CSV, PNG and JSON.

    python analyses/momentum.py [--full] [--epochs N] [--seeds S ...] [--workers W] [--out DIR]

Same as `bioopzo analyze momentum`; see bioopzo/analysis/ and analyses/README.md.
"""

import sys

from bioopzo.cli import main

if __name__ == "__main__":
    sys.exit(main(["analyze", "momentum", *sys.argv[1:]]))
