"""The public dashboard: GET /v1/dashboard/summary and the server-rendered pages at /dashboard."""
