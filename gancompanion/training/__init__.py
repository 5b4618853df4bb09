"""The training core: one loop composed of small parts, and what it runs on.

``train`` (the loop, ``d_step``, ``g_step``, checkpoints), ``parts`` (the kinds of part and what each
sees), ``objectives`` (GAN losses), ``streams`` (random streams per run, class-conditional ones too),
``nets`` (seed-batched MLPs, their class-conditional wrapper and a DCGAN), ``batching`` (variants that differ only in numbers, as the runs of one model), ``lr_schedule``
(learning-rate schedules, one per run where asked), ``allocator`` (keeping a step's freed memory for the next).
"""
