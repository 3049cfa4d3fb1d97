"""radgrpo.data.export."""
