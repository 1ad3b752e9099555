"""Organizations: the actors that hold API keys."""
