"""Parameter updates as clock-driven Brian2 equations (schedule and optimizer).

Every learnable parameter p (a weight, a bias) receives, each step, the
gradient contribution G[t] of the three-factor rule (learn gate included),

    G[t] = learn * delta_post[t] * a_pre[t]        (weights)
    G[t] = learn * delta[t]                        (biases)

and changes only when ``apply`` is 1 (every training step for the ``step``
schedule; the last step of a sample, or of a block of B samples, for the
accumulated schedules). With accumulator c and velocity m (momentum mu):

    step, SGD:          p <- p - eta G
    step, momentum:     m <- mu m + G;  p <- p - eta m                 (when apply)
    accumulated, SGD:   c <- (c + G)(1 - apply);  p <- p - eta' apply (c + G)
    accumulated, mom.:  m <- mu m + (c + G) when apply;  p <- p - eta' apply m

with eta' = eta / B for the ``batch`` schedule (mean over its samples). Each
update is written as ``dp/dt = (p_new - p)/dt`` and integrated with Euler,
which is exact for one step (Brian2 cancels dt symbolically) and portable to
every device (DESIGN.md section 3: no run_regularly on Synapses).

For the accumulated schedules the weights' gradient is summed over the sample
from the step histories the groups keep (neurons.py),

    G_sample = sum_{k=0}^{T-1} learn_delta_k_post * trace_k_pre,

and the update equations run once per sample, on a clock of period T dt,
before the first step of the next sample (the sum equals the per-step
accumulation c <- c + G[t] up to floating-point rounding). This turns T dense
passes over the weights per sample into one.
"""

from __future__ import annotations

from bioopzo.config import OptimizerConfig

__all__ = ["update_equations", "optimizer_state_names", "three_factor_gradient",
           "learning_rate_factors"]


def optimizer_state_names(optimizer: OptimizerConfig) -> list[str]:
    """Suffixes of the per-parameter optimizer state variables."""
    names = []
    if optimizer.schedule != "step":
        names.append("acc")
    if optimizer.momentum > 0:
        names.append("vel")
    return names


def three_factor_gradient(optimizer: OptimizerConfig, steps: int, *, modulated: str = "post",
                          traced: str = "pre") -> str:
    """The weight gradient G of one update: this step's ``learn delta a`` for the
    step schedule, the whole sample's sum of the histories otherwise.

    ``modulated`` / ``traced`` say which side of the Synapses holds the
    modulator delta and which the presynaptic trace (``pre`` / ``post``).
    """
    if optimizer.schedule == "step":
        return f"learn_{modulated}*delta_{modulated}*trace_{traced}"
    return " + ".join(f"learn_delta_{k}_{modulated}*trace_{k}_{traced}" for k in range(steps))


def update_equations(param: str, gradient: str, apply: str, rate: str,
                     optimizer: OptimizerConfig, *, flag: str = "clock-driven") -> str:
    """Equations that update ``param`` from this step's ``gradient`` expression.

    ``rate`` names the learning-rate constant in the namespace; the batch mean
    is folded in here.
    """
    flag_text = f" ({flag})" if flag else ""
    eta = rate if optimizer.schedule != "batch" else f"({rate}/{optimizer.batch_size})"
    mu = repr(float(optimizer.momentum))
    accumulated = optimizer.schedule != "step"
    total = f"({param}_acc + {gradient})" if accumulated else f"({gradient})"
    lines = []
    if optimizer.momentum > 0:
        lines.append(f"d{param}/dt = -{eta}*{apply}*({mu}*{param}_vel + {total})/dt : 1{flag_text}")
        lines.append(f"d{param}_vel/dt = {apply}*(({mu} - 1)*{param}_vel + {total})/dt : 1{flag_text}")
    elif accumulated:
        lines.append(f"d{param}/dt = -{eta}*{apply}*{total}/dt : 1{flag_text}")
    else:
        lines.append(f"d{param}/dt = -{eta}*{total}/dt : 1{flag_text}")
    if accumulated:
        lines.append(f"d{param}_acc/dt = ({total}*(1 - {apply}) - {param}_acc)/dt : 1{flag_text}")
    return "\n".join(lines) + "\n"


def learning_rate_factors(optimizer: OptimizerConfig, epoch: int, epochs: int,
                          n_train: int):
    """Per-sample learning-rate factors of epoch ``epoch`` (1-based) of ``epochs``.

    ``constant``: all 1. ``cosine``: (1 + cos(pi p))/2 with p = (samples seen
    before this one) / (all training samples of the run), so the factor decays
    from 1 towards 0 over the whole run.
    """
    import numpy as np

    if optimizer.lr_schedule == "constant":
        return np.ones(n_train)
    seen = (epoch - 1) * n_train + np.arange(n_train)
    return 0.5 * (1.0 + np.cos(np.pi * seen / (epochs * n_train)))
