"""Analyses for papers about OPZO and noise-driven credit assignment.

One module per concept; each ``run(...)`` returns a result object whose
``write(folder)`` saves a CSV table, a PNG figure and a JSON record (resolved
config, arguments, versions, which implementation produced the numbers), all
atomically, and whose ``headline()`` is the text the scripts print.

- :mod:`estimators`  per-sample gradient estimates of every rule (bp, zo, pzo, opzo,
  dfa) and same-step Jacobian estimates from one forward pass of reference.py
- :mod:`training`    reference.py training loop (batch 1: step for step the Brian2
  model) with checkpoints, and the Brian2 (bioopzo.train) alternative
- :mod:`variance`    analysis 1: gradient-estimate variance per layer (Prop. 4.1)
- :mod:`alignment`   analysis 2: cosine of each rule's update with the BP gradient
- :mod:`jacobian`    analysis 3: cosine of M_l with the data-averaged Jacobian; its bias
- :mod:`noise`       analysis 4: accuracy against noise distribution, site, scale, antithetic
- :mod:`momentum`    analysis 5: accuracy and stability against rho
- :mod:`depth`       analysis 6: OPZO, BP and DFA with 1, 2 and 3 hidden layers
- :mod:`output`      tables, figures and records of each analysis;  :mod:`command`  ``bioopzo analyze``
"""
