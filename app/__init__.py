"""Pacta: the accountable registry of interinstitutional agreements."""
