"""SVG badges a portal shows beside its agreements."""
