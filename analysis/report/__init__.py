"""The DSMB interim reports: open and closed, HTML and PDF, from one output folder.

The report formats; it computes nothing. Everything printed is read from the output folder: the
processed tables, ``ard.parquet`` and the analyze step's tables beside it (``comparison_plan``,
``published_outcomes``, ``km_curves``, ``cif_curves``, ``comparison_notes.json``); a number the
ARD carries is never recomputed here, and no module of this package imports ``analysis.stats`` or
``analysis.derive`` or reads YAML (``tests/test_layers.py``). Modules:

- :mod:`~analysis.report.inputs` reads the output folder (tables, ARD, manifest, provenance);
- :mod:`~analysis.report.ardview` looks numbers up in the ARD; :mod:`~analysis.report.fmt` formats them;
- :mod:`~analysis.report.summaries` makes the descriptive tables (pure pandas: counts and listings);
- :mod:`~analysis.report.tables` (lean HTML tables) and :mod:`~analysis.report.figures` (matplotlib, SVG);
- :mod:`~analysis.report.sections` (building blocks, front matter), :mod:`~analysis.report.sections_open`
  (aggregate only) and, for the closed report, :mod:`~analysis.report.sections_safety`,
  :mod:`~analysis.report.sections_comparison`, :mod:`~analysis.report.sections_efficacy`,
  :mod:`~analysis.report.sections_stopping`, assembled by :mod:`~analysis.report.sections_closed`;
- :mod:`~analysis.report.render` fills the Jinja templates and writes HTML and PDF (WeasyPrint).
"""
