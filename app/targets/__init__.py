"""Targets: verifiable indicators with 6/12/24-month milestones, evaluated from verified measurements."""
