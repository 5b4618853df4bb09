"""The benchmark toy expressed in each PyPI peer, run through the peer's own per-iteration code.

Imported only inside the separate benchmark environment (``.venv-bench``, see ``benchmarks/README.md``).
Each ``make_<peer>(variant, batch, width, seed)`` returns ``step()``, one iteration of the peer's
trainer (one D update, one G update) on a fresh ring-of-8 batch, with the same networks as the
hand-written loop (G 2->w->w->2, D 2->w->w->1, tanh; Adam lr 1e-3, betas (0.5, 0.999)). We call
the trainers' per-iteration methods directly and skip their epoch, data-loader, logging and
checkpoint loops, which would only add to their time. ``EXPRESSIBLE`` records what each peer can
and cannot express, and why.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import tempfile
import types

import torch
from torch import nn

ADAM = dict(lr=1e-3, betas=(0.5, 0.999))

# (peer, variant) -> None if the peer runs the same step, else why it cannot or runs a different one
EXPRESSIBLE = {
    ("torchgan", "plain"): None,
    ("torchgan", "roth"): "no Roth et al. regulariser in torchgan",
    ("torchgan", "wgan_gp"): "different step: its WassersteinGradientPenalty is a separate D update (a second "
                             "optimiser step per iteration, G run again) on the whole batch's gradient norm, "
                             "so it is not counted against the targets",
    ("vegans", "plain"): None,
    ("vegans", "roth"): "no Roth et al. regulariser in vegans",
    ("vegans", "wgan_gp"): None,
    ("mimicry", "plain"): None,
    ("mimicry", "roth"): "no Roth et al. regulariser in torch-mimicry",
    ("mimicry", "wgan_gp"): "torch-mimicry's gradient penalty reshapes to (N, 3, H, W) images; a 2-D toy cannot use it",
}


def _mlp(sizes, out_act=None):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.Tanh())
    if out_act is not None:
        layers.append(out_act)
    return nn.Sequential(*layers)


class Ring:
    def __init__(self, batch):
        a = torch.arange(8) * (2 * math.pi / 8)
        self.centers, self.batch = torch.stack([a.cos(), a.sin()], 1), batch

    def __call__(self):
        return self.centers[torch.randint(8, (self.batch,))] + 0.01 * torch.randn(self.batch, 2)


def make_torchgan(variant, batch, width, seed):
    import torchgan.losses as L
    from torchgan.models import Discriminator, Generator
    from torchgan.trainer import Trainer

    class G(Generator):
        def __init__(self):
            super().__init__(encoding_dims=2, label_type="none")
            self.net = _mlp([2, width, width, 2])

        def forward(self, z):
            return self.net(z)

    class D(Discriminator):
        def __init__(self):
            super().__init__(input_dims=2, label_type="none")
            self.net = _mlp([2, width, width, 1])

        def forward(self, x):
            return self.net(x).squeeze(-1)

    torch.manual_seed(seed)
    models = {"generator": {"name": G, "optimizer": {"name": torch.optim.Adam, "args": ADAM}},
              "discriminator": {"name": D, "optimizer": {"name": torch.optim.Adam, "args": ADAM}}}
    if variant == "plain":
        losses = [L.MinimaxGeneratorLoss(), L.MinimaxDiscriminatorLoss()]
    else:
        losses = [L.WassersteinGeneratorLoss(), L.WassersteinDiscriminatorLoss(), L.WassersteinGradientPenalty(lambd=1.0)]
    tmp = tempfile.mkdtemp(prefix="torchgan-bench-")  # its Trainer insists on checkpoint and image folders
    trainer = Trainer(models, losses, device=torch.device("cpu"), sample_size=8, checkpoints=f"{tmp}/gan",
                      recon=f"{tmp}/images")
    trainer.batch_size = batch
    ring = Ring(batch)

    def step():  # the body of torchgan's BaseTrainer.train() for one batch
        trainer.real_inputs = ring()
        lgen, ldis, gen_iter, dis_iter = trainer.train_iter()
        info = trainer.loss_information
        info["generator_losses"] += lgen
        info["discriminator_losses"] += ldis
        info["generator_iters"] += gen_iter
        info["discriminator_iters"] += dis_iter

    return step


def make_vegans(variant, batch, width, seed):
    from vegans import VanillaGAN, WassersteinGANGP

    torch.manual_seed(seed)
    g = _mlp([2, width, width, 2])
    kwargs = dict(x_dim=2, z_dim=2, optim=torch.optim.Adam, optim_kwargs={"Generator": ADAM, "Adversary": ADAM},
                  folder=None, device="cpu", ngpu=0)
    if variant == "plain":
        gan = VanillaGAN(g, _mlp([2, width, width, 1], nn.Sigmoid()), **kwargs)
    else:
        gan = WassersteinGANGP(g, _mlp([2, width, width, 1]), lmbda_grad=1.0, **kwargs)
    gan.train()
    ring = Ring(batch)

    def step():  # the body of vegans' AbstractGenerativeModel.fit() for one batch
        X = ring()
        Z = gan.sample(n=len(X))
        for name in gan.neural_nets:
            for _ in range(gan.steps[name]):
                gan._losses = gan.calculate_losses(X_batch=X, Z_batch=Z, who=name)
                gan._zero_grad(who=name)
                gan._backward(who=name)
                gan._step(who=name)

    if not hasattr(gan, "steps"):
        gan.steps = {name: 1 for name in gan.neural_nets}
    return step


def _import_mimicry():
    """Import torch-mimicry's nets and metric log without its package __init__, which imports
    TensorFlow (metrics), ``torch._six`` (datasets, gone since torch 2.0) and tensorboard (training)."""
    if "torch_mimicry.nets" in sys.modules:
        return
    root = importlib.util.find_spec("torch_mimicry").submodule_search_locations[0]
    for name in ("torch_mimicry", "torch_mimicry.training"):
        pkg = types.ModuleType(name)
        pkg.__path__ = [root if name == "torch_mimicry" else root + "/training"]
        sys.modules[name] = pkg


def make_mimicry(variant, batch, width, seed):
    _import_mimicry()
    from torch_mimicry.nets.gan import gan
    from torch_mimicry.training import metric_log

    class G(gan.BaseGenerator):
        def __init__(self):
            super().__init__(nz=2, ngf=width, bottom_width=1, loss_type="ns")
            self.net = _mlp([2, width, width, 2])

        def forward(self, z):
            return self.net(z)

    class D(gan.BaseDiscriminator):
        def __init__(self):
            super().__init__(ndf=width, loss_type="ns")
            self.net = _mlp([2, width, width, 1])

        def forward(self, x):
            return self.net(x)

    torch.manual_seed(seed)
    net_g, net_d = G(), D()
    opt_g, opt_d = torch.optim.Adam(net_g.parameters(), **ADAM), torch.optim.Adam(net_d.parameters(), **ADAM)
    ring, device = Ring(batch), torch.device("cpu")

    def step():  # the body of torch-mimicry's Trainer.train() for one iteration, n_dis = 1
        log_data = metric_log.MetricLog()
        real_batch = (ring(), None)
        log_data = net_d.train_step(real_batch=real_batch, netG=net_g, optD=opt_d, log_data=log_data,
                                    global_step=0, device=device)
        net_g.train_step(real_batch=real_batch, netD=net_d, optG=opt_g, global_step=0, log_data=log_data,
                         device=device)

    return step


MAKERS = {"torchgan": make_torchgan, "vegans": make_vegans, "mimicry": make_mimicry}
