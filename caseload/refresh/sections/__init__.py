"""The report sections of the batch run: from analysis results to publication tables and figures.

One module per analysis (:mod:`.durations`, :mod:`.forecast`, :mod:`.segment`,
:mod:`.kpi`). Each turns the results of its analysis package into tables with Dutch
(or English) headers, methods and disclosure-control specs, and adds them and their
figures to a :class:`caseload.publish.Publication`. The analysis packages themselves
never import :mod:`caseload.config`, :mod:`caseload.refresh` or :mod:`caseload.publish`
(``tests/test_layering.py`` checks this); this layer reads the configuration and hands
the analyses plain values.
"""
