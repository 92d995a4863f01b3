"""Issue 7 analysis 'jacobian': one command, writes analyses/results/jacobian-named CSV, PNG and JSON.

    python analyses/jacobian.py [--full] [--epochs N] [--seeds S ...] [--workers W] [--out DIR]

Same as `bioopzo analyze jacobian`; see bioopzo/analysis/ and analyses/README.md.
"""

import sys

from bioopzo.cli import main

if __name__ == "__main__":
    sys.exit(main(["analyze", "jacobian", *sys.argv[1:]]))
