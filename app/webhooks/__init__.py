"""Webhooks: subscriptions, a transactional outbox, and a worker that delivers signed events."""
