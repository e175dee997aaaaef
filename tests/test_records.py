"""The two roles: what each reads, writes and is trained and evaluated with."""

import copy
import pickle

import pytest

from swirl_wm.config import EvalConfig, SwirlConfig
from swirl_wm.records import FWM, IDM, ROLES, Role, Transition

PAIR = Transition(x="x0", z="push", y="x1")


def test_each_role_reads_and_writes_its_side_of_a_transition():
    assert (FWM.given(PAIR), FWM.written(PAIR)) == ("push", "x1")  # P(y | x, z)
    assert (IDM.given(PAIR), IDM.written(PAIR)) == ("x1", "push")  # Q(z | x, y)
    assert FWM.given(PAIR.without_action()) is None and IDM.written(PAIR.without_action()) is None
    assert FWM.writes_state and not IDM.writes_state


def test_the_roles_are_each_others_opposite_in_training_order():
    assert ROLES == (FWM, IDM) and FWM.other is IDM and IDM.other is FWM
    assert (FWM.phase, IDM.phase) == (1, 2)


def test_names_are_the_keys_of_metrics_folders_and_config():
    assert [r.name for r in ROLES] == ["fwm", "idm"]
    assert Role.of("fwm") is FWM and Role.of("idm") is IDM and Role.of(IDM) is IDM
    with pytest.raises(ValueError, match="unknown role 'policy'"):
        Role.of("policy")


def test_a_role_finds_its_phase_budget_and_selection_in_the_config():
    swirl = SwirlConfig(phase1={"num_generations": 4}, phase2={"num_generations": 8})
    assert FWM.phase_config(swirl) is swirl.phase1 and IDM.phase_config(swirl) is swirl.phase2
    config = EvalConfig(max_new_tokens_state=90, max_new_tokens_action=20, select_fwm_by="fwm/bleu")
    assert (FWM.max_new_tokens(config), IDM.max_new_tokens(config)) == (90, 20)
    assert (FWM.select_by(config), IDM.select_by(config)) == ("fwm/bleu", "auto")


def test_copies_are_the_role_itself():
    assert pickle.loads(pickle.dumps(FWM)) is FWM and copy.deepcopy(IDM) is IDM
    assert repr(FWM) == "FWM" and {FWM: 1}[Role.of("fwm")] == 1
