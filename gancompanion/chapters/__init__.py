"""What the chapters share and what each one owns.

``chapter`` is what every notebook does around its experiments (set-up, glue, claims, variants over seeds).
A chapter's own module holds its figures, experiments, the numbers they read, the sentences they are read
in and the tested check functions of its claims, with a further module for a large experiment: ``ch1``
(Chapter 1's probes' figures and readings), ``ch2`` (Chapter 2's experiments on disjoint supports and
Lipschitz critics), ``ch3`` (Chapter 3's figures), ``ch3_toy`` (Chapter 3's run of Roth et al.'s toy),
``ch4`` (Chapter 4's closed forms, figures and readings), ``ch5`` (Chapter 5's ablation of Salimans et al.'s
techniques), ``ch5_semisupervised`` (Chapter 5's semi-supervised learning), ``ch6`` (Chapter 6's tricks
against one baseline). ``checks`` holds what the checks share (the ``Verdict`` they return, NaN-safe
comparisons) and the checks several chapters use. A new chapter registers its claims and their verdict
functions in its own module.
"""
