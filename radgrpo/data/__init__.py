"""radgrpo.data."""
