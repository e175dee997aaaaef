from dataclasses import replace

import numpy as np
import pytest

from swirl_wm.config import EvalConfig
from swirl_wm.envs import physics, shapes
from swirl_wm.envs.registry import headline_fwm
from swirl_wm.evaluation import evaluate
from swirl_wm.evaluation.baselines import trivial_baselines
from swirl_wm.evaluation.evaluate import evaluate_role, prediction_metrics
from swirl_wm.modality.codec import ImageCodec, ImageCodecConfig
from swirl_wm.modality.image import ImageModality
from swirl_wm.models.scoring import Scorer
from swirl_wm.records import Transition

TRANSITIONS = [t for e in physics.generate_episodes(physics.PhysicsWorldConfig(n_objects=2, n_episodes=2), 0)
               for t in e.transitions]
# The embedding model is tested in test_embedding.py; here it stays unloaded.
NO_EMBEDDING = EvalConfig(embedding_similarity=False)
# BFCL-style JSON next states; the third was cut by data.truncate and no longer parses.
JSON_TRANSITIONS = [
    Transition(x="{}", z="cd(folder='a')", y='{"return":null,"state":{"cwd":"/a"}}', env="bfcl"),
    Transition(x="{}", z="ls()", y='{"return":["f.txt","g.txt"],"state":{"cwd":"/a"}}', env="bfcl"),
    Transition(x="{}", z="ls()", y='{"return":["f.txt", … [900 chars cut] … "cwd":"/a"}}', env="bfcl"),
]


def _run(tiny, monkeypatch, role, predictions, transitions=TRANSITIONS):
    monkeypatch.setattr(evaluate, "generate", lambda *a, **k: list(predictions))
    return evaluate_role(role, Scorer(*tiny), transitions, NO_EMBEDDING)[0]


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
        evaluate_role("idm", Scorer(*tiny), [TRANSITIONS[0].without_action()], NO_EMBEDDING)


def test_json_field_f1_only_for_json_next_states(tiny, monkeypatch):
    assert "fwm/json_field_f1" not in _run(tiny, monkeypatch, "fwm", [t.y for t in TRANSITIONS])
    # Pair 0 exact (F1 1); pair 1 has return[1] wrong: 2 of 3 leaves shared, F1 = 2·2 / (3 + 3) = 2/3.
    # Pair 2's reference is not JSON (truncated) and is left out: mean = (1 + 2/3) / 2 = 5/6.
    predictions = [JSON_TRANSITIONS[0].y, '{"state": {"cwd": "/a"}, "return": ["f.txt", "h.txt"]}', "{}"]
    m = _run(tiny, monkeypatch, "fwm", predictions, JSON_TRANSITIONS)
    assert m["fwm/json_field_f1"] == pytest.approx(5 / 6)
    assert "idm/json_field_f1" not in _run(tiny, monkeypatch, "idm", ["ls()"] * 3, JSON_TRANSITIONS)


def test_json_field_f1_needs_a_structured_reference():
    # Bare JSON scalars ("3", "true") parse but are not structured states: no JSON field F1.
    transitions = [Transition(x="a", z="b", y="3"), Transition(x="a", z="b", y="true")]
    assert "fwm/json_field_f1" not in prediction_metrics("fwm", transitions, ["3", "true"], NO_EMBEDDING)


def test_embedding_similarity_follows_the_config(monkeypatch):
    calls = []
    monkeypatch.setattr(evaluate, "embedding_similarity", lambda p, r, batch_size: calls.append(r) or 42.0)
    for role in ("fwm", "idm"):
        assert f"{role}/embedding_similarity" not in prediction_metrics(role, TRANSITIONS[:2], ["a", "b"],
                                                                         NO_EMBEDDING)
        m = prediction_metrics(role, TRANSITIONS[:2], ["a", "b"], EvalConfig())
        assert m[f"{role}/embedding_similarity"] == 42.0 and {f"{role}/bleu", f"{role}/rouge_l"} <= set(m)
    assert calls == [[t.y for t in TRANSITIONS[:2]], [t.z for t in TRANSITIONS[:2]]]


def test_primary_metric_per_domain(tiny, monkeypatch):
    assert headline_fwm("bfcl") == headline_fwm("tau-bench") == "fwm/bleu"
    assert headline_fwm("scienceworld") == headline_fwm("webshop") == "fwm/rouge_l"
    assert headline_fwm("my-own-env") == "fwm/rouge_l"
    # the headline metric is one the evaluation reports for that domain
    assert headline_fwm("physics") in _run(tiny, monkeypatch, "fwm", [t.y for t in TRANSITIONS])


class SceneFrames(ImageModality):
    """Image states written as their scene text and drawn by the shapes renderer, so the reader's hand
    values can be read off the states (the codec is only a stand-in)."""

    def __init__(self):
        super().__init__(ImageCodec(ImageCodecConfig(levels=(3, 3), steps=1), 16, 16))

    def to_image(self, states):
        return np.stack([shapes.render(shapes.parse_scene(s)) for s in states])


def test_image_states_are_scored_on_the_objects_their_frames_show():
    x, y = "grid=4 | red square (0,0); blue circle (2,1)", "grid=4 | red square (1,0); blue circle (2,1)"
    ts = [Transition(x=x, z="move red square right", y=y, env="shapes")]
    modality = SceneFrames()
    # fields of y: grid, cell(1,0), cell(2,1); the copy has the red square in cell (0,0)
    assert prediction_metrics("fwm", ts, [y], NO_EMBEDDING, modality)["fwm/field_accuracy"] == 1
    assert prediction_metrics("fwm", ts, [x], NO_EMBEDDING, modality)["fwm/field_accuracy"] == pytest.approx(2 / 3)
    green = "grid=4 | green square (1,0); blue circle (2,1)"  # moved, painted by mistake
    assert prediction_metrics("fwm", ts, [green], NO_EMBEDDING, modality)["fwm/field_accuracy"] == pytest.approx(2 / 3)
    copy = trivial_baselines(ts, ts, NO_EMBEDDING, modality)["copy"]
    assert copy["fwm/field_accuracy"] == pytest.approx(2 / 3)
    other = [replace(ts[0], env="toy")]  # an environment without a pixel reader: no field accuracy
    assert "fwm/field_accuracy" not in prediction_metrics("fwm", other, [y], NO_EMBEDDING, modality)
