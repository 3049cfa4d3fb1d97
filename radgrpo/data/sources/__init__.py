"""radgrpo.data.sources."""
