"""The modified centre loss and the loss variants against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from landmark.data.manifest import NON_LANDMARK
from landmark.training.head import GrowingHead
from landmark.training.losses import MetricLoss, centre_loss, update_centres

_KW = {"centre_lambda": 0.0, "centre_alpha": 0.5, "arcface_margin": 0.3, "arcface_scale": 30.0}


def test_centre_loss_skips_non_landmark_photos() -> None:
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    y = torch.tensor([1, 2, 0])  # the third photo is a non-landmark: far away, but no centre
    c = torch.tensor([[9.0, 9.0], [0.0, 0.0], [0.0, 2.0]])
    # (1 / (2 * 2)) * (||(1,0)-(0,0)||^2 + ||(0,1)-(0,2)||^2) = (1 + 1) / 4
    assert float(centre_loss(x, y, c)) == pytest.approx(0.5)


def test_centre_loss_all_non_landmark_is_zero_without_nan() -> None:
    x = torch.randn(4, 3, requires_grad=True)
    loss = centre_loss(x, torch.zeros(4, dtype=torch.long), torch.zeros(2, 3))
    loss.backward()
    assert float(loss.detach()) == 0.0
    assert x.grad is not None and torch.equal(x.grad, torch.zeros(4, 3))


def test_center_update_moving_average_by_hand() -> None:
    c = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    x = torch.tensor([[2.0, 0.0], [4.0, 0.0], [7.0, 7.0], [3.0, 3.0]])
    y = torch.tensor([1, 1, 0, 2])
    update_centres(x, y, c, alpha=0.5)
    # class 1: delta = (2*0 - (2+4)) / 3 = -2 -> c = 0 + 0.5*2 = 1 ; class 2: delta = (1-3)/2 = -1 -> 1.5
    assert torch.allclose(c, torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.5, 1.5]]))


def test_softmax_centre_total_by_hand() -> None:
    head = GrowingHead([NON_LANDMARK, "a"], dim=2)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        head.bias.zero_()
    raw = torch.tensor([[3.0, 4.0], [0.0, 2.0]])  # photo 0 is landmark "a", photo 1 a non-landmark
    y = torch.tensor([1, 0])
    centres = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    loss = MetricLoss("softmax_centre", head, **dict(_KW, centre_lambda=0.1))
    parts = loss(raw, y, centres)
    ce0 = -math.log(math.exp(4) / (math.exp(3) + math.exp(4)))
    ce1 = -math.log(math.exp(0) / (math.exp(0) + math.exp(2)))
    ce = (ce0 + ce1) / 2
    centre = 0.5 * ((0.6 - 0.0) ** 2 + (0.8 - 1.0) ** 2) / 1  # normalised (3,4) = (0.6, 0.8)
    assert parts.ce == pytest.approx(ce, rel=1e-5)
    assert parts.centre == pytest.approx(centre, rel=1e-5)
    assert float(parts.total) == pytest.approx(ce + 0.1 * centre, rel=1e-5)
    # the centre moved half way (alpha 0.5, n=1: delta = (c - x) / 2) toward the photo, row 0 untouched
    assert torch.allclose(centres[1], torch.tensor([0.15, 0.95]))
    assert torch.equal(centres[0], torch.zeros(2))


def test_softmax_only_has_no_centre_term() -> None:
    head = GrowingHead([NON_LANDMARK, "a", "b"], dim=4)
    parts = MetricLoss("softmax", head, **dict(_KW, centre_lambda=1.0))(
        torch.randn(6, 4), torch.tensor([0, 1, 2, 1, 2, 0]), torch.zeros(3, 4)
    )
    assert parts.centre == 0.0 and float(parts.total) == pytest.approx(parts.ce)


def test_arcface_uses_head_weight_and_margin_in_radians() -> None:
    head = GrowingHead([NON_LANDMARK, "a"], dim=2)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    loss = MetricLoss("arcface", head, **dict(_KW, arcface_margin=0.5, arcface_scale=10.0))
    raw = torch.tensor([[0.0, 2.0]])  # angle 0 to class 1
    parts = loss(raw, torch.tensor([1]), None)
    target, other = 10 * math.cos(0.5), 10 * math.cos(math.pi / 2)
    assert parts.ce == pytest.approx(
        -math.log(math.exp(target) / (math.exp(target) + math.exp(other))), rel=1e-3
    )
    parts.total.backward()
    assert head.weight.grad is not None and head.weight.grad.abs().sum() > 0


def test_subcenter_arcface_runs_on_non_landmark_class() -> None:
    head = GrowingHead([NON_LANDMARK, "a", "b"], dim=8, sub_centers=3)
    parts = MetricLoss("subcenter_arcface", head, **_KW)(torch.randn(5, 8), torch.tensor([0, 0, 1, 2, 0]), None)
    assert parts.logits.shape == (5, 3) and math.isfinite(float(parts.total))


def test_unknown_loss_is_rejected() -> None:
    with pytest.raises(ValueError, match="train.loss"):
        MetricLoss("triplet", GrowingHead([NON_LANDMARK], dim=2), **_KW)


def test_centre_update_summed_over_two_halves_equals_the_whole_batch_update() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(8, 4, generator=gen), dim=1)
    y = torch.tensor([1, 1, 2, 0, 2, 3, 1, 0])
    start = torch.randn(4, 4, generator=gen)
    whole = start.clone()
    update_centres(x, y, whole, alpha=0.5)
    packed: list[torch.Tensor] = []  # each half's (C, D + 1) sums and counts, as each rank sends them
    for half in (slice(0, 4), slice(4, 8)):
        update_centres(x[half], y[half], start.clone(), 0.5, reduce=lambda t: packed.append(t) or t)
    total = packed[0] + packed[1]
    for half in (slice(0, 4), slice(4, 8)):  # every "rank" applies the summed update to its own copy
        mine = start.clone()
        update_centres(x[half], y[half], mine, 0.5, reduce=lambda t: total)
        assert torch.allclose(mine, whole, atol=1e-6)
