"""radgrpo.metrics.text."""
