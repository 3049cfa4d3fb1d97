"""radgrpo.cli."""
