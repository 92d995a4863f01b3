"""Check 3 at test size: hidden layers learn, and the rules rank as expected.

The two-layer 64-256-256-10 digits network (models/digits_fc2.toml) is trained
for 3 epochs in cpp_standalone with each rule; BP, OPZO and DFA must beat the
readout control (hidden weights frozen) by at least 10 points, and single-point
ZO must stay far below OPZO. The README table (analyses/rules_on_digits.py)
reports the full-length runs over 3 seeds.
"""

from __future__ import annotations

import pytest

from bioopzo.config import load_config, resolve_config_path
from bioopzo.train import train


@pytest.mark.standalone
@pytest.mark.slow
def test_rules_train_hidden_layers_on_digits(tmp_path):
    acc = {}
    for rule in ("readout", "bp", "opzo", "dfa", "zo"):
        config = load_config(resolve_config_path("digits_fc2"),
                             {"rule": {"name": rule}, "training": {"epochs": 3, "seed": 1}})
        result = train(config, tmp_path / rule, progress=False, echo=lambda *a: None)
        acc[rule] = result.test_accuracy
    print({k: round(100 * v, 1) for k, v in acc.items()})
    assert acc["bp"] >= 0.90
    assert acc["opzo"] >= 0.85
    for rule in ("bp", "opzo", "dfa"):
        assert acc[rule] >= acc["readout"] + 0.10, rule
    assert acc["zo"] < acc["opzo"] - 0.10
