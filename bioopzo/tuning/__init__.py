"""Fair rule comparisons: learning rates tuned per rule on a validation split, then every
rule over seeds on the test set with paired differences; both run as sweeps.

- :mod:`bioopzo.tuning.studies`: :func:`tune` and :func:`compare` (``bioopzo tune``,
  ``bioopzo compare``; their folders and tables).
- :mod:`bioopzo.tuning.scores`: :func:`best_rate` and :func:`paired_difference`.
- :mod:`bioopzo.tuning.command`: the two subcommands.
"""

from bioopzo.tuning.scores import best_rate, paired_difference
from bioopzo.tuning.studies import DEFAULT_FACTORS, TuningResult, compare, tune

__all__ = ["tune", "compare", "TuningResult", "best_rate", "paired_difference", "DEFAULT_FACTORS"]
