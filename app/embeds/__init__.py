"""Widgets a municipal portal frames: the only pages of the site that may be framed."""
