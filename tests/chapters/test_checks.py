"""The shared checks fail on what they must fail on: NaN is never dropped; the catalogue and the notebooks
say the same thing; the checks of Chapters 2 and 5 fail when the technique is removed.

Mutation style: each test feeds a check the numbers a broken computation would give and asserts FAIL, next
to the right numbers and PASS. The checks of Chapters 1, 3 and 4 are tested in ``test_ch1.py``,
``test_ch3.py`` and ``test_ch4.py``.
"""

import math
import re
from pathlib import Path

import numpy as np
import pytest

from gancompanion.chapters import ch2, ch5, checks
from gancompanion.pipeline import claims

NAN = float("nan")
ROOT = Path(__file__).resolve().parents[2]


# --- helpers: NaN is never dropped ---------------------------------------------------------------

@pytest.mark.parametrize("values", [{1: NAN, 2: 500.0}, {1: 500.0, 2: NAN}, [NAN], np.array([200.0, NAN])])
def test_nan_in_any_position_fails_every_bound(values):
    assert not checks.all_at_least(values, 100) and not checks.all_below(values, 1e9)
    assert not checks.all_above(values, 0) and not checks.all_at_most(values, 1e9)
    assert math.isnan(checks.worst(values)) and math.isnan(checks.least(values))


def test_python_max_drops_nan_which_is_why_the_checks_never_use_it():
    assert max(0.0, NAN) == 0.0 and max([200.0, NAN]) == 200.0 and min([200.0, NAN]) == 200.0


def test_no_values_is_no_pass():
    assert not checks.all_at_least({}, 0) and not checks.all_below([], 1)


# --- the catalogue and the notebooks say the same thing --------------------------------------------

def _spellings(v):
    if isinstance(v, (tuple, list)):
        return None
    if isinstance(v, str):  # a rule stated in words, e.g. "4 / spacing"
        return {v}
    forms = {f"{v:g}", f"{v:g}".replace("e-0", "e-"), f"{v:.0e}".replace("e-0", "e-")}
    if 0 < v < 1:
        forms |= {f"{v:.0%}", f"1/{round(1 / v)}"}
    if float(v).is_integer():
        forms |= {str(int(v)), f"{int(v):,}"}
    return forms


def test_every_threshold_is_stated_in_its_claims_check():
    for c in claims.CATALOGUE.values():
        for name, value in c.threshold.items():
            values = value if isinstance(value, (tuple, list)) else (value,)
            for v in values:
                assert any(form in c.check for form in _spellings(v)), \
                    f"{c.id}: threshold {name} = {v!r} is not stated in its check: {c.check!r}"


def test_noise_keeps_gradient_states_its_sigma():
    c = claims.CATALOGUE["ch1.noise-keeps-gradient"]
    assert f"sigma = {c.threshold['noise_scale']:g} Delta" in c.check


def _claim_cells(chapter):
    text = (ROOT / "notebooks" / f"{chapter}.md").read_text()
    cells = re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, re.S)
    return [cell for cell in cells if "ch.report(" in cell or "claims.report(" in cell]


@pytest.mark.parametrize("chapter", sorted({c.chapter for c in claims.CATALOGUE.values()}))
def test_claim_cells_read_the_registry_and_never_drop_nan(chapter):
    if not (ROOT / "notebooks" / f"{chapter}.md").exists():
        pytest.skip(f"{chapter} is not written yet")
    cells = _claim_cells(chapter)
    assert cells, f"{chapter}: no cell reports a claim"
    for cell in cells:
        assert "claims.report(" not in cell, f"{chapter}: a chapter reports through ch.report only:\n{cell}"
        assert not re.search(r"\b(max|min)\([^()]*\.values\(\)\)", cell), f"{chapter}: Python max/min drop NaN:\n{cell}"
        assert not re.search(r"\bmax\(0(\.0)?,", cell), f"{chapter}: a running max(0.0, x) drops NaN:\n{cell}"


