"""NumPy reference of DESIGN.md section 1: the oracle for tests and the fast
path for analyses.

The same discrete-time equations as the Brian2 model (neurons.py, rules/,
updates.py), written with arrays of shape (batch, neurons). Per step t, with
k = t mod T the step within the sample and every state reset at k = 0:

    u_l = lambda v_l + W_l x_{l-1} + b_l (+ alpha z_l)     s_l = H(u_l - theta)
    v_l = u_l - theta s_l                                  x_l = s_l (+ alpha z_l)
    a_l = lambda_a a_l + s_l                               psi_l = kappa sig (1 - sig)
    o   = W_o x_L + b_o                                    e = (1-g)(softmax(o) - y) + g (o - y)
    g_l = the rule's top-down signal (LearningRule.reference_signal, rules/<rule>.py),
          layer by layer from the top for top-down rules (delta_{L+1} = e)
    delta_l = psi_l g_l,   G_W = learn delta_l a_{l-1}^T,   G_b = learn delta_l

with the rule's own state (OPZO's M_l, ZO's baseline) updated by the rule, and the
schedule/optimizer of updates.py applied to every parameter after the step's signals
are computed. Samples processed in parallel (``batch`` > 1) share weights; their
contributions are summed (the ``batch`` schedule divides by its batch size), and the
rules use batch means for their own state (rules/<rule>.py). With ``batch = 1`` the
model is step for step the Brian2 model; given the same inputs and noise they agree
spike for spike (tests/rules/test_oracle.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from bioopzo.data.samples import check_labels
from bioopzo.rules.base import StepSignals
from bioopzo.rules.registry import make_rule
from bioopzo.state import initial_state, parameter_names

if TYPE_CHECKING:
    from bioopzo.config import ExperimentConfig

__all__ = ["ReferenceModel", "RunRecord", "sigmoid", "surrogate"]


@dataclass
class RunRecord:
    """Outputs of :meth:`ReferenceModel.run`."""

    o_sum: np.ndarray                      # (N, m) readout summed over each sample
    loss: np.ndarray                       # (N,) loss summed over each sample's steps
    spikes: list = field(default_factory=list)     # per layer (N, T, n_l) when recorded
    signals: dict = field(default_factory=dict)    # other recorded per-step arrays

    @property
    def predictions(self) -> np.ndarray:
        return np.argmax(self.o_sum, axis=1)


def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x)) (overflow to 0 allowed)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def surrogate(u, threshold, slope):
    """The surrogate derivative psi = kappa sig (1 - sig), sig = sigmoid(kappa (u - theta))."""
    sig = sigmoid(slope * (u - threshold))
    return slope * sig * (1 - sig)


class ReferenceModel:
    """Discrete-time NumPy implementation of the model and all rules.

    Parameters
    ----------
    config : ExperimentConfig
    n_inputs, n_classes : int
    state : dict, optional
        Learnable state (same names and shapes as the Brian2 model);
        :func:`bioopzo.state.initial_state` by default.
    seed : int, optional
        Seed of the reference's own noise generator (used when no noise is supplied).
    """

    def __init__(self, config: ExperimentConfig, n_inputs: int, n_classes: int,
                 state: dict | None = None, seed: int | None = None):
        self.config = config
        self.n_inputs, self.n_classes = n_inputs, n_classes
        self.sizes = [n_inputs, *config.network.hidden, n_classes]
        self.rule = make_rule(config)
        st = initial_state(config, n_inputs, n_classes) if state is None else state
        self.state = {k: np.array(v, dtype=float, copy=True) for k, v in st.items()}
        self.rng = np.random.default_rng(config.training.seed if seed is None else seed)

    # ------------------------------------------------------------------ noise
    def draw_noise(self, shape: tuple) -> np.ndarray:
        dist = self.config.noise.distribution
        if dist == "gaussian":
            return self.rng.standard_normal(shape)
        if dist == "rademacher":
            return 2.0 * (self.rng.random(shape) < 0.5) - 1.0
        g = self.rng.standard_normal(shape)
        return g * np.sqrt(shape[-1] / np.sum(g * g, axis=-1, keepdims=True))

    # -------------------------------------------------------------------- run
    def run(self, inputs: np.ndarray, labels: np.ndarray, is_training=None, ends_batch=None,
            *, lr_factor=None, noise: list | None = None, batch: int = 1,
            record: bool = False, probe_jacobian: bool = False) -> RunRecord:
        """Stream samples through the model (learning where ``is_training``).

        inputs : (N, T, n_0) encoded inputs x_0; labels : (N,)
        is_training, ends_batch : (N,) 0/1 flags as in :class:`bioopzo.data.epochs.EpochData`
            (default: all training, every sample ends an update batch)
        lr_factor : (N,) learning-rate factors of the samples (default 1)
        noise : optional list (one per hidden layer) of (N, T, n_l) unscaled
            noise z (antithetic pairing must already be in it); drawn here otherwise
        batch : samples processed in parallel (N must be a multiple)
        probe_jacobian : also estimate, for every hidden layer, the same-step
            noise-smoothed Jacobian E[z_l (o~ - o~|z_l=0)^T] / alpha (n_l x m, M's
            layout): the readout is recomputed with that layer's current noise
            removed, which gives the expectation OPZO's M_l tracks (E[z o~^T]
            = E[z (o~ - o~|z_l=0)^T]) at far lower variance. Stored in
            ``signals["jacobian"]`` (training samples only).
        """
        cfg = self.config
        inputs = np.asarray(inputs, dtype=float)
        N, T, n0 = inputs.shape
        if T != cfg.data.steps_per_sample:
            raise ValueError(f"inputs have {T} steps per sample, the config says "
                             f"{cfg.data.steps_per_sample}")
        if N % batch:
            raise ValueError(f"{N} samples do not split into batches of {batch}")
        labels = check_labels(labels, self.n_classes, "labels")
        is_training = np.ones(N) if is_training is None else np.asarray(is_training, float)
        ends_batch = np.ones(N) if ends_batch is None else np.asarray(ends_batch, float)
        factor = np.ones(N) if lr_factor is None else np.asarray(lr_factor, float)
        L = len(cfg.network.hidden)
        m = self.n_classes
        o_sum = np.zeros((N, m))
        loss_sum = np.zeros(N)
        spikes = [np.zeros((N, T, n)) for n in self.sizes[1:-1]] if record else []
        signals: dict[str, np.ndarray] = {}
        z_prev = [np.zeros((batch, n)) for n in self.sizes[1:-1]]
        jac_sum = [np.zeros((n, m)) for n in self.sizes[1:-1]]
        jac_count = 0
        for c in range(N // batch):
            rows = slice(c * batch, (c + 1) * batch)
            learn = float(is_training[rows][0] * factor[rows][0])
            training = float(learn > 0)
            end = float(ends_batch[rows][0])
            y = np.zeros((batch, m))
            y[np.arange(batch), labels[rows]] = 1.0
            v = [np.zeros((batch, n)) for n in self.sizes[1:-1]]
            traces = [np.zeros((batch, n)) for n in self.sizes[:-1]]
            for k in range(T):
                step = c * T + k
                last = k == T - 1
                if noise is not None:
                    z_step = [np.asarray(noise[l][rows, k], float) for l in range(L)]
                else:
                    z_step = []
                    for l in range(L):
                        z = self.draw_noise((batch, self.sizes[l + 1]))
                        if cfg.noise.antithetic and step % 2 == 1:
                            z = -z_prev[l]
                        z_step.append(z)
                z_prev = z_step
                apply = training if cfg.optimizer.schedule == "step" else training * last * end
                out = self._step(inputs[rows, k], y, z_step, v, traces, learn, training, apply,
                                 probe=probe_jacobian and training > 0)
                if "jacobian" in out:
                    for l in range(L):
                        jac_sum[l] += out["jacobian"][l]
                    jac_count += batch
                o_sum[rows] += out["o"]
                loss_sum[rows] += out["loss"].sum(axis=1)
                if record:
                    for l in range(L):
                        spikes[l][rows, k] = out["s"][l]
        if probe_jacobian:
            signals["jacobian"] = [j / max(jac_count, 1) / cfg.noise.scale for j in jac_sum]
        return RunRecord(o_sum, loss_sum, spikes, signals)

    # ------------------------------------------------------------------- step
    def _step(self, x0, y, z, v, traces, learn, training, apply, probe=False):
        cfg = self.config
        st = self.state
        nrn, noise, rule = cfg.neuron, cfg.noise, cfg.rule
        L = len(cfg.network.hidden)
        alpha = noise.scale * (1.0 if (training or noise.during_evaluation) else 0.0)
        theta, kappa = nrn.threshold, nrn.surrogate_slope
        gamma = cfg.network.loss_gamma

        traces[0][:] = nrn.trace_decay * traces[0] + x0
        x = x0
        s_all, psi_all, layer_inputs = [], [], []
        v_before = [vv.copy() for vv in v] if probe else None
        for l in range(1, L + 1):
            layer_inputs.append(x)
            u, s, x = self.layer(l, x, v[l - 1], alpha * z[l - 1])
            v[l - 1][:] = u - theta * s if nrn.reset == "soft" else u * (1 - s)
            traces[l][:] = nrn.trace_decay * traces[l] + s
            s_all.append(s)
            psi_all.append(surrogate(u, theta, kappa))
        o = x @ st["Wout"].T + st["bout"]
        with np.errstate(over="ignore"):
            denom = np.exp(o[:, None, :] - o[:, :, None]).sum(axis=2)
        p = 1.0 / denom
        e = (1 - gamma) * (p - y) + gamma * (o - y)
        loss = (1 - gamma) * y * np.log(denom) + gamma * 0.5 * (o - y) ** 2

        # ---------------------------------------------------- top-down signals
        deltas = [None] * L
        updates: dict[str, np.ndarray] = {}
        if self.rule.trains_hidden:
            step = StepSignals(e=e, o=o, loss=loss, z=z, psi=psi_all, state=st, training=training)
            updates.update(self.rule.reference_step_updates(step))
            upper = e
            top_down = self.rule.feedback_order == "top_down"
            for l in (range(L - 1, -1, -1) if top_down else range(L)):
                g, rule_updates = self.rule.reference_signal(l, step, upper)
                updates.update(rule_updates)
                deltas[l] = psi_all[l] * g if rule.use_surrogate else g
                upper = deltas[l]

        # ------------------------------------------------- parameter updates
        opt = cfg.optimizer
        for l in range(1, L + 2):
            W, b = (f"W{l}", f"b{l}") if l <= L else ("Wout", "bout")
            if l <= L and not self.rule.trains_hidden:
                continue
            delta = deltas[l - 1] if l <= L else e
            rate = opt.learning_rate if l <= L else opt.readout_rate
            self._update(W, learn * delta.T @ traces[l - 1], apply, rate, updates)
            self._update(b, learn * delta.sum(axis=0), apply, rate, updates)
        out = {"o": o, "loss": loss, "s": s_all, "e": e, "delta": deltas}
        if probe:
            out["jacobian"] = [
                z[l].T @ (o - self.readout_without_noise(l, layer_inputs[l], v_before, z, alpha))
                for l in range(L)]
        st.update(updates)
        return out

    def layer(self, l, x, v_prev, noise):
        """Forward step of hidden layer l: membrane u, spikes s, activity sent on x.

        ``noise`` is the scaled noise alpha z_l, added at the configured site."""
        nrn, st = self.config.neuron, self.state
        membrane = self.config.noise.site == "membrane"
        u = nrn.leak * v_prev + x @ st[f"W{l}"].T + st[f"b{l}"]
        if membrane:
            u = u + noise
        s = (u >= nrn.threshold).astype(float)
        return u, s, (s if membrane else s + noise)

    def readout_without_noise(self, layer, x, v_before, z, alpha):
        """Readout of the current step with hidden layer ``layer``'s noise removed."""
        st = self.state
        for l in range(layer + 1, len(self.config.network.hidden) + 1):
            keep = 0.0 if l == layer + 1 else 1.0
            _, _, x = self.layer(l, x, v_before[l - 1], keep * alpha * z[l - 1])
        return x @ st["Wout"].T + st["bout"]

    def _update(self, name, G, apply, rate, updates):
        st, opt = self.state, self.config.optimizer
        eta = rate / opt.batch_size if opt.schedule == "batch" else rate
        mu = opt.momentum
        accumulated = opt.schedule != "step"
        total = st[f"{name}_acc"] + G if accumulated else G
        if mu > 0:
            vel = st[f"{name}_vel"]
            updates[name] = st[name] - eta * apply * (mu * vel + total)
            updates[f"{name}_vel"] = vel + apply * ((mu - 1) * vel + total)
        elif accumulated:
            updates[name] = st[name] - eta * apply * total
        else:
            updates[name] = st[name] - eta * total
        if accumulated:
            updates[f"{name}_acc"] = total * (1 - apply)

    # --------------------------------------------------------------- helpers
    def parameters(self) -> dict[str, np.ndarray]:
        """Forward weights and biases (copies)."""
        return {k: self.state[k].copy() for k in parameter_names(self.config)}

    def evaluate(self, inputs: np.ndarray, labels: np.ndarray, batch: int | None = None) -> float:
        """Test accuracy with learning off (noise off unless during_evaluation)."""
        N = len(labels)
        batch = N if batch is None else batch
        n = N - N % batch
        rec = self.run(inputs[:n], labels[:n], np.zeros(n), np.zeros(n), batch=batch)
        acc = np.mean(rec.predictions == np.asarray(labels[:n]))
        if n < N:
            rest = self.run(inputs[n:], labels[n:], np.zeros(N - n), np.zeros(N - n), batch=N - n)
            acc = (acc * n + np.sum(rest.predictions == labels[n:])) / N
        return float(acc)

