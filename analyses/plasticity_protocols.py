"""Plasticity protocols against biological data: the README's plasticity table (issue 6, check 3).

Fits the plasticity models (pair STDP, the Pfister & Gerstner 2006 triplet rule, the Clopath 2010
voltage rule with a reduced membrane and the OPZO three-factor synapse) to Bi & Poo 1998, Sjöström
et al. 2001 and Wang et al. 2005, runs every fitted model through the Brian2 protocol simulation,
scores it, builds the leave-one-dataset-out table and runs the third-factor timing checks (OPZO, its
eligibility-trace variant and the controls) and the voltage-clamp sign check (Ngezahayo et al. 2000),
and scans the eligibility time constant tau_e against the Yagishita window (``tau_e_scan.csv``):

    python analyses/plasticity_protocols.py [--out analyses/results/plasticity] [--engine brian2]

Same as ``bioopzo plasticity --all --out analyses/results/plasticity --overwrite`` plus the tau_e
scan; prints the headline numbers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def tau_e_scan(out: Path) -> None:
    """Which eligibility time constants reproduce the Yagishita 2014 window (NumPy form)."""
    from brian2 import ms

    from bioopzo.runs import write_atomic
    from bioopzo.plasticity.command import csv_text
    from bioopzo.plasticity.evaluate import third_factor_table
    from bioopzo.plasticity.models import make_plasticity_model

    rows = []
    for tau_e in (100.0, 200.0, 300.0, 500.0, 1000.0, 2000.0, 3000.0, 5000.0):
        model = make_plasticity_model("opzo_eligibility").with_params(tau_e=tau_e * ms)
        table = third_factor_table(model, "numpy")
        yag = [r for r in table if r["study"] == "yagishita2014"]
        rows.append({"tau_e_ms": tau_e, "yagishita_passed": sum(r["passes"] for r in yag),
                     "yagishita_checks": len(yag), "all_passed": sum(r["passes"] for r in table),
                     "all_checks": len(table),
                     "failing": "; ".join(r["check"] for r in table if not r["passes"])})
        print(f"tau_e {tau_e:6.0f} ms: Yagishita {rows[-1]['yagishita_passed']}/{len(yag)}, "
              f"all third-factor checks {rows[-1]['all_passed']}/{len(table)}")
    write_atomic(out / "tau_e_scan.csv", csv_text(rows))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "plasticity"))
    parser.add_argument("--engine", choices=("brian2", "numpy"), default="brian2")
    args = parser.parse_args(argv)
    from bioopzo.plasticity.command import run_plasticity

    result = run_plasticity([], None, Path(args.out), engine=args.engine, overwrite=True, all_tables=True,
                            argv_dict={"argv": sys.argv[1:], "engine": args.engine})
    for row in result["scores"]:
        within = f"{row['within']}/{row['n']}" if row["within"] >= 0 else "n/a (no error bars)"
        print(f"{row['rule']:38s} {row['data']:14s} RMSE {row['rmse']:.3f}  NMSE {row['nmse']:.3g}  "
              f"R^2 {row['r2']:.2f}  within {within}")
    tau_e_scan(Path(args.out))
    by_rule: dict = {}
    for row in result["third_factor"]:
        by_rule.setdefault(row["rule"], []).append(row["passes"])
    for rule, passes in by_rule.items():
        print(f"third-factor checks {rule:50s} {sum(passes)}/{len(passes)} pass")
    clamp: dict = {}
    for row in result["voltage_clamp"]:
        clamp.setdefault(row["rule"], []).append(row["passes"])
    for rule, passes in clamp.items():
        print(f"voltage-clamp checks {rule:49s} {sum(passes)}/{len(passes)} pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
