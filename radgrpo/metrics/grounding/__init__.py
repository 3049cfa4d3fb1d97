"""radgrpo.metrics.grounding."""
