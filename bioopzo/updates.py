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

Replayed form (event-driven presynaptic activity). The trace restarts with
every sample, a[k] = sum_{s<=k} lambda_a^(k-s) p[s], where p[s] is what step s
adds to it (x for inputs, s for spiking layers). Exchanging the sums,

    G_sample = sum_k learn_delta_k a[k] = sum_s p[s] E[s],
    E[s] = sum_{k>=s} lambda_a^(k-s) learn_delta_k     (E[T-1] = learn_delta_{T-1},
                                                        E[s] = learn_delta_s + lambda_a E[s+1])

E is a per-neuron quantity (neurons.credit_code turns the postsynaptic history
into it in place, once per sample), so the synapses of presynaptic neurons
with p[s] = 0 have nothing to add for step s. The Synapses replay the sample's
pulses: one custom event ``replay{s}`` (p[s] != 0) per step of the sample,
whose pathway runs, at the end of the sample, only over the synapses of the
neurons that fired it,

    direct (sample schedule, SGD):  w <- w - p[s] (eta apply E[s])     (no dense pass)
    otherwise:                      c <- c + p[s] E[s], then the equations above with G = 0.

The sums are equal to the dense form's; only the order of the floating-point
additions differs. For N-MNIST-like inputs (5 % active per step) this does a
twentieth of the dense form's multiply-adds.

Active form (smaller matrices, where T pathways per matrix cost more to compile
and call than they save): the T-term sum is formed, as in the dense form, but
only for the synapses of presynaptic neurons active at some step of the sample
(event ``active_in_sample``: sum_k |a[k]| != 0); the others have G = 0 exactly:

    direct:     w <- w - eta apply G        otherwise:  c <- c + G, then the equations with G = 0.

network.py picks the form per weight matrix (``training.replay_min_synapses``),
and with either of the two forms also runs the biases' equations once per
sample, with G_sample = sum_k learn_delta_k from the same history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bioopzo.config import OptimizerConfig

__all__ = ["update_equations", "optimizer_state_names", "three_factor_gradient",
           "sample_pathways", "sample_update_equations", "replays_directly",
           "frozen_equations", "SAMPLE_UPDATE_FORMS", "learning_rate_factors"]


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


def frozen_equations(param: str, optimizer: OptimizerConfig) -> str:
    """A parameter that does not change by equations (it does not learn, or replayed
    events update it): the variables of a learning one, no dynamics."""
    return "".join(f"{name} : 1\n" for name in
                   [param, *(f"{param}_{sfx}" for sfx in optimizer_state_names(optimizer))])


def replays_directly(optimizer: OptimizerConfig) -> bool:
    """Replayed updates go straight into the weights (every training sample is
    applied at once and no optimizer state is kept): the ``sample`` schedule
    without momentum. Otherwise they go into the accumulator ``{param}_acc``."""
    return optimizer.schedule == "sample" and optimizer.momentum == 0


#: forms of a once-per-sample weight update (network.py picks one per matrix)
SAMPLE_UPDATE_FORMS = ("dense", "active", "replay")


def sample_pathways(form: str, param: str, optimizer: OptimizerConfig, steps: int, rate: str, *,
                    modulated: str = "post", traced: str = "pre") -> dict[str, str]:
    """Pathway name -> statement of a once-per-sample update in ``form``; each
    pathway is fired by the traced side's event of the same name.

    ``replay``: event ``replay{s}`` adds pulse[s] * E[s] of the modulated side
    (``learn_delta_{s}`` holds E[s] by then, scaled by eta apply if direct).
    ``active``: event ``active_in_sample`` adds the sample's T-term sum G.
    ``dense``: no pathways (the equations sum G over every synapse).
    """
    direct = replays_directly(optimizer)
    target, op = (param, "-=") if direct else (f"{param}_acc", "+=")
    if form == "replay":
        return {f"replay{s}": f"{target} {op} pulse_{s}_{traced}*learn_delta_{s}_{modulated}"
                for s in range(steps)}
    if form == "active":
        gradient = " + ".join(f"learn_delta_{k}_{modulated}*trace_{k}_{traced}"
                              for k in range(steps))
        scale = f"{rate}*apply_{modulated}*" if direct else ""
        return {"active_in_sample": f"{target} {op} {scale}({gradient})"}
    if form == "dense":
        return {}
    raise ValueError(f"unknown once-per-sample update form {form!r}; one of {SAMPLE_UPDATE_FORMS}")


def sample_update_equations(form: str, param: str, optimizer: OptimizerConfig, steps: int,
                            rate: str, apply: str, *, modulated: str = "post",
                            traced: str = "pre") -> str:
    """The equations of a once-per-sample update in ``form``: the dense T-term
    sum, the accumulator's application (G = 0: the pathways added it), or none
    (the pathways update ``param`` directly)."""
    if form != "dense" and replays_directly(optimizer):
        return frozen_equations(param, optimizer)
    gradient = ("0" if form != "dense" else
                three_factor_gradient(optimizer, steps, modulated=modulated, traced=traced))
    return update_equations(param, gradient, apply, rate, optimizer)


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
