"""radgrpo.data.tasks."""
