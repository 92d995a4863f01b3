"""Brian2 equations of the discrete-time neurons (DESIGN.md section 1).

One step of length dt; t is the step's time and k = step mod T its index within
the current sample (T = steps per sample). State is reset at k = 0, inside the
simulation. For hidden layer l, in this order within the step:

    u_l[t] = lambda v_l[t-1] + W_l x_{l-1}[t] + b_l (+ alpha z_l[t]   membrane noise)
    s_l[t] = H(u_l[t] - theta)
    v_l[t] = u_l[t] - theta s_l[t]            (soft reset; hard: u_l[t] (1 - s_l[t]))
    x_l[t] = s_l[t]                           (+ alpha z_l[t]   output noise)
    a_l[t] = lambda_a a_l[t-1] + s_l[t]        (presynaptic trace of clean spikes)
    psi_l[t] = kappa sigma(kappa (u_l - theta)) (1 - sigma(kappa (u_l - theta)))

The readout is linear, o[t] = W_o x_L[t] + b_o, and its error is the gradient of
the per-step loss l = (1 - gamma) CE + gamma MSE with respect to o:

    e[t] = (1 - gamma)(softmax(o[t]) - y) + gamma (o[t] - y),   MSE = 1/2 ||o - y||^2

softmax is computed without overflow as p_i = 1 / sum_j exp(o_j - o_i); the sum
comes from an all-to-all readout-to-readout Synapses (a summed variable).

Noise z_l[t] is fresh every step: gaussian (``gaussian()`` of devices/gaussian.py, or
Brian2's ``randn()`` where that has no implementation), rademacher +-1, or
uniform on the sphere of radius sqrt(n_l) (a gaussian draw divided by its norm,
which a one-neuron group sums). With antithetic noise, z_l[t] = -z_l[t-1] on odd
steps. Noise is on for training samples (and for test samples only when
``noise.during_evaluation``). Each sample carries a learning-rate factor
(``learn``; the schedule of ``optimizer.lr_schedule``, 0 for test samples).

Everything is written as ``run_regularly`` code blocks in the ``start`` slot;
schedule.py gives each block its ``order`` so that layer 1 runs before layer 2,
before the readout, before the errors and the feedback (DESIGN.md section 3).
I_syn is accumulated by the forward Synapses' ``transmit`` events (only inputs
with x != 0 send one) and cleared once the layer has read it.

For the accumulated schedules (one update per sample or per batch) each group
also keeps the sample's history, one variable per step k = 0..T-1:

    trace_k = a[k]                  (every group that is presynaptic to a learning Synapses)
    learn_delta_k = learn delta[k]  (every group whose incoming weights learn)

written in place where the device calls code cheaply (compiled devices): a
custom event ``slot{k}`` is true in step k of every sample (a test of the step
index alone), and its code ``{prefix}_k = value`` runs at the end of that step,
one write per neuron and step (``slot_events``, ``slot_code``), in groups of
at least ``training.slot_history_min_neurons`` neurons. Elsewhere (the NumPy
runtime, the readout, smaller groups) a shift register: each step moves the
entries down by one and appends the new value (``history_code``). Both hold
the same values at the end of a sample, when they are read.

so that a weight's whole-sample gradient sum_k learn delta_post[k] a_pre[k] is
computed once per sample by the Synapses (updates.py), not every step.

Where the Synapses replay the sample's presynaptic events instead (updates.py,
replayed form), the presynaptic group keeps what each step added to its trace,

    pulse_k = x[k] (inputs) or s[k] (spiking layers),   event replay{k}: pulse_k != 0

and at the end of the sample the postsynaptic history is turned, in place, into
the credit a pulse of step k earns (``credit_code``):

    E_{T-1} = learn_delta_{T-1},   E_k = learn_delta_k + lambda_a E_{k+1}   (k = T-2 .. 0)
    learn_delta_k <- c E_k

with c = eta apply when the update goes straight into the weights, else 1.
For the active form the group keeps trace_k and fires ``active_in_sample``
(sum_k |trace_k| != 0) at the end of the sample (``sample_events``).
"""

from __future__ import annotations

import numpy as np

from bioopzo.config import ExperimentConfig

