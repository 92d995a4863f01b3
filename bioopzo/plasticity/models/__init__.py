"""Plasticity models: synapse models run through the plasticity protocols and fitted to data.

One module per model, each with Brian2 synapse code and an exact NumPy form (``base``):

- ``stdp``: ``PairSTDP`` (exponential window) and ``TripletSTDP`` (Pfister & Gerstner 2006);
- ``clopath``: ``ClopathVoltage`` (Clopath et al. 2010, reduced membrane);
- ``opzo``: ``OPZOEligibility``, the OPZO three-factor synapse, plain (tau_e = 0) or with an
  eligibility trace;
- ``published``: the published parameter sets, as Brian2 quantities.

``PLASTICITY_MODELS`` maps the names of ``bioopzo plasticity --rule`` to factories;
``make_plasticity_model(name)`` builds one with its default parameters.
"""

from __future__ import annotations

from dataclasses import replace

from brian2 import ms

from bioopzo.plasticity.models.base import PlasticityModel
from bioopzo.plasticity.models.clopath import ClopathVoltage
from bioopzo.plasticity.models.opzo import OPZOEligibility
from bioopzo.plasticity.models.published import (clopath_parameters, pair_window_time_constants,
                                                 pfister_gerstner_parameters)
from bioopzo.plasticity.models.stdp import PairSTDP, TripletSTDP

__all__ = ["PlasticityModel", "PairSTDP", "TripletSTDP", "ClopathVoltage", "OPZOEligibility",
           "PLASTICITY_MODELS", "make_plasticity_model", "opzo_with_eligibility_trace",
           "pfister_gerstner_parameters", "pair_window_time_constants", "clopath_parameters"]


def opzo_with_eligibility_trace() -> OPZOEligibility:
    """The OPZO synapse with tau_e = 1 s, its trace time constant fitted too. scale: a 0.3 s modulator
    pulse at the pairing gives dw_rel of about +0.35 (kappa 4, tau_pre 20 ms)."""
    model = OPZOEligibility(name="opzo_eligibility").with_params(tau_e=1000.0 * ms, scale=1e-5)
    return replace(model, free=("scale", "tau_pre", "kappa", "tau_e"),
                   bounds=((-1.0, 1.0), (1.0 * ms, 200.0 * ms), (0.5, 40.0), (1.0 * ms, 20000.0 * ms)))


#: ``bioopzo plasticity --rule`` name -> factory of the model with its default parameters
PLASTICITY_MODELS = {
    "opzo": OPZOEligibility,
    "opzo_eligibility": opzo_with_eligibility_trace,
    "pair": PairSTDP,
    "triplet": TripletSTDP,
    "clopath": ClopathVoltage,
}


def make_plasticity_model(name: str) -> PlasticityModel:
    if name not in PLASTICITY_MODELS:
        raise KeyError(f"unknown plasticity model {name!r}; choose one of {', '.join(PLASTICITY_MODELS)}")
    return PLASTICITY_MODELS[name]()
