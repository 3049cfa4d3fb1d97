"""eval.compare names its paired metrics from the one metric table."""


def test_paired_metrics_are_the_metric_tables_results_and_columns():
    # one table names metrics: every paired metric is a result name of radgrpo.metrics.registry, computed from the
    # per-sample column of a mean metric or from the row fields of a corpus metric of that table
    from radgrpo.eval.compare import PAIRED_METRICS
    from radgrpo.metrics.registry import METRICS

    results = {r: spec for spec in METRICS.values() for r in (spec.results or (spec.name,))}
    for name, pm in PAIRED_METRICS.items():
        assert name in results, name
        spec = results[name]
        if spec.aggregation == "mean":
            assert pm.columns == (spec.name,), name
        else:
            assert set(pm.columns) <= set(spec.row_fields), name