__all__ = [
    "STEP_CODE",
    "SURROGATE_CODE",
    "surrogate",
    "input_model",
    "input_code",
    "hidden_model",
    "hidden_forward_code",
    "hidden_modulation_code",
    "readout_model",
    "readout_forward_code",
    "readout_error_code",
    "noise_draw_code",
    "shared_namespace",
    "history_model",
    "history_code",
    "slot_events",
    "slot_code",
    "credit_code",
    "sample_events",
]

#: temporaries every per-step block derives from t: step index, sample step k,
#: first/last step of the sample, parity (for antithetic noise).
STEP_CODE = """
step = int(t/dt + 0.5)
k = step % steps_per_sample
first = int(k == 0)
last = int(k == steps_per_sample - 1)
"""

#: the surrogate derivative psi = kappa sigma(kappa (u - theta)) (1 - sigma(kappa (u - theta))),
#: the one Brian2 definition (hidden layers here, the OPZO synapse of the plasticity models)
SURROGATE_CODE = """sig = 1/(1 + exp(-kappa*(u - theta)))
psi = kappa*sig*(1 - sig)"""


def surrogate(u, kappa, theta=1.0):
    """NumPy form of ``SURROGATE_CODE``: psi = kappa sigma(kappa (u - theta)) (1 - sigma(...))."""
    sig = 1.0 / (1.0 + np.exp(-kappa * (u - theta)))
    return kappa * sig * (1.0 - sig)

#: learning gates: learn (the sample's learning-rate factor, 0 for test
#: samples), training (1 for training samples: noise, feedback and baseline
#: updates on) and apply (accumulated updates are applied now; for the step
#: schedule apply = training).
FLAGS_CODE = {
    "step": """
learn = sample_learning_rate(t)
training = int(learn > 0)
apply = training
""",
    "accumulate": """
learn = sample_learning_rate(t)
training = int(learn > 0)
apply = training*last*sample_ends_batch(t)
""",
}


def shared_namespace(config: ExperimentConfig) -> dict:
    """Constants every group sees."""
    n = config.neuron
    return {
        "steps_per_sample": config.data.steps_per_sample,
        "leak": n.leak,
        "trace_decay": n.trace_decay,
        "theta": float(n.threshold),
        "kappa": float(n.surrogate_slope),
    }


def _flags(config: ExperimentConfig) -> str:
    return FLAGS_CODE["step" if config.optimizer.schedule == "step" else "accumulate"]


# ----------------------------------------------------------------------- inputs
def input_model() -> str:
    return """
x : 1        # input activity x_0[t]
trace : 1    # presynaptic trace a_0[t]
"""


def input_code(encoder_statement: str, history: str = "") -> str:
    return STEP_CODE + encoder_statement + """
trace = trace_decay*trace*(1 - first) + x
""" + history


# ------------------------------------------------------------- sample histories
def history_model(prefix: str, steps: int, comment: str) -> str:
    """``{prefix}_0 .. {prefix}_{T-1}``: one value per step of the current sample."""
    return "".join(f"{prefix}_{k} : 1    # {comment} at step {k}\n" for k in range(steps))


def history_code(prefix: str, expression: str, steps: int) -> str:
    """Shift ``{prefix}_1 .. {prefix}_{T-1}`` down by one and store this step's
    ``expression`` in ``{prefix}_{T-1}``: after the T steps of a sample,
    ``{prefix}_k`` holds step k (pure copies, exact; T moves per neuron and step)."""
    shifts = "".join(f"{prefix}_{j} = {prefix}_{j + 1}\n" for j in range(steps - 1))
    return shifts + f"{prefix}_{steps - 1} = {expression}\n"


def slot_events(steps: int) -> dict[str, str]:
    """Custom events ``slot0 .. slot{T-1}``: ``slot{k}`` is true for every neuron
    in step k of each sample, and nowhere else (the in-place histories)."""
    return {f"slot{k}": f"int(t/dt + 0.5) % steps_per_sample == {k}" for k in range(steps)}


def slot_code(histories: dict[str, str], k: int) -> str:
    """The code of event ``slot{k}``: step k's entry of every history,
    ``{prefix}_k = expression`` for ``{prefix: expression}`` (pure copies)."""
    return "".join(f"{prefix}_{k} = {expression}\n" for prefix, expression in histories.items())


def sample_events(form: str, steps: int) -> dict[str, str]:
    """Custom events, detected at the end of a sample, that fire the once-per-sample
    update pathways of updates.py: ``replay{k}`` (step k added to the trace) for
    the replayed form, ``active_in_sample`` (some step did) for the active form."""
    if form == "replay":
        return {f"replay{k}": f"pulse_{k} != 0" for k in range(steps)}
    if form == "active":
        return {"active_in_sample": " + ".join(f"abs(trace_{k})" for k in range(steps)) + " != 0"}
    return {}


