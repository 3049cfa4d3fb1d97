"""radgrpo.metrics."""
