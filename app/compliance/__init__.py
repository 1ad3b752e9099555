"""Compliance: findings evaluated in SQL over the whole registry, for auditors."""
