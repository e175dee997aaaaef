"""The metric glossary (swirl_wm/glossary.py) knows every key evaluation reports, and its helpers decide
units, direction, order and selection."""

from swirl_wm.config import EvalConfig
from swirl_wm.envs import physics
from swirl_wm.evaluation.evaluate import state_metrics
from swirl_wm.glossary import (
    METRICS,
    SELECTABLE,
    better,
    glossary_rows,
    is_fraction,
    metric_name,
    table_rank,
)


def test_every_key_evaluation_reports_is_in_the_glossary():
    episode = physics.generate_episodes(physics.PhysicsWorldConfig(n_episodes=2), seed=0)[0]
    xs, ys = [t.x for t in episode.transitions], [t.y for t in episode.transitions]
    keys = state_metrics("fwm", "physics", xs, ys, EvalConfig(embedding_similarity=False), priors=xs)
    keys |= state_metrics("fwm", None, ['{"a": 1}'], ['{"a": 2}'], EvalConfig(embedding_similarity=False))
    assert {metric_name(k) for k in keys} <= METRICS.keys()


def test_units_direction_and_order():
    assert is_fraction("fwm/field_accuracy/pos") and is_fraction("agent/success_rate")
    assert not is_fraction("fwm/bleu") and not is_fraction("fwm/log_likelihood") and not is_fraction("unknown/x")
    assert better("fwm/bleu", 2.0, 1.0) and better("agent/mean_steps", 3.0, 5.0) and better("mine/x", 1.0, 0.0)
    assert table_rank("fwm/exact_match") < table_rank("fwm/field_accuracy") < table_rank("fwm/something_new")
    assert [row[0] for row in glossary_rows(["idm/grounded_accuracy", "fwm/bleu", "fwm/bleu/x", "z/zz"])] == [
        "bleu", "grounded_accuracy"]


def test_selectable_keys():
    assert "fwm/effect_accuracy" in SELECTABLE and "cycle/rouge_l" in SELECTABLE
    assert "idm/field_accuracy" not in SELECTABLE and "agent/success_rate" not in SELECTABLE

