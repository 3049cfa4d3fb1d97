"""radgrpo.rewards."""
