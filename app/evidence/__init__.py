"""Evidence documents: uploaded, hashed, reviewed, served with their hash."""
