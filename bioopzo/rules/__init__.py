"""Learning rules: one module per rule, a registry by name."""

from bioopzo.config import RULE_NAMES, ConfigError, ExperimentConfig
from bioopzo.rules.base import FeedbackContext, LearningRule
from bioopzo.rules.bp import BPRule
from bioopzo.rules.dfa import DFARule
from bioopzo.rules.opzo import OPZORule
from bioopzo.rules.readout import ReadoutRule
from bioopzo.rules.zo import ZORule

RULES: dict[str, type[LearningRule]] = {
    cls.name: cls for cls in (OPZORule, BPRule, DFARule, ZORule, ReadoutRule)
}
assert set(RULES) == set(RULE_NAMES)


def make_rule(config: ExperimentConfig) -> LearningRule:
    """The rule object named by ``config.rule.name``."""
    try:
        return RULES[config.rule.name](config)
    except KeyError:
        raise ConfigError(
            f"unknown rule {config.rule.name!r}; choose one of {', '.join(RULES)}"
        ) from None


__all__ = ["RULES", "make_rule", "LearningRule", "FeedbackContext",
           "OPZORule", "BPRule", "DFARule", "ZORule", "ReadoutRule"]
