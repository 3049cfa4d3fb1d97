"""radgrpo.serve."""
