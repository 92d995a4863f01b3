"""The registry of rule names: one learning rule per module of ``bioopzo.rules``.

Every module of this package defines one rule, named after the module
(``opzo.py`` -> ``"opzo"``), except the shared modules in ``SHARED_MODULES``.
Adding a rule is adding a module. The names are read from the package's files,
without importing the rule modules, so that config.py can check a rule name
while the rule modules use the config: imports point one way, rule modules ->
config -> this module (which imports nothing of bioopzo). Rule objects are made
by name in :mod:`bioopzo.rules.registry`.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["RULE_NAMES", "SHARED_MODULES"]

#: modules of the package that are not rules
SHARED_MODULES = frozenset({"__init__", "base", "counting", "engine_terms", "names", "registry"})

#: every rule's name, in alphabetical order
RULE_NAMES: tuple[str, ...] = tuple(sorted(
    path.stem for path in Path(__file__).parent.glob("*.py") if path.stem not in SHARED_MODULES))
