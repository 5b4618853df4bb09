"""From notebooks to the book: ``claims`` (the claims registry and ledger), ``scales`` (what smoke, book
and paper mean), ``runner`` (executing the chapters), ``sweep`` (chapters over seeds and parameters),
``book`` (the Jupyter Book build), ``pagebox`` and ``mirrors`` (each page's "Run this page" box and its
launchable notebook), ``notebook_prose`` (a chapter's prose rewritten for a notebook reader), ``cli`` (the ``gancompanion`` command)."""
