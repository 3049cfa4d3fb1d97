"""radgrpo.eval.report."""