def test_every_claim_names_a_figure_its_chapter_glues():
    for c in claims.CATALOGUE.values():
        source = ROOT / "notebooks" / f"{c.chapter}.md"
        if c.figure and source.exists():
            assert re.search(rf"^:name: {re.escape(c.figure)}$", source.read_text(), re.M), \
                f"{c.id}: figure {c.figure!r} is not a :name: in {source.name}"


# --- every check can be seen to fail: break what the claim guards, the check no longer passes ----------


def _hinge_discriminator(spectral_norm: bool, steps: int = 100, seeds=(0, 1, 2)):
    """A seed-batched hinge-loss discriminator trained on the grid against Gaussian noise; its largest
    input-gradient norm on [-6, 6]^2 and its estimate's lag, as Chapter 2 measures them."""
    import torch

    from gancompanion.techniques import constraints
    from gancompanion import data
    from gancompanion.training import nets

    torch.manual_seed(0)
    d = nets.mlp_discriminator(2, [64, 64], list(seeds))
    if spectral_norm:
        constraints.SpectralNorm(1).prepare(d)
    opt = torch.optim.Adam(d.parameters(), lr=1e-3, betas=(0.5, 0.999))
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        real, fake = data.grid().sample((len(seeds), 128), g), torch.randn(len(seeds), 128, 2, generator=g)
        loss = (torch.relu(1 - d(real)).mean(-1) + torch.relu(1 + d(fake)).mean(-1)).sum()
        opt.zero_grad(), loss.backward(), opt.step()
    d.eval()
    x = (torch.rand(len(seeds), 4096, 2, generator=g) * 12 - 6).requires_grad_(True)
    (grad,) = torch.autograd.grad(d(x).sum(), x)
    return grad.norm(dim=-1).amax(-1).numpy(), constraints.sn_lag(d).numpy()


def test_sn_lipschitz_fails_without_spectral_normalisation(one_thread):
    grad_max, lag = _hinge_discriminator(spectral_norm=True)
    assert ch2.sn_lipschitz(grad_max, lag).passed
    grad_max, lag = _hinge_discriminator(spectral_norm=False)
    assert np.all(lag == 1.0)  # no normalised layer: no allowance
    v = ch2.sn_lipschitz(grad_max, lag)
    assert not v.passed and max(g / l for g, l in zip(v.values["grad_max"], v.values["lag"])) > 1
    assert not ch2.sn_lipschitz([0.5, NAN], [1.0, 1.0]).passed


def _smoothing(objective=None, real_target=0.9):
    from gancompanion.chapters import ch5
    from gancompanion import data
    from gancompanion.pipeline import scales

    cfg = scales.settings("ch5.smoothing", "smoke")  # the chapter's smallest run
    return ch5.smoothing_probe(cfg, data.ring(), [0, 1], real_target, "cpu", progress=False,
                                    objective=objective)


def test_label_smoothing_check_fails_two_sided_and_without_smoothing(one_thread):
    import torch.nn.functional as F

    from gancompanion.training import objectives

    plain, smooth = _smoothing(real_target=1.0), _smoothing()
    assert ch5.label_smoothing_less_confident(plain["final"], smooth["final"], smooth["final_fake"]).passed
    # two-sided smoothing (real 0.9, generated 0.1): D(x) stays at 0.9 on the data, D(G(z)) rises to 0.1
    two_sided = objectives.Objective(
        "two-sided", lambda r, f: (0.9 * F.softplus(-r) + 0.1 * F.softplus(r)).mean(-1)
        + (0.9 * F.softplus(f) + 0.1 * F.softplus(-f)).mean(-1), objectives.nonsaturating_g_loss,
        objectives.sigmoid_metrics)
    both = _smoothing(objective=two_sided)
    v = ch5.label_smoothing_less_confident(plain["final"], both["final"], both["final_fake"])
    assert not v.passed and max(v.values["smooth_fake"]) > 0.05
    # the technique removed (no smoothing where the claim expects it): D(x) is not capped
    assert not ch5.label_smoothing_less_confident(plain["final"], plain["final"], plain["final_fake"]).passed
