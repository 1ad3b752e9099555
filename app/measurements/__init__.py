"""Measurements: cumulative levels of a target, reported with evidence, verified by the signatory."""
