"""Regenerate docs/metrics/ from the metric classes: ``python -m bioopzo.cost.write_docs [FOLDER]``."""

import sys

from bioopzo.cost.metrics import write_docs

if __name__ == "__main__":  # pragma: no cover
    for path in write_docs(sys.argv[1] if len(sys.argv) > 1 else "docs/metrics"):
        print(path)
