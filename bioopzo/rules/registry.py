"""Rule objects by name: each module named in :data:`bioopzo.rules.names.RULE_NAMES`
is imported and its rule class (the :class:`~bioopzo.rules.base.LearningRule`
subclass it defines whose ``name`` is the module's name) registered.

    RULES           name -> rule class, for every rule
    COUNTED_RULES   the rules the cost analyzer counts (their ``counted`` attribute)
    rule_class      the class of a name (an unknown name is a ConfigError naming the known ones)
    make_rule       the rule object of a config
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from bioopzo.errors import ConfigError
from bioopzo.rules.base import LearningRule
from bioopzo.rules.names import RULE_NAMES

if TYPE_CHECKING:
    from bioopzo.config import ExperimentConfig

__all__ = ["RULES", "COUNTED_RULES", "rule_class", "make_rule"]


def _defined_rule(name: str) -> type[LearningRule]:
    module = importlib.import_module(f"{__package__}.{name}")
    found = [obj for obj in vars(module).values()
             if isinstance(obj, type) and issubclass(obj, LearningRule)
             and obj.__module__ == module.__name__ and obj.name == name]
    if len(found) != 1:
        raise TypeError(f"{module.__name__} must define one LearningRule subclass with "
                        f"name = {name!r}; found {len(found)}")
    return found[0]


RULES: dict[str, type[LearningRule]] = {name: _defined_rule(name) for name in RULE_NAMES}

COUNTED_RULES: tuple[str, ...] = tuple(name for name, cls in RULES.items() if cls.counted)


def rule_class(name: str) -> type[LearningRule]:
    """The rule class called ``name``."""
    try:
        return RULES[name]
    except KeyError:
        raise ConfigError(f"unknown rule {name!r}; choose one of {', '.join(RULES)}") from None


def make_rule(config: ExperimentConfig) -> LearningRule:
    """The rule object named by ``config.rule.name``."""
    return rule_class(config.rule.name)(config)
