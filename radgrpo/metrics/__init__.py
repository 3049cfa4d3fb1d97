"""radgrpo.metrics: pure scoring functions shared by evaluation and rewards.

Subpackages: ``grounding`` (IoU, Hungarian matching, soft-F1, RadVLM mAP), ``text`` (BLEU, GLEU, ROUGE-L and the
model-backed report metrics), plus ``bootstrap`` (percentile CIs, ``MetricResult``), ``registry`` (name ->
``MetricSpec``) and ``loaders`` (scoring-model resolution). Importing this package is cheap: no torch, no
transformers, no submodule is imported here. Never imports ``radgrpo.data`` or ``radgrpo.models``
(``tests/test_layering.py``).
"""
