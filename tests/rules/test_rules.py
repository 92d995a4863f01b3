"""Every form of each learning rule (bioopzo/rules/) on small hand-computed cases:
the NumPy top-down signal of the reference, the third factors and feedback traffic of
the cost analyzer, the Loihi learning-engine terms, and the registry of names."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_config

from bioopzo.config import ConfigError
from bioopzo.rules.base import StepSignals
from bioopzo.rules.names import RULE_NAMES
from bioopzo.rules.registry import COUNTED_RULES, RULES, make_rule, rule_class

E = np.array([[0.5, -1.0]])                  # one sample, m = 2 readout units
O = np.array([[2.0, 1.0]])
Z = [np.array([[1.0, -2.0, 0.5]]), np.array([[0.0, 1.0]])]    # hidden layers of 3 and 2
PSI = [np.full((1, 3), 0.5), np.full((1, 2), 0.25)]


def step(state, training=1.0, loss=None):
    loss = np.array([[0.25, 1.0]]) if loss is None else loss
    return StepSignals(e=E, o=O, loss=loss, z=Z, psi=PSI, state=state, training=training)


def test_registry_names_every_rule_module_once():
    assert set(RULES) == set(RULE_NAMES) >= {"opzo", "bp", "dfa", "zo", "readout"}
    assert all(RULES[name].name == name for name in RULE_NAMES)
    assert "readout" not in COUNTED_RULES and {"opzo", "bp", "dfa", "zo"} <= set(COUNTED_RULES)
    cfg = small_config(rule={"name": "dfa"})
    assert type(make_rule(cfg)) is RULES["dfa"]
    with pytest.raises(ConfigError, match="unknown rule 'hebb'; choose one of .*opzo"):
        rule_class("hebb")


def test_config_refuses_an_unknown_rule_listing_the_known_ones():
    with pytest.raises(ConfigError, match="unknown rule 'hebb'; choose one of") as err:
        small_config(rule={"name": "hebb"})
    assert all(name in str(err.value) for name in RULE_NAMES)


def test_opzo_signal_updates_M_and_its_weight_first():
    cfg = small_config(rule={"name": "opzo", "feedback_momentum": 0.5},
                       noise={"scale": 0.5}, network={"hidden": [3, 2]})
    rule = make_rule(cfg)
    M = np.ones((2, 2))
    state = {"M2": M, "M2_weight": np.full((2, 2), 0.5)}
    g, updates = rule.reference_signal(1, step(state), upper=None)
    # z o^T / alpha = [[0, 0], [4, 2]];  M <- 0.5 M + 0.5 z o^T / alpha;  c <- 0.5 c + 0.5
    M_new = np.array([[0.5, 0.5], [2.5, 1.5]])
    np.testing.assert_allclose(updates["M2"], M_new)
    np.testing.assert_allclose(updates["M2_weight"], 0.75)
    np.testing.assert_allclose(g, E @ (M_new / 0.75).T)
    _, frozen = rule.reference_signal(1, step(state, training=0.0), upper=None)
    np.testing.assert_array_equal(frozen["M2"], M)


def test_dfa_signal_is_B_times_e():
    rule = make_rule(small_config(rule={"name": "dfa"}))
    B = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])
    g, updates = rule.reference_signal(0, step({"B1": B}), upper=None)
    np.testing.assert_allclose(g, [[-1.5, 1.0, 1.0]])
    assert updates == {}


def test_bp_signal_is_the_transposed_weights_times_delta_above():
    rule = make_rule(small_config(rule={"name": "bp"}, network={"hidden": [3, 2]}))
    W2 = np.array([[1.0, -2.0, 0.0], [0.5, 1.0, -1.0]])
    Wout = np.array([[2.0, 0.0], [1.0, -1.0]])
    state = {"W2": W2, "Wout": Wout}
    g2, _ = rule.reference_signal(1, step(state), upper=E)
    np.testing.assert_allclose(g2, [[0.0, 1.0]])                 # e W_o
    delta2 = np.array([[1.0, -2.0]])
    g1, _ = rule.reference_signal(0, step(state), upper=delta2)
    np.testing.assert_allclose(g1, [[0.0, -4.0, 2.0]])           # delta_2 W_2
    assert rule.feedback_order == "top_down" and rule.transports_weights


def test_zo_signal_and_baseline():
    rule = make_rule(small_config(rule={"name": "zo", "baseline_decay": 0.75}, noise={"scale": 0.5}))
    state = {"loss_baseline": np.array([0.25, 0.5])}
    s = step(state)
    g, _ = rule.reference_signal(0, s, upper=None)
    np.testing.assert_allclose(g, 0.5 * Z[0] / 0.5)              # advantage (0 + 0.5) z / alpha
    b = rule.reference_step_updates(s)["loss_baseline"]
    np.testing.assert_allclose(b, [0.25, 0.5 + 0.25 * 0.5])


class _Activity:
    """The attributes of a recorded Activity that the rules' count forms read."""

    def __init__(self):
        self.sizes = (2, 3, 2, 2)
        self.error = np.array([[0.5, 0.0], [1.0, -1.0]])
        self.psi = [np.full((2, 3), 0.5), np.full((2, 2), 2.0)]
        self.weights = [np.ones((3, 2)), np.array([[1.0, -1.0, 0.0], [2.0, 0.0, 1.0]]),
                        np.array([[1.0, 0.0], [0.0, -1.0]])]
        self.feedback = {"B1": np.ones((3, 2)), "B2": np.eye(2)}
        self.noise = None


