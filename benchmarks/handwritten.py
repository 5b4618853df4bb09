"""A minimal hand-written PyTorch loop for the benchmark toy: the yardstick gancompanion is timed against.

The same model and step as gancompanion's toy: G 2->128->128->2 and D 2->128->128->1 (tanh),
batch 512, Adam(lr 1e-3, betas (0.5, 0.999)), a fresh ring-of-8 batch and fresh latents each step,
one D update then one G update that reuses the D step's generator forward pass. Written the way
a reader would write it from a tutorial: ``nn.Sequential`` of ``nn.Linear``, no tricks.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def mlp(sizes, act=nn.Tanh):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


class HandWritten:
    """``step()`` runs one D update and one G update; ``variant`` is "plain", "roth" or "wgan_gp"."""

    def __init__(self, variant: str = "plain", batch: int = 512, width: int = 128, seed: int = 0,
                 gamma: float = 0.1, lam: float = 1.0):
        torch.manual_seed(seed)
        self.variant, self.batch, self.gamma, self.lam = variant, batch, gamma, lam
        self.g = mlp([2, width, width, 2])
        self.d = mlp([2, width, width, 1])
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=1e-3, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=1e-3, betas=(0.5, 0.999))
        a = torch.arange(8) * (2 * math.pi / 8)
        self.centers = torch.stack([a.cos(), a.sin()], 1)

    def real(self):
        idx = torch.randint(8, (self.batch,))
        return self.centers[idx] + 0.01 * torch.randn(self.batch, 2)

    def step(self):
        x, z = self.real(), torch.randn(self.batch, 2)
        fake = self.g(z)
        # D step
        if self.variant == "plain":
            lr, lf = self.d(x), self.d(fake.detach())
            d_loss = F.softplus(-lr).mean() + F.softplus(lf).mean()
        elif self.variant == "roth":
            xr, xf = x.requires_grad_(True), fake.detach().requires_grad_(True)
            lr, lf = self.d(xr), self.d(xf)
            d_loss = F.softplus(-lr).mean() + F.softplus(lf).mean()
            gr, = torch.autograd.grad(lr.sum(), xr, create_graph=True)
            gf, = torch.autograd.grad(lf.sum(), xf, create_graph=True)
            dr, df = torch.sigmoid(lr), torch.sigmoid(lf)
            omega = ((1 - dr) ** 2 * gr.pow(2).sum(1, keepdim=True)).mean() + \
                    (df ** 2 * gf.pow(2).sum(1, keepdim=True)).mean()
            d_loss = d_loss + 0.5 * self.gamma * omega
        else:  # wgan_gp
            lr, lf = self.d(x), self.d(fake.detach())
            d_loss = lf.mean() - lr.mean()
            eps = torch.rand(self.batch, 1)
            xh = (eps * x + (1 - eps) * fake.detach()).requires_grad_(True)
            gh, = torch.autograd.grad(self.d(xh).sum(), xh, create_graph=True)
            d_loss = d_loss + self.lam * (gh.pow(2).sum(1).add(1e-12).sqrt() - 1).pow(2).mean()
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        # G step
        for p in self.d.parameters():
            p.requires_grad_(False)
        lg = self.d(fake)
        g_loss = -lg.mean() if self.variant == "wgan_gp" else F.softplus(-lg).mean()
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()
        for p in self.d.parameters():
            p.requires_grad_(True)
