"""HTTP mechanisms every resource shares: pagination, ETags, CSV, request context, body limits."""
