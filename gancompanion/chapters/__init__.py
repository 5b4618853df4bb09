"""What the chapters share and what each one owns.

``chapter`` is what every notebook does around its experiments (set-up, glue, claims, variants over
seeds). ``chN`` is chapter N's own module (its figures, experiments and the numbers they read), with a
further ``chN_<topic>`` for a large experiment; ``checks`` holds the verdict functions of the claims.
"""
