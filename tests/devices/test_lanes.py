"""Optional GPU lanes (docs/lanes/): ``genn`` (brian2genn + GeNN 4.x, run here in GeNN's
CPU-only mode) and ``cuda_standalone`` (brian2cuda).

A lane's tests run in that lane's environment and skip elsewhere, naming the missing
piece (package, GENN_PATH, nvcc or GPU). The first tests run in every environment: an
absent lane is a clear error, and the lane checks name what is missing.

Cross-device check (genn lane), models/digits_fc.toml as it is (12 epochs, 1438
training and 359 test samples):

- training: test accuracy on GeNN within 4 points of the same epochs (data, order,
  learning-rate factors) on the NumPy reference, which runs the default lane's schedule
  (tests/rules/test_oracle.py: runtime, cpp_standalone and the reference agree spike for spike;
  cpp_standalone itself needs brian2 >= 2.6 and cannot run in the genn environment).
  Two runs with different noise draws differ on 359 test samples by about 1.6 points
  (one standard deviation at 95 % accuracy) even for the same model, so a 2-point bound
  would fail by chance about one time in five; docs/lanes/genn.md reports the measured
  difference against cpp_standalone (1.9 points) for the issue's 2-point check.
- spike statistics: the GeNN-trained weights run with learning and noise off on GeNN
  and on the reference: hidden firing rates within 10 % and test accuracies within 3
  points. (During training the rates differ more: the pipelined GeNN model, see
  docs/lanes/genn.md exclusion 2, settles at a higher hidden rate.)
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace

import numpy as np
import pytest

from bioopzo.config import load_config
from bioopzo.devices import DeviceUnavailableError, make_simulator
from bioopzo.devices import cuda as cuda_lane
from bioopzo.devices import genn as genn_lane

GENN_MISSING = genn_lane.lane_missing()
EPOCHS = 12                  # models/digits_fc.toml as it is
ACCURACY_TOLERANCE = 0.04    # 2.5 standard deviations of the difference of two runs (docstring)
RATE_TOLERANCE = 0.10        # hidden firing rate, same weights, learning off
CUDA_COMPILE_MISSING = cuda_lane.lane_missing()
CUDA_RUN_MISSING = cuda_lane.lane_missing(need_gpu=True)


def _digits(device: str, **over):
    over = {"device": {"name": device}, **over}
    return load_config(None, over)


@pytest.mark.parametrize("device,package", [("genn", "brian2genn"), ("cuda_standalone", "brian2cuda")])
def test_absent_lane_is_a_clear_error(device, package, tmp_path):
    if importlib.util.find_spec(package) is not None:
        pytest.skip(f"{package} is installed here: the {device} lane is present")
    with pytest.raises(DeviceUnavailableError) as err:
        make_simulator(_digits(device), 64, 10, tmp_path / "build")
    message = str(err.value)
    assert package in message and "docs/lanes/" in message and "cpp_standalone" in message


def test_genn_lane_check_names_the_missing_piece(monkeypatch, tmp_path):
    monkeypatch.delenv("GENN_PATH", raising=False)
    reason = genn_lane.lane_missing()
    if importlib.util.find_spec("brian2genn") is None:
        assert reason.startswith("brian2genn not installed") and "docs/lanes/genn.md" in reason
        return
    assert reason.startswith("GENN_PATH not set")
    (tmp_path / "version.txt").write_text("5.4.0\n")
    monkeypatch.setenv("GENN_PATH", str(tmp_path))
    assert "needs GeNN 4.x" in genn_lane.lane_missing()


@pytest.mark.parametrize("antithetic", [False, True])
def test_summed_lag_delays_the_noise_the_feedback_reads(antithetic):
    """With summed_lag = 1 (the genn lane), hidden layer l of L keeps in z the draw
    injected L + 1 - l steps earlier (z_now); runtime device, 2 hidden layers."""
    import brian2
    from conftest import small_config

    from bioopzo.data.epochs import make_epoch_data
    from bioopzo.devices.runtime import RUNTIME_CAPABILITIES
    from bioopzo.network import BrianNetwork
    from bioopzo.state import initial_state

    config = small_config(noise={"antithetic": antithetic})
    rng = np.random.default_rng(0)
    x, y = rng.random((3, 12)), np.array([0, 1, 2])
    data = make_epoch_data(x, y, x[:0], y[:0], 1)
    brian2.set_device("runtime")
    brian2.prefs.codegen.target = "numpy"
    brian2.defaultclock.dt = config.neuron.dt
    record = (("hidden1", "z"), ("hidden1", "z_now"), ("hidden2", "z"), ("hidden2", "z_now"))
    net = BrianNetwork(config, 12, 5, data, initial_state(config, 12, 5), record_states=record,
                       capabilities=replace(RUNTIME_CAPABILITIES, summed_lag=1))
    brian2.seed(3)
    net.network.run(net.duration, namespace={})
    for layer, delay in (("hidden1", 2), ("hidden2", 1)):
        z = np.asarray(net.state_monitors[(layer, "z")].z).T         # (steps, n)
        z_now = np.asarray(net.state_monitors[(layer, "z_now")].z_now).T
        assert np.std(z_now) > 0.5
        np.testing.assert_array_equal(z[delay:], z_now[:-delay])
        assert np.all(z[:delay] == 0)


@pytest.mark.lane
@pytest.mark.skipif(GENN_MISSING is not None, reason=str(GENN_MISSING))
def test_genn_refuses_sphere_noise(tmp_path):
    from bioopzo.config import ConfigError

    config = _digits("genn", noise={"distribution": "sphere"})
    with pytest.raises(ConfigError, match="linked variables"):
        make_simulator(config, 64, 10, tmp_path / "build")


def reference_training(config) -> list[dict]:
    """``train``'s epochs (same data, order, learning-rate factors and encoder) on the
    NumPy reference: the default lane's schedule. Per epoch: test accuracy, hidden rate."""
    from bioopzo.data import load_dataset
    from bioopzo.data.encoders import make_encoder
    from bioopzo.data.epochs import make_epoch_data
    from bioopzo.state import initial_state
    from bioopzo.reference import ReferenceModel
    from bioopzo.updates import learning_rate_factors

    seed, epochs = config.training.seed, config.training.epochs
    ds = load_dataset(config.data, seed)
    model = ReferenceModel(config, ds.n_inputs, ds.n_classes,
                           initial_state(config, ds.n_inputs, ds.n_classes, seed), seed=seed)
    encoder = make_encoder(config.data, config.neuron.dt)
    order_rng, input_rng = np.random.default_rng([seed, 23]), np.random.default_rng([seed, 5])
    rows = []
    for epoch in range(1, epochs + 1):
        order = order_rng.permutation(len(ds.y_train))
        factors = learning_rate_factors(config.optimizer, epoch, epochs, len(order))
        data = make_epoch_data(ds.x_train, ds.y_train, ds.x_test, ds.y_test,
                               config.optimizer.samples_per_update, order, factors)
        rec = model.run(encoder.encode(data.input_rows(), input_rng), data.labels,
                        data.is_training, data.ends_batch, lr_factor=data.lr_factor, record=True)
        test = data.is_training == 0
        rows.append({"test_accuracy": float(np.mean(rec.predictions[test] == data.labels[test])),
                     "rate_hidden1": float(np.mean(rec.spikes[0]))})
    return rows


