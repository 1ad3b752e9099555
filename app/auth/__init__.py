"""Who is calling: API keys (Bearer), roles and the principal every service receives."""
