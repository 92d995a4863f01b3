"""Loihi-style op-cost analyzer: what on-chip training with each rule would cost."""