def credit_code(steps: int, scale: str = "") -> str:
    """Replace ``learn_delta_0 .. learn_delta_{T-1}`` by the credit of a pulse at
    each step, E_k = sum_{k'>=k} trace_decay^(k'-k) learn_delta_k', times ``scale``
    (run once per sample, before the replay; the unscaled E is built first)."""
    lines = [f"learn_delta_{k} = learn_delta_{k} + trace_decay*learn_delta_{k + 1}\n"
             for k in range(steps - 2, -1, -1)]
    if scale:
        lines += [f"learn_delta_{k} = {scale}*learn_delta_{k}\n" for k in range(steps)]
    return "".join(lines)


# ------------------------------------------------------------------ hidden layer
def hidden_model(config: ExperimentConfig, trains: bool, sphere: bool, bias_equations: str,
                 noise_delay: int = 0) -> str:
    eqs = """
I_syn : 1    # W_l x_{l-1}[t] (accumulated by the forward Synapses, cleared after use)
u : 1        # membrane before the spike decision
v : 1        # membrane after reset, carried to the next step
s : 1        # spike s_l[t] in {0, 1}
x : 1        # activity sent on: s, or s + alpha z with output noise
trace : 1    # presynaptic trace a_l[t]
psi : 1      # surrogate derivative psi_l[t]
z : 1        # noise sample z_l[t] (before scaling by alpha)
learn : 1    # learning-rate factor of the current sample (0 for test samples)
training : 1 # 1 during training samples
apply : 1    # 1 when accumulated updates are applied this step
"""
    if sphere:
        eqs += "z_raw : 1\nz_sumsq : 1 (linked)\n"
    if noise_delay:
        eqs += "z_now : 1    # this step's noise draw (z is the draw of noise_delay steps ago)\n"
        eqs += "".join(f"z_q{k} : 1\n" for k in range(2, noise_delay + 1))
    if trains:
        eqs += """
g : 1        # top-down signal g_l[t] (summed from the feedback pathway)
delta : 1    # modulator delta_l[t] = psi g
"""
    eqs += bias_equations
    return eqs


def noise_draw_code(config: ExperimentConfig, gaussian: str = "randn") -> str:
    """Gaussian draw for the sphere distribution (normalised in the forward code);
    ``gaussian`` names the Brian2 function that draws it."""
    return f"z_raw = {gaussian}()\n"


def _delayed_noise(code: str, delay: int) -> str:
    """The forward code with the noise injected from ``z_now`` and ``z`` holding the
    draw of ``delay`` steps ago (a shift register z_now -> z_q2 -> ... -> z).

    For devices on which every summed hop lags one step (brian2genn,
    docs/lanes/genn.md), the noise a layer injects at step t reaches the readout at
    step t + delay; the feedback rules correlate ``z`` with the readout of the same
    step, so ``z`` must be the draw whose effect the readout shows now."""
    chain = ["z_now", *(f"z_q{k}" for k in range(2, delay + 1))]
    shift = f"z = {chain[-1]}\n" + "".join(f"{chain[k]} = {chain[k - 1]}\n"
                                          for k in range(len(chain) - 1, 0, -1))
    code = code.replace("\nz = (1 - odd)*z_new - odd*z", "\nz_now = (1 - odd)*z_new - odd*z_now")
    code = code.replace("\nz = z_new\n", "\nz_now = z_new\n")
    code = code.replace("noise_scale*noise_on*z\n", "noise_scale*noise_on*z_now\n")
    return code.replace("\nz_new = ", "\n" + shift + "z_new = ", 1)