def reference_forward(config, state, x, y) -> tuple[float, float]:
    """Learning and noise off on the NumPy reference: (test accuracy, hidden rate)."""
    from bioopzo.data.encoders import make_encoder
    from bioopzo.reference import ReferenceModel

    model = ReferenceModel(config, x.shape[1], 10, state, seed=0)
    encoded = make_encoder(config.data, config.neuron.dt).encode(x, np.random.default_rng(0))
    rec = model.run(encoded, y, np.zeros(len(y)), np.zeros(len(y)), record=True)
    return float(np.mean(rec.predictions == y)), float(np.mean(rec.spikes[0]))


@pytest.mark.lane
@pytest.mark.slow
@pytest.mark.skipif(GENN_MISSING is not None, reason=str(GENN_MISSING))
def test_genn_trains_digits_like_the_default_schedule(tmp_path):
    from bioopzo.data import load_dataset
    from bioopzo.state import initial_state
    from bioopzo.train import simulate, train

    config = _digits("genn", training={"epochs": EPOCHS})
    result = train(config, tmp_path / "genn", progress=False, echo=lambda *a: None)
    genn = result.metrics
    # compiled once, then the same binary re-run on rewritten state and data
    assert [row["compiled"] for row in genn] == [1] + [0] * (EPOCHS - 1)
    assert np.abs(result.state["Wout"] - initial_state(config, 64, 10)["Wout"]).mean() > 1e-3
    # training: test accuracy against the default schedule's
    acc_g, acc_r = genn[-1]["test_accuracy"], reference_training(config)[-1]["test_accuracy"]
    assert acc_r > 0.9 and acc_g > 0.9, (acc_g, acc_r)
    assert abs(acc_g - acc_r) <= ACCURACY_TOLERANCE, (acc_g, acc_r)
    # the same trained weights, learning and noise off: spike statistics and accuracy
    ds = load_dataset(config.data, config.training.seed)
    out = simulate(config, result.state, ds.x_test, ds.y_test, device="genn", seed=0)
    rate_g = len(out["spikes"][0][0]) / (len(ds.y_test) * config.data.steps_per_sample * 256)
    acc_fg = float(np.mean(out["predictions"] == ds.y_test))
    acc_fr, rate_r = reference_forward(config, result.state, ds.x_test, ds.y_test)
    assert abs(rate_g - rate_r) <= RATE_TOLERANCE * rate_r, (rate_g, rate_r)
    assert abs(acc_fg - acc_fr) <= 0.03, (acc_fg, acc_fr)


