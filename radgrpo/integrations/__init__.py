"""radgrpo inside other trainers: ``verl`` (verl's custom reward function, docs/training.md#verl).

Importing this package imports nothing of the trainers; each module is the entry point the trainer loads.
"""