def hidden_forward_code(config: ExperimentConfig, n_neurons: int, noise_delay: int = 0,
                        gaussian: str = "randn", uniform: str = "rand") -> str:
    """The layer's step; ``gaussian`` and ``uniform`` name the Brian2 functions of
    its gaussian and uniform draws. With ``[noise] scale = 0`` (the rules that do
    not estimate from noise) nothing is drawn: z stays 0 and adds nothing."""
    if noise_delay and config.noise.scale > 0:
        return _delayed_noise(hidden_forward_code(config, n_neurons, gaussian=gaussian,
                                                  uniform=uniform), noise_delay)
    noise = config.noise
    dist = noise.distribution
    if dist == "gaussian":
        draw = f"z_new = {gaussian}()"
    elif dist == "rademacher":
        draw = f"z_new = 2*int({uniform}() < 0.5) - 1"
    else:
        draw = f"z_new = z_raw*sqrt({n_neurons}/z_sumsq)"
    if noise.antithetic:
        draw += "\nodd = step % 2\nz = (1 - odd)*z_new - odd*z"
    else:
        draw += "\nz = z_new"
    gate = "1" if noise.during_evaluation else "training"
    membrane_noise = " + noise_scale*noise_on*z" if noise.site == "membrane" else ""
    output_noise = " + noise_scale*noise_on*z" if noise.site == "output" else ""
    if noise.scale == 0:
        draw, gate, membrane_noise, output_noise = "", "0", "", ""
    reset = "v = u - theta*s" if config.neuron.reset == "soft" else "v = u*(1 - s)"
    code = STEP_CODE + _flags(config) + f"""
{draw}
noise_on = {gate}
u = leak*v*(1 - first) + I_syn + b{membrane_noise}
s = int(u >= theta)
{reset}
x = s{output_noise}
trace = trace_decay*trace*(1 - first) + s
{SURROGATE_CODE}
I_syn = 0
"""
    return code


def hidden_modulation_code(config: ExperimentConfig, history: str = "") -> str:
    """delta_l = psi_l g_l (or g_l when the surrogate is switched off)."""
    code = "delta = psi*g\n" if config.rule.use_surrogate else "delta = g\n"
    return code + history


# ----------------------------------------------------------------------- readout
def readout_model(config: ExperimentConfig, bias_equations: str, zo_baseline: bool) -> str:
    eqs = """
I_syn : 1               # W_o x_L[t] (accumulated, cleared after use)
o : 1                   # readout o[t]
target : 1              # one-hot label y
softmax_denominator : 1 # sum_j exp(o_j - o_i) (summed); softmax p_i = 1/this
delta : 1               # output error e[t] = dl/do
loss : 1                # this unit's share of the step's loss
o_sum : 1               # sum_t o[t] over the sample (prediction = argmax)
loss_sum : 1            # sum over the sample's steps of loss
sample_end : 1          # 1 at the last step of a sample (drives the sample monitor)
learn : 1
training : 1
apply : 1
"""
    if zo_baseline:
        eqs += """
loss_baseline : 1       # running baseline b of this unit's loss share
advantage : 1           # loss - baseline (ZO's scalar, summed over units downstream)
"""
    return eqs + bias_equations


def readout_forward_code(config: ExperimentConfig) -> str:
    return STEP_CODE + _flags(config) + """
o = I_syn + b
I_syn = 0
target = int(abs(i - sample_label(t)) < 0.5)
"""


def readout_error_code(config: ExperimentConfig, zo_baseline: bool, history: str = "",
                       settle_steps: int = 0) -> str:
    """``settle_steps`` > 0 (devices whose summed hops lag, docs/lanes/genn.md): the
    first ``settle_steps`` steps of a sample, whose readout and softmax the previous
    sample still drives, give no error, loss or readout sum."""
    if settle_steps:
        code = readout_error_code(config, zo_baseline)
        code = code.replace("\ndelta = ", f"\nvalid = int(k >= {settle_steps})\ndelta = valid*(", 1)
        code = code.replace("\nloss = ", "\nloss = valid*(", 1)
        lines = code.split("\n")
        for n, line in enumerate(lines):
            if line.startswith(("delta = valid*(", "loss = valid*(")):
                lines[n] = line + ")"
        code = "\n".join(lines)
        return code.replace("o_sum = o_sum*(1 - first) + o", "o_sum = o_sum*(1 - first) + valid*o") + history
    code = STEP_CODE + """
p = 1/softmax_denominator
delta = (1 - gamma)*(p - target) + gamma*(o - target)
loss = (1 - gamma)*target*log(softmax_denominator) + gamma*0.5*(o - target)**2
o_sum = o_sum*(1 - first) + o
loss_sum = loss_sum*(1 - first) + loss
sample_end = last
"""
    if zo_baseline:
        code += """
advantage = loss - loss_baseline
loss_baseline = loss_baseline + training*(1 - baseline_decay)*(loss - loss_baseline)
"""
    return code + history
