"""radgrpo.eval.report: the static HTML evaluation report (tables with CIs, charts, drawn boxes, sample texts).

``write_report`` lays out :class:`radgrpo.eval.summarize.RunResults` of one or more runs; ``write_report_from_dirs``
does the same from ``radgrpo eval`` output folders. Pictures come from :mod:`radgrpo.eval.report.plots`.
"""

from radgrpo.eval.report.html import load_run_dir, write_report, write_report_from_dirs

__all__ = ["load_run_dir", "write_report", "write_report_from_dirs"]
