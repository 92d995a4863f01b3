"""Plasticity protocols against biological data.

- ``protocols``: conditions (forced pre/post spike times, modulator pulses, voltage clamp) and the
  one-run Brian2 simulation of all conditions of a data set (runtime device, numpy target, dt 0.1 ms);
- ``models``: the plasticity models (pair STDP, Pfister & Gerstner 2006 triplet, Clopath 2010
  voltage rule, the OPZO three-factor synapse and its eligibility-trace variant), each as Brian2 code
  and an exact NumPy form, with parameters in Brian2 units; registry ``PLASTICITY_MODELS``;
- ``quantities``: unit checks and the conversion of quantities to plain numbers;
- ``schema``: the strict data-file schema (columns, units, the protocols a file states);
- ``datasets``: the packaged data (``data/``, citations in its README) and user CSVs, both read by
  the schema;
- ``fitting``, ``scores``, ``evaluate``: fits (scipy), RMSE / NMSE / R^2 / within error bars,
  leave-one-dataset-out, third-factor and voltage-clamp checks;
- ``uncertainty``: standard errors of fitted parameters and on_bound / unconstrained flags;
- ``comparison``: AIC, AICc, BIC and leave-one-out prediction per rule;
- ``figures``: matplotlib ``Figure`` objects; ``command``: ``bioopzo plasticity``.

Each module's docstring states the equations it implements.
"""
