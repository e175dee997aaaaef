"""``swirl diagnose``: which models each GRPO phase of a finished run started from (the command itself runs on
a tiny finished run in ``test_bench.py``)."""

from __future__ import annotations

import pytest

from swirl_wm.recipes.diagnose import starting_points
from swirl_wm.records import FWM, IDM


def test_each_phase_starts_from_the_checkpoints_and_validation_of_the_phase_before_it() -> None:
    def phase(name, iteration, role, fwm, idm):
        return {"name": name, "iteration": iteration, "role": role, "checkpoints": {"fwm": fwm, "idm": idm},
                "val": {"idm/grounded_accuracy": iteration / 10}}

    phases = [phase("sft", 0, "both", "c/sft/fwm", "c/sft/idm"),
              phase("iter1/phase1", 1, "fwm", "c/i1p1/fwm", "c/sft/idm"),
              phase("iter1/phase2", 1, "idm", "c/i1p1/fwm", "c/i1p2/idm"),
              phase("iter2/phase1", 2, "fwm", "c/i2p1/fwm", "c/i1p2/idm")]
    assert starting_points(phases) == [
        ("iter1/phase1", 1, FWM, {"fwm": "c/sft/fwm", "idm": "c/sft/idm"}, {"idm/grounded_accuracy": 0.0}),
        ("iter1/phase2", 1, IDM, {"fwm": "c/i1p1/fwm", "idm": "c/sft/idm"}, {"idm/grounded_accuracy": 0.1}),
        ("iter2/phase1", 2, FWM, {"fwm": "c/i1p1/fwm", "idm": "c/i1p2/idm"}, {"idm/grounded_accuracy": 0.1})]
    assert starting_points(phases[:1]) == []  # SFT alone (swirl.iterations: 0)
    # self-training is SFT from the base: no reward, so no check
    trained = phase("self-training", 2, "fwm", "c/self-training/fwm", "c/i1p2/idm")
    assert starting_points([*phases, trained]) == starting_points(phases)
    with pytest.raises(ValueError, match="no phase before it"):
        starting_points(phases[2:3])
