"""radgrpo.models."""
