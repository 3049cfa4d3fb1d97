"""RadGraph model: archive reading, word tokenisation, the batched DyGIE network and decoding (own implementation).

Modules: ``preprocess`` (report -> words, spans), ``archive`` (config.json / vocabulary / weights.th layout, key
mapping, locating archives), ``model`` (:class:`~.model.RadGraphModel`, :class:`~.model.RadGraph`,
:func:`~.model.load_radgraph`), ``decode`` (the package's annotation dict), ``tiny`` (random archive with the public
layout). The F1 arithmetic and the scorer live in ``radgrpo.metrics.text.radgraph``. Nothing is imported here, so
importing the package stays cheap (torch loads with ``model``).
"""