def test_bp_third_factors_and_traffic_by_hand():
    act = _Activity()
    d1, d2 = RULES["bp"].third_factors(act, [])
    np.testing.assert_allclose(d2, [[1.0, 0.0], [2.0, 2.0]])     # psi_2 (e W_o)
    np.testing.assert_allclose(d1, [[0.5, -0.5, 0.0], [3.0, -1.0, 1.0]])
    traffic = RULES["bp"].feedback_traffic(act.sizes, act.error, [d1, d2])
    assert [t.layer for t in traffic] == [2, 1] and [t.source for t in traffic] == [3, 2]
    np.testing.assert_allclose(traffic[0].ops, [4.0, 4.0])        # N_3 N_2
    np.testing.assert_allclose(traffic[0].ops_effective, [2.0, 4.0])   # nz(e) N_2
    np.testing.assert_allclose(traffic[1].ops_effective, [3.0, 6.0])   # nz(delta_2) N_1


def test_direct_and_scalar_feedback_traffic_by_hand():
    act = _Activity()
    d1, d2 = RULES["dfa"].third_factors(act, notes := [])
    np.testing.assert_allclose(d1, 0.5 * act.error.sum(1, keepdims=True) * np.ones((1, 3)))
    np.testing.assert_allclose(d2, 2.0 * act.error)
    assert notes == []
    t1, t2 = RULES["dfa"].feedback_traffic(act.sizes, act.error, [d1, d2])
    np.testing.assert_allclose(t1.ops, [3.0, 6.0])                # N_1 nz(e)
    np.testing.assert_allclose(t2.ops_dense, [4.0, 4.0])          # N_2 m
    zo = RULES["zo"].feedback_traffic(act.sizes, act.error, [d1, d2])
    np.testing.assert_allclose(zo[0].ops, [3.0, 3.0])
    np.testing.assert_array_equal(zo[0].senders, [[1, 0], [1, 0]])
    RULES["zo"].third_factors(act, notes)
    assert "gaussian stand-in" in notes[0]


@pytest.mark.parametrize("name", COUNTED_RULES)
def test_every_counted_rule_has_every_count_and_engine_form(name):
    cls = rule_class(name)
    sizes = (4, 3, 2, 2)
    rates = cls.feedback_traffic_from_rates(sizes, 1)
    assert sorted(t.layer for t in rates) == [1, 2]
    terms = cls.engine_terms("x0")
    assert terms[0].target.startswith("hidden") and "x0" in terms[0].dw
    assert any(t.target == "readout W_o" for t in terms)
    assert all(t.rule == name for t in terms)
    assert cls.feedback_storage(sizes) >= 0


def test_feedback_storage_by_hand():
    sizes = (4, 3, 2, 5)
    assert RULES["opzo"].feedback_storage(sizes) == RULES["dfa"].feedback_storage(sizes) == 25
    assert RULES["bp"].feedback_storage(sizes) == 3 * 2 + 2 * 5
    assert RULES["zo"].feedback_storage(sizes) == RULES["readout"].feedback_storage(sizes) == 0


def test_opzo_counts_the_writes_of_M():
    assert RULES["opzo"].feedback_update_counts((4, 3, 2, 5)) == {"upd_m": {1: 15.0, 2: 10.0}}
    assert RULES["dfa"].feedback_update_counts((4, 3, 2, 5)) == {}
    assert [t.product_terms for t in RULES["opzo"].engine_terms()] == [1, 1, 2]


def test_sign_symmetric_feeds_back_the_signs_of_the_forward_weights():
    rule = make_rule(small_config(rule={"name": "sign_symmetric"}, network={"hidden": [3, 2]}))
    W2 = np.array([[1.0, -2.0, 0.0], [0.5, 1.0, -1.0]])
    Wout = np.array([[2.0, 0.0], [1.0, -1.0]])
    state = {"W2": W2, "Wout": Wout}
    g2, _ = rule.reference_signal(1, step(state), upper=E)
    np.testing.assert_allclose(g2, [[-0.5, 1.0]])                # e sign(W_o)
    g1, _ = rule.reference_signal(0, step(state), upper=np.array([[1.0, -2.0]]))
    np.testing.assert_allclose(g1, [[-1.0, -3.0, 2.0]])          # delta_2 sign(W_2)
    assert rule.feedback_order == "top_down" and rule.transports_weights
    act = _Activity()
    d1, d2 = RULES["sign_symmetric"].third_factors(act, [])
    np.testing.assert_allclose(d2, [[1.0, 0.0], [2.0, 2.0]])     # psi_2 (e sign(W_o))
    np.testing.assert_allclose(d1, [[0.5, -0.5, 0.0], [2.0, -1.0, 1.0]])   # psi_1 (delta_2 sign(W_2))
    mirror = RULES["sign_symmetric"].engine_terms()[-1]
    assert "signs only" in mirror.note


def test_the_cost_analyzer_counts_sign_symmetric_feedback_as_bp_traffic():
    from bioopzo.cost.counts import counts_from_rates
    from bioopzo.cost.mapping import map_to_cores
    from bioopzo.cost.profiles import load_profile

    profile = load_profile()
    sizes = (20, 30, 20, 5)
    c = counts_from_rates(sizes, [0.1, 0.2, 0.2, 0.1], 10, profile, map_to_cores(sizes, profile))
    assert "sign_symmetric" in c.rules
    for name in ("fb_ops", "fb_msg", "wt.dense.step", "upd_w.dense.sample"):
        assert c.per_sample(name, "sign_symmetric") == c.per_sample(name, "bp") > 0
