"""Agreements: the registry's core resource, with status derived from the facts."""
