"""Schedules and optimizer equations, learning-rate schedules, epoch data."""

import numpy as np
import pytest

from bioopzo.config import OptimizerConfig
from bioopzo.data.epochs import make_epoch_data
from bioopzo.updates import learning_rate_factors, optimizer_state_names, update_equations


def test_update_equations_per_schedule():
    step = update_equations("w", "G", "A", "eta", OptimizerConfig(schedule="step"))
    assert step.strip() == "dw/dt = -eta*(G)/dt : 1 (clock-driven)"
    acc = update_equations("w", "G", "A", "eta", OptimizerConfig(schedule="batch", batch_size=4))
    assert "(eta/4)" in acc and "dw_acc/dt" in acc
    mom = update_equations("b", "G", "A", "eta", OptimizerConfig(momentum=0.9), flag="")
    assert "db_vel/dt" in mom and "clock-driven" not in mom
    assert optimizer_state_names(OptimizerConfig(schedule="sample", momentum=0.5)) == ["acc", "vel"]


def test_cosine_schedule_decays_over_the_run():
    opt = OptimizerConfig(lr_schedule="cosine")
    first = learning_rate_factors(opt, 1, 4, 100)
    last = learning_rate_factors(opt, 4, 4, 100)
    assert first[0] == pytest.approx(1.0)
    assert np.all(np.diff(np.concatenate([first, last])) <= 0)
    assert 0 < last[-1] < 0.01
    assert np.all(learning_rate_factors(OptimizerConfig(), 2, 4, 10) == 1)


def test_epoch_data_marks_batches_and_test_samples():
    x = np.random.default_rng(0).random((7, 3))
    y = np.arange(7) % 2
    data = make_epoch_data(x[:5], y[:5], x[5:], y[5:], samples_per_update=2,
                           order=np.array([4, 3, 2, 1, 0]))
    np.testing.assert_array_equal(data.is_training, [1, 1, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(data.ends_batch, [0, 1, 0, 1, 1, 0, 0])   # last partial batch
    np.testing.assert_array_equal(data.input_rows(0, 1)[0], x[4])
    np.testing.assert_array_equal(data.learning_rate_factors, [1, 1, 1, 1, 1, 0, 0])
