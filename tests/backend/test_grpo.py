"""The GRPO phase's examples: each role's prompts and the columns its reward reads."""

import pytest

from swirl_wm.backend.grpo import phase_examples
from swirl_wm.models.prompts import fwm_prompt, idm_prompt
from swirl_wm.records import FWM, IDM, Transition

PAIRS = [Transition(x="s0", z="push", y="s1"), Transition(x="s1", z="pull", y="s0")]


def test_phase1_rows_carry_x_the_latent_action_and_the_observed_next_state(tiny):
    _, tokenizer = tiny
    rows = phase_examples(FWM, PAIRS, tokenizer)
    assert rows[0] == {"prompt": fwm_prompt(tokenizer, "s0", "push"), "x": "s0", "z": "push", "y": "s1"}
    assert list(rows[1]) == ["prompt", "x", "z", "y"]
    with pytest.raises(ValueError, match="latent actions"):
        phase_examples(FWM, [PAIRS[0].without_action()], tokenizer)


def test_phase2_rows_carry_x_and_the_next_state(tiny):
    _, tokenizer = tiny
    rows = phase_examples("idm", [p.without_action() for p in PAIRS], tokenizer)
    assert rows == [{"prompt": idm_prompt(tokenizer, p.x, p.y), "x": p.x, "y": p.y} for p in PAIRS]
    assert list(rows[0]) == ["prompt", "x", "y"]
    assert phase_examples(IDM, PAIRS, tokenizer) == rows
