"""Op-cost analyzer (bioopzo.cost): issue 5's four checks, profiles, reports and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from bioopzo.config import ConfigError, ExperimentConfig
from bioopzo.cost.counts import Activity, count_events, counts_from_rates
from bioopzo.cost.mapping import map_to_cores
from bioopzo.cost.model import rule_energy, update_counts
from bioopzo.cost.profiles import ENERGY_KEYS, TIME_KEYS, load_profile, profile_names

ROOT = Path(__file__).resolve().parents[2]


def sig(x: float, n: int = 3) -> float:
    """x rounded to n significant figures."""
    return float(f"{x:.{n}g}")


def same_to_table(value: float, table: float, n: int = 3) -> bool:
    """``value`` matches a table entry given to n (or, where the table gives fewer, to its
    own number of) significant figures."""
    digits = len(f"{table:g}".replace(".", "").replace("-", "").lstrip("0").rstrip("0")) or 1
    if float(f"{table:g}") == round(table) and abs(table) >= 10:   # 57, 24: trailing zeros are not figures
        digits = len(str(int(round(abs(table)))).rstrip("0")) or 1
    k = min(n, max(digits, 1))
    return sig(value, k) == sig(table, k)


# ------------------------------------------------------------------- check 1
def test_worked_example_reproduces_table():
    """cost-model.md e.5: 784-400-400-10, T = 25, rates 0.10 / 0.05 / 0.10, loihi1_davies2018."""
    loihi, abstract = load_profile("loihi1_davies2018"), load_profile("abstract_45nm")
    sizes = (784, 400, 400, 10)
    c = counts_from_rates(sizes, [0.10, 0.05, 0.05, 0.10], 25, loihi, map_to_cores(sizes, loihi))
    uJ, mJ = 1e-6, 1e-3
    # forward synaptic ops: 39,560 per step, 989,000 per sample, 23.3 uJ (abstract 0.89 uJ as ACs)
    sop = c.per_sample("sop_effective")
    assert round(sop / 25) == 39_560 and round(sop) == 989_000
    assert same_to_table(sop * loihi.e("synaptic_op") / uJ, 23.3)
    assert same_to_table(sop * abstract.e("synaptic_op") / uJ, 0.89)
    # neuron updates: 810 x 25 = 20,250; 1.05 uJ (all inactive) - 1.64 uJ (all active)
    nu = c.per_sample("nu_active") + c.per_sample("nu_inactive")
    assert round(nu) == 20_250
    assert same_to_table(nu * loihi.e("neuron_update_inactive") / uJ, 1.05)
    assert same_to_table(nu * loihi.e("neuron_update_active") / uJ, 1.64)
    # the rates make every neuron receive input at every step (1 - 0.9^784 ~ 1)
    assert same_to_table(c.per_sample("nu_active"), 20_250)
    # OPZO / DFA feedback: 200,000, 4.7 uJ at e_sop (abstract 0.92 uJ as MACs)
    for rule in ("opzo", "dfa"):
        fb = c.per_sample("fb_ops", rule)
        assert round(fb) == 200_000
        assert same_to_table(fb * loihi.e("feedback_op") / uJ, 4.7)
        assert same_to_table(fb * abstract.e("feedback_op") / uJ, 0.92)
        assert same_to_table(rule_energy(c, rule, loihi)["feedback"] / uJ, 4.7)
    # spatial BP backward: 4,100,000, 96.8 uJ (abstract 18.9 uJ); ratio 20.5
    fb_bp = c.per_sample("fb_ops", "bp")
    assert round(fb_bp) == 4_100_000
    assert same_to_table(fb_bp * loihi.e("feedback_op") / uJ, 96.8)
    assert same_to_table(fb_bp * abstract.e("feedback_op") / uJ, 18.9)
    assert same_to_table(fb_bp / c.per_sample("fb_ops", "opzo"), 20.5)
    # weight updates
    upd = update_counts(c, "opzo", "dense", "step")
    assert round(upd["upd_w"]) == 11_940_000
    assert same_to_table(rule_energy(c, "opzo", loihi, "dense", "step")["weight_updates"] / mJ, 1.43)
    once = update_counts(c, "opzo", "dense", "sample")["upd_w"]
    assert round(once) == 477_600
    assert same_to_table(rule_energy(c, "dfa", loihi, "dense", "sample")["weight_updates"] / uJ, 57)
    pre = update_counts(c, "opzo", "pre_gated", "step")["upd_w"]
    assert round(pre) == 989_000
    assert same_to_table(rule_energy(c, "dfa", loihi, "pre_gated", "step")["weight_updates"] / uJ, 119)
    # OPZO M updates every step: 200,000, 24 uJ
    assert round(upd["upd_m"]) == 200_000
    assert same_to_table(rule_energy(c, "opzo", loihi)["feedback_matrix_updates"] / uJ, 24)
    # BP weight transport (mirrored W2, W3), every step: 4.1 M writes, ~0.49 mJ
    wt = update_counts(c, "bp", "dense", "step")["wt"]
    assert round(wt) == 4_100_000
    assert same_to_table(wt * loihi.e("synaptic_update") / mJ, 0.49)
    e_bp, e_opzo = rule_energy(c, "bp", loihi), rule_energy(c, "opzo", loihi)
    assert same_to_table((e_bp["weight_updates"] - e_opzo["weight_updates"]) / mJ, 0.49)


def test_same_to_table_is_strict():
    assert same_to_table(23.34, 23.3) and not same_to_table(23.46, 23.3)
    assert same_to_table(57.3, 57) and not same_to_table(58.2, 57)
    assert not same_to_table(0.95, 0.92)


# ------------------------------------------------------------------- check 2
def _hand_activity() -> Activity:
    """3 inputs, 2 hidden, 2 readout units; 2 samples of T = 3 steps, everything by hand."""
    W1 = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]])     # input 1 has no targets
    Wo = np.array([[1.0, 1.0], [0.0, 1.0]])
    x0 = np.array([[1, 0, 0], [1, 1, 1], [0, 0, 0],
                   [0, 0, 1], [0, 1, 0], [1, 0, 1]], float)
    x1 = np.array([[0, 1], [1, 1], [0, 0],
                   [1, 0], [0, 0], [0, 1]], float)
    a0 = np.array([[1, 0, 0], [1.5, 1, 1], [.75, .5, .5],
                   [0, 0, 1], [0, 1, .5], [1, .5, 1.25]])
    a1 = np.array([[0, 1], [1, 1.5], [.5, .75],
                   [1, 0], [.5, 0], [.25, 1]])
    delta = np.array([[.1, 0], [0, 0], [.2, -.3],
                      [0, 0], [.5, 0], [0, .1]])
    e = np.array([[.5, -.5], [0, 0], [.1, -.1],
                  [.3, 0], [.2, -.2], [0, 0]])
    return Activity(sizes=(3, 2, 2), weights=[W1, Wo], steps_per_sample=3, x=[x0, x1],
                    spikes=[x0, x1], traces=[a0, a1], psi=[np.ones((6, 2))], error=e,
                    delta=[delta], rule="opzo", source="hand-specified")


def test_counts_equal_hand_counts():
    p = load_profile()
    act = _hand_activity()
    c = count_events(act, map_to_cores(act.sizes, p), p, quantise=False)
    n = 2   # samples; per_sample = total / 2
    total = lambda name, rule=None, layer=None: c.total(name, rule, layer)  # noqa: E731
    assert total("spikes", layer="input") == 8 and total("spikes", layer="hidden1") == 5
    assert total("sop_effective", layer="hidden1") == 9
    assert total("sop_effective", layer="readout") == 8
    assert total("sop_dense") == 60
    assert total("nu_active", layer="hidden1") == 7 and total("nu_inactive", layer="hidden1") == 5
    assert total("nu_active", layer="readout") == 7 and total("nu_inactive", layer="readout") == 5
    assert total("msg") == 11 and total("msg_in_tile") == 11       # 3 cores, one tile
    assert total("hops_ew") == 0 and total("hops_ns") == 0
    # per step within the sample (summed over the two samples)
    assert c.per_step_in_sample("sop_effective")["hidden1"].tolist() == [3, 3, 3]
    assert c.per_step_in_sample("sop_effective")["readout"].tolist() == [3, 3, 2]
    # learning counts
    assert total("fb_ops", "opzo") == 14 and total("fb_ops", "dfa") == 14
    assert total("fb_ops", "bp") == 24 and total("fb_ops_effective", "bp") == 14
    assert total("fb_ops", "zo") == 12
    assert total("fb_msg", "opzo") == 7                             # nz(e) x 1 hidden core
    assert total("upd_m", "opzo") == 24 and not c.has("upd_m", "dfa")
    assert total("rng", "opzo") == 12 and total("rng", "dfa") == 0 and total("rng", "zo") == 12
    assert total("err", "bp") == 12 and total("sg", "dfa") == 12
    assert total("tr_pre", "opzo") == 30
    assert total("tr_post", "opzo") == 48 and total("tr_post", "dfa") == 36
    for rule in ("opzo", "bp", "dfa", "zo"):
        assert total("upd_w.dense.step", rule) == 60
        assert total("upd_w.dense.sample", rule) == 20
        assert total("upd_w.pre_gated.step", rule) == 26
        assert total("upd_w.pre_gated.sample", rule) == 20
    # factor gated uses the recorded delta of the simulated rule (opzo) and e for the readout
    assert total("upd_w.factor_gated.step", "opzo", "hidden1") == 12
    assert total("upd_w.factor_gated.step", "opzo", "readout") == 9
    assert total("upd_w.factor_gated.sample", "opzo", "hidden1") == 11
    assert total("upd_w.factor_gated.sample", "opzo", "readout") == 6
    assert total("wt.dense.step", "bp") == 24 and total("wt.factor_gated.step", "bp") == 9
    assert c.per_sample("sop_effective") == 17 / n


def test_quantisation_gates_small_traces():
    p = load_profile()          # 7 trace bits
    act = _hand_activity()
    act.traces[0][2] = [2.0 / 2 ** 8, 0.5, 0.5]    # below trace_max / 2^7 = 1/64: counts as zero
    c = count_events(act, map_to_cores(act.sizes, p), p)
    exact = count_events(_hand_activity(), map_to_cores(act.sizes, p), p, quantise=False)
    assert (c.total("upd_w.factor_gated.step", "opzo", "hidden1")
            == exact.total("upd_w.factor_gated.step", "opzo", "hidden1") - 2)


def test_simulated_counts_equal_hand_counts():
    """A tiny Brian2 network whose spikes are fixed by its inputs and weights, counted by hand."""
    from bioopzo.cost.record import record_activity
    from bioopzo.state import initial_state

    config = ExperimentConfig.from_dict({
        "name": "tiny", "network": {"hidden": [2]}, "rule": {"name": "dfa"},
        "noise": {"scale": 0.0}, "data": {"steps_per_sample": 4, "max_rate": "1 kHz"},
        "device": {"name": "runtime"}})
    state = initial_state(config, 3, 2, 1)
    state["W1"] = np.array([[1.5, 0.0, 0.6], [0.0, 0.0, 0.6]])
    state["Wout"] = np.array([[1.0, 1.0], [0.0, 1.0]])
    # intensity 1 spikes at every step (p = 1 kHz x 1 ms), 0 never
    act = record_activity(config, state, np.array([[1.0, 0, 1], [0, 1, 0]]), np.array([0, 1]))
    # hidden 0: input 2.1 every step -> spikes every step; hidden 1: 0.6 -> u = .6, .9, 1.05, .625
    assert act.spikes[1][:4].tolist() == [[1, 0], [1, 0], [1, 1], [1, 0]]
    assert not act.spikes[1][4:].any()
    assert act.spikes[0].sum() == 12
    p = load_profile()
    c = count_events(act, map_to_cores(act.sizes, p), p)
    assert c.total("sop_effective", layer="hidden1") == 12
    assert c.total("sop_effective", layer="readout") == 6
    assert c.total("nu_active", layer="hidden1") == 8 and c.total("nu_inactive", layer="hidden1") == 8
    assert c.total("nu_active", layer="readout") == 5 and c.total("nu_inactive", layer="readout") == 11
    assert c.total("msg") == 13            # input 1 is active in sample 2 but has no targets
    assert c.total("spikes") == 17
    assert c.total("upd_w.pre_gated.step", "dfa") == 34
    assert c.total("upd_w.dense.step", "dfa") == 80
    assert c.total("fb_ops", "dfa") == 2 * 8 * 2          # N_1 x nz(e) (softmax error: dense)


def test_training_epoch_recording_counts_what_it_recorded():
    """learning=True records a training epoch (noise on, OPZO learning); the counts are those
    of the recorded arrays."""
    from bioopzo.cost.record import record_activity
    from bioopzo.state import initial_state

    config = ExperimentConfig.from_dict({
        "name": "tiny", "network": {"hidden": [5, 4], "weight_init_gain": 3.0},
        "rule": {"name": "opzo", "feedback_init": "random"}, "noise": {"scale": 0.5},
        "data": {"steps_per_sample": 5}, "device": {"name": "runtime"}})
    state = initial_state(config, 6, 3, 2)
    x = np.random.default_rng(0).random((3, 6))
    act = record_activity(config, state, x, np.array([0, 1, 2]), learning=True, seed=4)
    assert act.training and act.n_samples == 3 and act.noise is not None
    assert all(np.any(z) for z in act.noise) and act.delta is not None
    p = load_profile()
    c = count_events(act, map_to_cores(act.sizes, p), p)
    for l in (1, 2, 3):
        active = (act.x[l - 1] != 0).astype(float)
        expected = float(np.sum(active @ (act.weights[l - 1] != 0).sum(axis=0)))
        assert c.total("sop_effective", layer=c_name(l)) == expected
    assert c.total("rng", "opzo") == (5 + 4) * 15 and c.total("upd_m", "opzo") == (5 + 4) * 3 * 15
    assert any("DFA run of this config" in n for n in c.notes)


def c_name(l: int) -> str:
    return {1: "hidden1", 2: "hidden2", 3: "readout"}[l]


# ------------------------------------------------------------------- check 3
@pytest.mark.parametrize("N", [1, 2, 3])
def test_bp_over_opzo_feedback_scaling(N):
    p = load_profile()
    m = 10
    for n in (100, 200, 500, 1000, 2000):
        sizes = (64, *[n] * N, m)
        c = counts_from_rates(sizes, [0.1, *[0.05] * N, 0.1], 8, p, map_to_cores(sizes, p),
                              rules=("opzo", "bp"))
        ratio = c.per_sample("fb_ops", "bp") / c.per_sample("fb_ops", "opzo")
        expected = ((N - 1) * n ** 2 + m * n) / (N * m * n)
        assert abs(ratio / expected - 1) < 0.01, (N, n, ratio, expected)


def test_feedback_scaling_holds_on_recorded_activity():
    """The same ratio from exact counts of random activity (dense error vector)."""
    p = load_profile()
    rng = np.random.default_rng(3)
    N, n, m, T = 2, 40, 5, 4
    sizes = (6, n, n, m)
    S = 2 * T
    x = [(rng.random((S, k)) < 0.2).astype(float) for k in sizes[:-1]]
    act = Activity(sizes, [rng.normal(size=(sizes[l], sizes[l - 1])) for l in range(1, 4)], T,
                   x, x, [xi * 0.5 for xi in x], [rng.random((S, n)) for _ in range(N)],
                   rng.normal(size=(S, m)), rule="bp")
    c = count_events(act, map_to_cores(sizes, p), p, rules=("opzo", "bp"))
    ratio = c.per_sample("fb_ops", "bp") / c.per_sample("fb_ops", "opzo")
    assert math.isclose(ratio, ((N - 1) * n ** 2 + m * n) / (N * m * n), rel_tol=1e-12)


# ------------------------------------------------------------------- check 4
def test_cost_command_ranks_rules_on_trained_digits(tmp_path, capsys):
    """`bioopzo cost --config`: a short training of digits_fc2 (two hidden layers; made small
    for the test: 64-64-64-10, T = 8, 40 samples, one epoch), then the report."""
    from bioopzo.cli import main
    from bioopzo.config import load_config, resolve_config_path

    small = load_config(resolve_config_path("digits_fc2"),
                        {"network": {"hidden": [64, 64]}, "data": {"steps_per_sample": 8}})
    toml = tmp_path / "digits_small.toml"
    toml.write_text(small.to_toml())
    out = tmp_path / "report"
    rc = main(["cost", "--config", str(toml), "--epochs", "1", "--limit", "40", "--device",
               "runtime", "--samples", "4", "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "caveats:" in text and "1. Davies 2018" in text and "9. KerasSpiking" in text
    for name in ("cost_report.md", "cost_table.csv", "cost_counts.json", "cost_energy.png"):
        assert (out / name).stat().st_size > 0
    data = json.loads((out / "cost_counts.json").read_text())
    ranking = data["ranking"]
    assert sorted(ranking) == ["bp", "dfa", "opzo", "sign_symmetric", "zo"]
    totals = [data["energy_J"][r]["dense"]["step"]["total"] for r in ranking]
    assert totals == sorted(totals)
    # the schedule changes the energy: every step costs more than once per sample, for all rules
    for r, eff in data["schedule_effect"].items():
        assert eff["ratio"] > 1.5, (r, eff)
    # two hidden layers of 64, m = 10: bp's dense feedback is ((N-1) n^2 + m n) / (N m n) x opzo's
    fb = {r: data["counts"]["rules"][r]["fb_ops"]["per_sample"] for r in ("bp", "opzo")}
    assert fb["opzo"] > 0
    assert math.isclose(fb["bp"] / fb["opzo"], (64 ** 2 + 640) / (2 * 640), rel_tol=0.01)
    assert data["counts"]["forward"]["sop_effective"]["per_layer_per_step"]["hidden1"]
    md = (out / "cost_report.md").read_text()
    assert "## Ranking (cheapest first)" in md and "## Effect of the update schedule" in md
    assert "23.6 pJ" in md and "Davies 2018 Table 2" in md
    rows = (out / "cost_table.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 5 * 3 * 2 + 1
    assert (tmp_path / "report_run" / "weights.npz").is_file()
    # a second run into the same folder needs --overwrite
    assert main(["cost", str(tmp_path / "report_run"), "--samples", "2", "--out", str(out)]) == 2
    assert "exists and is not empty; pass --overwrite" in capsys.readouterr().err


# ------------------------------------------------------------------- profiles and input
def test_packaged_profiles_cite_every_figure():
    for name in profile_names():
        if name == "loihi2":
            continue
        prof = load_profile(name)
        assert set(ENERGY_KEYS) <= set(prof.energy) and set(TIME_KEYS) <= set(prof.time)
        for row in prof.table():
            assert row["source"].strip() and row["mark"] in "PSU"
    assert load_profile("loihi1_sanafe_calibrated").name == "loihi1_sanafe"
    assert load_profile().e("synaptic_op") == pytest.approx(23.6e-12)
    assert load_profile("loihi1_sanafe").e("hop_north_south") == pytest.approx(4.2e-12)
    assert load_profile().e("hop_north_south") == pytest.approx(4.0e-12)


def test_loihi2_needs_user_figures(tmp_path):
    with pytest.raises(ConfigError, match="--profile-file"):
        load_profile("loihi2")
    template = (ROOT / "bioopzo" / "cost" / "profiles" / "loihi2.toml").read_text()
    with pytest.raises(ConfigError, match="no value given"):
        load_profile(path=_write(tmp_path / "empty.toml", template))
    mine = (ROOT / "bioopzo" / "cost" / "profiles" / "loihi1_davies2018.toml").read_text()
    mine = mine.replace('name = "loihi1_davies2018"', 'name = "my_loihi2"').replace(
        'family = "loihi1"', 'family = "loihi2"').replace('"23.6 pJ"', '"10 pJ"', 1)
    prof = load_profile(path=_write(tmp_path / "mine.toml", mine))
    assert prof.family == "loihi2" and prof.e("synaptic_op") == pytest.approx(10e-12)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_bad_profile_files_name_the_problem(tmp_path):
    good = (ROOT / "bioopzo" / "cost" / "profiles" / "loihi1_davies2018.toml").read_text()
    with pytest.raises(ConfigError, match="must be an energy .*time unit"):
        load_profile(path=_write(tmp_path / "a.toml", good.replace('"23.6 pJ"', '"23.6 ns"', 1)))
    with pytest.raises(ConfigError, match="has no source"):
        load_profile(path=_write(tmp_path / "b.toml", good.replace(
            'source = "Davies 2018 Table 2: neuron update, active"', 'source = ""', 1)))
    with pytest.raises(ConfigError, match="lacks synaptic_update"):
        lines = [ln for ln in good.splitlines() if not ln.startswith("synaptic_update")]
        load_profile(path=_write(tmp_path / "c.toml", "\n".join(lines)))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_profile(path=_write(tmp_path / "d.toml", "name = "))
    with pytest.raises(ConfigError, match="does not exist"):
        load_profile(path=tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="unknown profile 'loihi3'"):
        load_profile("loihi3")


def test_cost_command_rejects_bad_input(tmp_path, capsys):
    from bioopzo.cli import main

    assert main(["cost"]) == 2
    assert main(["cost", str(tmp_path)]) == 2                          # not a run folder
    assert "not a finished bioopzo run" in capsys.readouterr().err
    assert main(["cost", str(tmp_path), "--rules", "opzo,sgd"]) == 2
    assert "unknown rule sgd" in capsys.readouterr().err
    assert main(["cost", str(tmp_path), "--profile", "loihi2"]) == 2
    assert "--profile-file" in capsys.readouterr().err


def test_metric_docs_are_generated_from_the_classes():
    from bioopzo.cost.metrics import METRICS, docs_index, metric_page

    folder = ROOT / "docs" / "metrics"
    assert (folder / "README.md").read_text() == docs_index()
    for cls in METRICS:
        page = (folder / f"{cls.name}.md").read_text()
        assert page == metric_page(cls), f"regenerate docs: python -m bioopzo.cost.write_docs {folder}"
        assert "## Definition" in page and "## Implementation notes" in page


def test_training_cost_notebook(tmp_path):
    from test_notebooks import run_notebook

    nb = run_notebook("training_cost.ipynb",
                      'CONFIG = "digits_fc2"\nEPOCHS = 1\nLIMIT = 30\nHIDDEN = [32, 32]\nSTEPS = 8\n'
                      'DEVICE = "runtime"\nSAMPLES = 3\nOUT = "runs/training_cost"\n', tmp_path)
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))
    assert "ranking, cheapest first:" in text and "every step" in text
    assert "loihi1_sanafe" in text and "abstract_45nm" in text and "dw = " in text
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 2     # stacked energy bars and the feedback-ops scaling plot
