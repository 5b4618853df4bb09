"""Closed forms that need no training: ``divergences`` (KL, JS, TV, smoothed by noise), ``transport``
(the earth mover's distance as a linear program), ``dirac`` (the Dirac-GAN of Mescheder et al. 2018),
``minibatch_divergences`` (Huszar 2016's divergences between minibatches)."""
