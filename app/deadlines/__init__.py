"""Deadlines municipal staff must not miss: expirations, milestones, registrations, activities."""
