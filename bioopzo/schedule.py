"""The order of the model's code within one step (DESIGN.md section 3).

Every code block runs in Brian2's ``start`` slot, ``order`` increasing down
this list; the parameters' differential equations (biases, and the weights of
the step schedule) then run in the ``groups`` slot:

    ORDER_BIASES .. ORDER_SAMPLE_UPDATES   accumulated schedules, once per sample, before
                      the new sample's first step: the biases' updates (ORDER_BIASES), the
                      credit E of the postsynaptic groups (ORDER_CREDIT), the presynaptic
                      once-per-sample events (ORDER_REPLAY_EVENTS), their pathways in step
                      order (ORDER_REPLAY + k for step k of the sample), the dense updaters
                      (ORDER_SAMPLE_UPDATES)
    ORDER_INPUT       x_0[t] and trace a_0 of the inputs
    ORDER_NOISE, ORDER_NOISE_NORM   sphere noise: gaussian draw, its squared norm
    ORDER_INPUT_EVENTS   the inputs' ``active`` event (x_0 != 0)
    layer_order(l)    l = 1..L: S_l ``transmit`` (I_syn += w x_pre), then + 1 layer l's
                      forward code, + 2 its transmit event; l = L + 1: the readout (S_o,
                      o = I_syn + b, softmax denominator, error e)
    layer_order(L+2)  feedback: per rule, g_l summed from its pathway (+ 2 rank), then
                      delta_l = psi_l g_l (+ 2 rank + 1); rank l (parallel) or L - 1 - l
                      (top-down)

In the ``end`` slot, after every block of the step, the in-place sample
histories (neurons.py): the ``slot{k}`` events' thresholders at
ORDER_HISTORY_SLOTS, their code (``{prefix}_k = value``) at ORDER_HISTORY_SLOTS + 1.

The once-per-sample updates run on a sample clock of period T dt; a sample has
at most ``MAX_STEPS_PER_SAMPLE`` steps so that its pathways' orders stay
below ORDER_SAMPLE_UPDATES.
"""

from __future__ import annotations

from bioopzo.devices.brian2_compat import set_runner_clock

__all__ = ["ORDER_INPUT", "ORDER_NOISE", "ORDER_NOISE_NORM", "ORDER_INPUT_EVENTS",
           "ORDER_BIASES", "ORDER_CREDIT", "ORDER_REPLAY_EVENTS", "ORDER_REPLAY",
           "ORDER_SAMPLE_UPDATES", "ORDER_HISTORY_SLOTS", "MAX_STEPS_PER_SAMPLE", "layer_order", "no_delays",
           "run_once_per_sample", "schedule_sample_updates", "schedule_summed"]

ORDER_INPUT = 0
ORDER_NOISE = 1
ORDER_NOISE_NORM = 2
ORDER_INPUT_EVENTS = 3
ORDER_BIASES = -4000
ORDER_CREDIT = -3000
ORDER_REPLAY_EVENTS = -2000
ORDER_REPLAY = -1000            # + step k of the sample
ORDER_SAMPLE_UPDATES = -10
ORDER_HISTORY_SLOTS = 0         # in the ``end`` slot
#: steps per sample the once-per-sample updates allow (their pathways' orders
#: ORDER_REPLAY + k stay below ORDER_SAMPLE_UPDATES)
MAX_STEPS_PER_SAMPLE = -ORDER_REPLAY - 10


def layer_order(l: int) -> int:
    """Order of S_l's transmit; l = 1..L, L + 1 for the readout, L + 2 for the feedback."""
    return 10 * l


def no_delays(pathways) -> dict:
    """Synapses keyword ``delay``: every pathway without delay, as one scalar each
    (without it Brian2 keeps a per-synapse delay array for every pathway, which
    the standalone binary allocates, reads and writes at each run)."""
    from brian2 import second

    return {name: 0 * second for name in pathways}


def run_once_per_sample(runner, clock, order: int) -> None:
    """Move a Brian2 code runner (a pathway, a thresholder, a state updater) onto the
    sample clock ``clock`` (period T dt), in the ``start`` slot at ``order``."""
    set_runner_clock(runner, clock)
    runner.when = "start"
    runner.order = order


def schedule_sample_updates(synapses, pathways: tuple = ()) -> None:
    """Run a once-per-sample weight update before everything else in the step
    that starts the next sample (the histories still hold the last sample).

    ``pathways`` names the Synapses' once-per-sample pathways (updates.py): they
    move from their source's clock onto the Synapses' own (period T dt), so that
    they push and run once per sample, in step order, before the dense updater."""
    updater = getattr(synapses, "state_updater", None)
    if updater is not None:
        updater.when = "start"
        updater.order = ORDER_SAMPLE_UPDATES
    for name in pathways:
        step = name.removeprefix("replay")
        run_once_per_sample(getattr(synapses, name), synapses.clock,
                            ORDER_REPLAY + (int(step) if step.isdigit() else 0))


def schedule_summed(synapses, variable: str, order: int) -> None:
    """Move the summed-variable updater of ``variable`` into the ``start`` slot at ``order``."""
    updater = synapses.summed_updaters[variable]
    updater.when = "start"
    updater.order = order
