"""Issue 7 analysis 'alignment': one command, writes analyses/results/alignment-named CSV, PNG and JSON.

    python analyses/alignment.py [--full] [--epochs N] [--seeds S ...] [--workers W] [--out DIR]

Same as `bioopzo analyze alignment`; see bioopzo/analysis/ and analyses/README.md.
"""

import sys

from bioopzo.cli import main

if __name__ == "__main__":
    sys.exit(main(["analyze", "alignment", *sys.argv[1:]]))
