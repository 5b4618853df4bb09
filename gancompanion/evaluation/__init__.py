"""Measuring what a GAN learnt: ``metrics`` (sample quality on the toys), ``classifier`` (digits
classifier scores), ``probes`` (the perfect-discriminator probes of Arjovsky & Bottou 2017), ``verdicts`` (a claim's
effect, its interval over seeds and the three outcomes)."""
