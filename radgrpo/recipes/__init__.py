"""Recipes: whole pipelines built from the stage packages (data, models, train, eval), one sub-package each.

A recipe holds its config, its stages in order and what it tells the reader; the command that runs it
(``radgrpo demo``) only parses flags, calls the recipe's ``run_*`` function and prints. Layer: above ``train`` and
``eval``, below ``cli`` and ``serve``.

- :mod:`radgrpo.recipes.demo`: SFT -> GRPO -> evaluation -> paired tests on a tiny model and synthetic data.
"""
