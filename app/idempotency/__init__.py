"""Idempotency-Key on every POST, stored in PostgreSQL so it holds across processes."""
