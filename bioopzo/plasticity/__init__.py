"""Plasticity protocols against biological data (see the submodules' docstrings)."""
