"""The agent rollouts' per-action log-probs and entropy, from a ``generate`` output, by hand."""

import math
from types import SimpleNamespace

import pytest
import torch

from swirl_wm.agents.rollouts import _actions_of


def test_actions_cut_at_eos_with_their_mean_entropy():
    # vocabulary of 4, input width 1, three generated tokens; EOS = 2
    sequences = torch.tensor([[9, 1, 2, 3], [9, 3, 3, 3]])
    uniform, sure = torch.zeros(4), torch.tensor([0.0, 50.0, -50.0, -50.0])
    logits = (torch.stack([uniform, sure]), torch.stack([sure, uniform]), torch.stack([uniform, uniform]))
    (ids0, logp0, h0), (ids1, logp1, h1) = _actions_of(SimpleNamespace(sequences=sequences, logits=logits),
                                                       width=1, eos=2, temperature=1.0)
    assert ids0 == [1, 2] and ids1 == [3, 3, 3]
    assert logp0 == pytest.approx([-math.log(4), -100.0], abs=1e-4)
    assert h0 == pytest.approx((math.log(4) + 0.0) / 2, abs=1e-4)  # uniform, then (almost) certain
    assert h1 == pytest.approx((0.0 + 2 * math.log(4)) / 3, abs=1e-4)  # the third token's entropy not counted in row 0
    assert logp1[0] == pytest.approx(-100.0, abs=1e-3)
