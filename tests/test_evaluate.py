import pytest

from swirl_wm.config import EvalConfig
from swirl_wm.envs import physics
from swirl_wm.evaluation import evaluate
from swirl_wm.evaluation.evaluate import evaluate_role
from swirl_wm.models.scoring import Scorer

TRANSITIONS = [t for e in physics.generate_episodes(physics.PhysicsWorldConfig(n_objects=2, n_episodes=2), 0)
               for t in e.transitions]


def _run(tiny, monkeypatch, role, predictions):
    monkeypatch.setattr(evaluate, "generate", lambda *a, **k: list(predictions))
    return evaluate_role(role, Scorer(*tiny), TRANSITIONS, EvalConfig())[0]


def test_perfect_fwm_predictions(tiny, monkeypatch):
    m = _run(tiny, monkeypatch, "fwm", [t.y for t in TRANSITIONS])
    assert m["fwm/exact_match"] == 1.0 and m["fwm/rouge_l"] == pytest.approx(100.0)
    assert m["fwm/field_accuracy"] == 1.0 and m["fwm/field_accuracy/pos"] == 1.0
    assert -10.0 <= m["fwm/log_likelihood"] < 0


def test_grounded_accuracy_accepts_any_wording_of_the_right_action(tiny, monkeypatch):
    # the canonical form ("push ball right") is a different wording of the same action as the gold paraphrase
    canonical = [t.meta["action"] for t in TRANSITIONS]
    m = _run(tiny, monkeypatch, "idm", canonical)
    assert m["idm/grounded_accuracy"] == 1.0 and m["idm/exact_match"] < 1.0
    wrong = _run(tiny, monkeypatch, "idm", ["do a backflip"] * len(TRANSITIONS))
    assert wrong["idm/grounded_accuracy"] == 0.0


def test_needs_gold_actions(tiny):
    with pytest.raises(ValueError, match="gold action"):
        evaluate_role("idm", Scorer(*tiny), [TRANSITIONS[0].without_action()], EvalConfig())
