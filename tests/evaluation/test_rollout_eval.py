"""Multi-step rollout metrics, cycle consistency and trivial baselines, against hand-computed values."""

import pytest

from swirl_wm.config import EvalConfig
from swirl_wm.envs import physics
from swirl_wm.evaluation.baselines import most_frequent_action, trivial_baselines
from swirl_wm.evaluation.cycle import cycle_metrics
from swirl_wm.evaluation.rollout import rollout_metrics, step_metrics
from swirl_wm.modality import TEXT
from swirl_wm.modality.codec import ImageCodec, ImageCodecConfig
from swirl_wm.modality.image import ImageModality
from swirl_wm.models.world_model import InferredAction
from swirl_wm.records import Episode, Transition

CONFIG = EvalConfig(embedding_similarity=False)


def _episode(eid, states, actions):
    return Episode(eid, "toy", tuple(Transition(x=states[i], z=actions[i], y=states[i + 1], episode_id=eid, step=i,
                                                env="toy") for i in range(len(actions))))


# e1: a → b → b → c (3 steps); e2: p → p (1 step); the copy baseline predicts the first state at every step
E1 = _episode("e1", ["a", "b", "b", "c"], ["go", "wait", "go"])
E2 = _episode("e2", ["p", "p"], ["wait"])


class Oracle:
    """A world model that knows the episodes: its rollouts are the true states."""

    modality = TEXT

    def rollout(self, starts, plans):
        truth = {e.transitions[0].x: [t.y for t in e.transitions] for e in (E1, E2)}
        return [truth[s][: len(p)] for s, p in zip(starts, plans, strict=True)]


def test_oracle_scores_100_at_every_step_and_copy_as_computed_by_hand():
    out = rollout_metrics(Oracle(), [E1, E2], steps=6, config=CONFIG)
    assert [r["step"] for r in out["model"]] == [1, 2, 3] and [r["episodes"] for r in out["model"]] == [2, 1, 1]
    assert all(r["fwm/exact_match"] == 1.0 for r in out["model"])
    # copy: step 1 → e1 "a" vs "b" (miss), e2 "p" vs "p" (hit) = 1/2; step 2 "a" vs "b" = 0; step 3 "a" vs "c" = 0
    assert [r["fwm/exact_match"] for r in out["copy"]] == [0.5, 0.0, 0.0]


def test_steps_cap_the_plan_and_unlabelled_steps_are_refused():
    out = rollout_metrics(Oracle(), [E1], steps=2, config=CONFIG)
    assert [r["step"] for r in out["model"]] == [1, 2]
    assert out["samples"] == [{"episode_id": "e1", "x0": "a", "actions": ["go", "wait"], "true_states": ["b", "b"],
                               "predicted_states": ["b", "b"]}]
    with pytest.raises(ValueError, match="gold action"):
        rollout_metrics(Oracle(), [_episode("e3", ["a", "b"], [None])], steps=1, config=CONFIG)
    with pytest.raises(ValueError, match="longer than its episode"):
        step_metrics([E2], [["p", "p"]], CONFIG)


class Cycle:
    """IDM names the action 'go'; FWM appends '!' to x; score is -1 per call."""

    modality = TEXT

    def infer_action(self, xs, ys):
        return [[InferredAction("go", -0.1)] for _ in xs]

    def predict(self, xs, zs):
        return [[x + "!"] for x in xs]

    def score(self, xs, zs, ys):
        assert zs == ["go"] * len(xs)
        return [-1.0, -3.0][: len(xs)]


def test_cycle_metrics_need_no_labels():
    ts = [Transition(x="a", z=None, y="a!"), Transition(x="b", z=None, y="c")]
    metrics, pairs = cycle_metrics(Cycle(), ts, CONFIG)
    assert metrics["cycle/exact_match"] == 0.5 and metrics["cycle/log_likelihood"] == -2.0
    assert pairs == [("go", "a!"), ("go", "b!")]


def test_trivial_baselines_on_physics():
    eps = physics.generate_episodes(physics.PhysicsWorldConfig(n_objects=2, n_episodes=4), 0)
    ts = [t for e in eps for t in e.transitions]
    labelled = [Transition(x="s", z="wait", y="s"), Transition(x="s", z="wait", y="s"),
                Transition(x="s", z="go", y="t")]
    assert most_frequent_action(labelled) == "wait" and most_frequent_action([]) is None
    out = trivial_baselines(labelled, ts, CONFIG)
    copy_hits = sum(t.x == t.y for t in ts) / len(ts)
    noop_hits = sum(physics.apply(t.x, "wait") == t.y for t in ts) / len(ts)
    assert out["copy"]["fwm/exact_match"] == pytest.approx(copy_hits)
    assert out["noop"]["fwm/exact_match"] == pytest.approx(noop_hits)
    wait_hits = sum(physics.apply(t.x, "wait") == t.y for t in ts) / len(ts)
    assert out["most_frequent_action"]["idm/grounded_accuracy"] == pytest.approx(wait_hits)
    assert trivial_baselines(labelled, [], CONFIG) == {}


def test_copy_baseline_of_image_states_changes_no_cell():
    image = ImageModality(ImageCodec(ImageCodecConfig(levels=(3, 3), steps=1), 8, 8))  # a 2 x 2 grid of codes
    x, y = "<boi><v0><v1><v2><v3><eoi>", "<boi><v4><v1><v2><v3><eoi>"
    ts = [Transition(x=x, z="paint", y=y, episode_id="e", step=0, env="toy")]
    copy = trivial_baselines(ts, ts, CONFIG, image)["copy"]
    assert copy["fwm/changed_cell_accuracy"] == 0 and copy["fwm/unchanged_cells_broken"] == 0
    assert copy["fwm/code_accuracy"] == pytest.approx(3 / 4)
