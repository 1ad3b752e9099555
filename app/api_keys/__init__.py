"""API keys of an organization: issued with a role, shown once, stored as hashes, revocable."""
