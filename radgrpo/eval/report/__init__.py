"""radgrpo.eval.report: the self-contained HTML evaluation report (paper tables with significance marks, metric
tables with CIs, training curves, a browser over every sample with drawn boxes and text differences).

``write_report`` lays out :class:`radgrpo.eval.summarize.RunResults` of one or more runs; ``write_report_from_dirs``
does the same from ``radgrpo eval`` output folders (the demo), ``write_report_from_runs`` from ``FOLDER`` /
``NAME=FOLDER`` specs with the test records and training runs found from each folder's ``config.yaml``
(``radgrpo report``). Tables: :mod:`radgrpo.eval.report.tables`; pictures: :mod:`radgrpo.eval.report.plots`; the
browser's data: :mod:`radgrpo.eval.report.browser`; what is read from disk: :mod:`radgrpo.eval.report.runs`.
"""

from radgrpo.eval.report.html import load_run_dir, write_report, write_report_from_dirs, write_report_from_runs

__all__ = ["load_run_dir", "write_report", "write_report_from_dirs", "write_report_from_runs"]
