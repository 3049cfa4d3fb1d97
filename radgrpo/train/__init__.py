"""radgrpo.train."""
