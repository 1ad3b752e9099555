"""Registrations of signed agreements with the SRE (or a state) registry."""
