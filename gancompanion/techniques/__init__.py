"""The techniques: one module per kind of part that ``training.train`` composes (``training.parts``).

``d_terms`` (terms of D's loss: gradient penalties), ``constraints`` (weight clipping, spectral norm),
``noise`` (instance noise and its schedules), ``latent`` (latent steps), ``selections`` (top-k), ``layers``
(minibatch discrimination, virtual batch norm), ``improved`` (Salimans et al. 2016: feature matching,
historical averaging and their nets), ``ebgan`` (the energy-based GAN's objective and autoencoder).
"""
