"""Fair comparisons of the learning rules: the README's results tables.

For each model, every rule's learning rate is tuned on a validation split carved
from the training set (``bioopzo tune``: the rule's own rate x the factors, seed
1, the test set unread), then every rule is trained with seeds 1-5 on the tuned
model and scored on the test set with the paired difference to BP
(``bioopzo compare``). Both are sweeps (cpp_standalone, one process per run), so
rerunning skips finished runs. Writes ``analyses/results/comparisons/<model>/``
(tune/ and compare/ folders, tuning.md, comparison.md) and the combined
``analyses/results/rule_comparisons.md``.

    python analyses/rule_comparisons.py [--models digits_fc ...] [--rules ...] [--workers 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bioopzo.config import resolve_config_path
from bioopzo.runs import write_atomic
from bioopzo.tuning import compare, tune

#: model -> rules compared on it
PLAN = {
    "digits_fc": ("bp", "opzo", "dfa", "zo", "readout"),
    "digits_fc2": ("bp", "opzo", "dfa", "zo", "readout"),
    "mnist1d_fc": ("bp", "opzo", "dfa", "zo", "readout"),
    "mnist1d_fc2": ("bp", "opzo", "dfa", "zo", "readout"),
}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(PLAN), choices=list(PLAN))
    p.add_argument("--factors", nargs="+", type=float, default=[0.25, 0.5, 1.0, 2.0])
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default="analyses/results")
    args = p.parse_args(argv)
    root = Path(args.out) / "comparisons"
    for model in args.models:
        folder = root / model
        print(f"== {model}: tuning", flush=True)
        tuned = tune(resolve_config_path(model), folder / "tune", rules=PLAN[model],
                     factors=args.factors, seeds=(1,), workers=args.workers, echo=print)
        print((folder / "tune" / "tuning.md").read_text(), flush=True)
        print(f"== {model}: comparing on the test set, seeds {args.seeds}", flush=True)
        compare(tuned.tuned_config, folder / "compare", rules=PLAN[model], seeds=args.seeds,
                workers=args.workers, echo=print)
        print((folder / "compare" / "comparison.md").read_text(), flush=True)
    parts = []
    for model in PLAN:
        table = root / model / "compare" / "comparison.md"
        if table.is_file():
            tuning = (root / model / "tune" / "tuning.md").read_text()
            parts.append(f"### {model}\n\n{table.read_text()}\n{tuning}")
    write_atomic(Path(args.out) / "rule_comparisons.md", "\n".join(parts))


if __name__ == "__main__":
    main()
