"""What the chapters share and what each one owns.

``chapter`` is what every notebook does around its experiments (set-up, glue, claims, variants over seeds).
A chapter's own module holds its figures, experiments, the numbers they read and the sentences they are read
in, with a further module for a large experiment: ``ch1`` (Chapter 1's figures and readings), ``ch2``
(Chapter 2's experiments on disjoint supports and Lipschitz critics), ``ch3`` (Chapter 3's figures),
``ch3_toy`` (Chapter 3's run of Roth et al.'s toy), ``ch5`` (Chapter 5's ablation of Salimans et al.'s
techniques), ``ch5_semisupervised`` (Chapter 5's semi-supervised learning), ``ch6`` (Chapter 6's tricks
against one baseline). ``checks`` holds the verdict functions of the claims of Chapters 1, 3 and 4; a new
chapter registers its claims and their verdict functions in its own module.
"""
