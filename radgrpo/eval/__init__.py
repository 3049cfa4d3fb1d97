"""radgrpo.eval."""