@pytest.mark.lane
@pytest.mark.skipif(CUDA_COMPILE_MISSING is not None, reason=str(CUDA_COMPILE_MISSING))
def test_cuda_standalone_compiles_the_opzo_network(tmp_path):
    from bioopzo.data import load_dataset
    from bioopzo.data.epochs import make_epoch_data
    from bioopzo.state import initial_state

    config = _digits("cuda_standalone", network={"hidden": [16]}, data={"limit": 60})
    ds = load_dataset(config.data, 1)
    state = initial_state(config, ds.n_inputs, ds.n_classes, 1)
    data = make_epoch_data(ds.x_train, ds.y_train, ds.x_test, ds.y_test, 1)
    out = cuda_lane.compile_project(config, ds.n_inputs, ds.n_classes, data, state,
                                    tmp_path / "build")
    binary = out["binary"]
    assert binary.is_file() and binary.stat().st_size > 0
    sources = {p.name for p in (tmp_path / "build" / "code_objects").iterdir()}
    # the OPZO feedback pathway and both forward Synapses were generated as CUDA code
    assert any(name.startswith("feedback_opzo_1") and name.endswith(".cu") for name in sources)
    assert any(name.startswith("forward_out") and name.endswith(".cu") for name in sources)


@pytest.mark.lane
@pytest.mark.slow
@pytest.mark.skipif(CUDA_RUN_MISSING is not None, reason=str(CUDA_RUN_MISSING))
def test_cuda_standalone_trains_digits(tmp_path):
    from bioopzo.train import train

    result = train(_digits("cuda_standalone", training={"epochs": 3}), tmp_path / "cuda",
                   progress=False, echo=lambda *a: None)
    assert [row["compiled"] for row in result.metrics] == [1, 0, 0]
    assert result.metrics[-1]["test_accuracy"] > 0.8
