"""The ``radgrpo`` command line: :mod:`radgrpo.cli.main` dispatches, one module per command does the rest.

Every command follows one rule: ``cli/<command words>.py`` (``data_synth.py`` for ``radgrpo data synth``,
``models_build_tiny.py`` for ``radgrpo models build-tiny``) parses the flags into its config, calls one function of
its stage package (``radgrpo.eval.run.run_eval``, ``radgrpo.recipes.demo.run_demo`` ...) and prints; its ``main(argv)``
returns the exit code. Shared print or help code sits in a helper module (``train_help.py`` for ``sft`` and
``grpo``). Nothing outside this package (and ``tests/cli/``) imports it: the work lives below.
"""
