"""The demo data set: real sister-city pairs (with sources) and clearly labelled synthetic actors."""
