"""The world-model API on the tiny model: shapes, determinism under a seed, scores, rollouts, labels."""

import shutil

import pytest

from swirl_wm.models import world_model as wm_module
from swirl_wm.models.prompts import PromptFormat, fwm_prompt
from swirl_wm.models.scoring import Scorer
from swirl_wm.models.world_model import InferredAction, WorldModel
from swirl_wm.records import Transition


@pytest.fixture(scope="module")
def wm(tiny):
    model, tokenizer = tiny
    scorer = Scorer(model, tokenizer, batch_size=4, min_logprob=-1000, prompt_format=PromptFormat("A toy world."))
    return WorldModel(scorer, scorer, max_new_tokens_state=5, max_new_tokens_action=4)


def test_shapes_single_and_batch(wm):
    one = wm.predict("s0", "go")
    assert isinstance(one, list) and len(one) == 1 and isinstance(one[0], str)
    batch = wm.predict(["s0", "s1", "s2"], ["go", "stay", "go"], n=2, seed=0)
    assert len(batch) == 3 and all(len(row) == 2 for row in batch)
    actions = wm.infer_action(["s0", "s1"], ["s1", "s2"], n=3, seed=0)
    assert len(actions) == 2 and all(len(row) == 3 and isinstance(row[0], InferredAction) for row in actions)
    assert all(-1000 <= a.logprob <= 0 for row in actions for a in row)
    assert isinstance(wm.score("s0", "go", "s1"), float) and len(wm.score(["a", "b"], ["c", "d"], ["e", "f"])) == 2


def test_greedy_and_seeded_sampling_are_deterministic(wm):
    assert wm.predict(["s0", "s1"], ["go", "go"]) == wm.predict(["s0", "s1"], ["go", "go"])
    assert wm.predict("s0", "go", n=3, seed=7) == wm.predict("s0", "go", n=3, seed=7)


def test_score_is_the_fwm_scorer_with_the_description(wm, tiny):
    model, tokenizer = tiny
    prompt = fwm_prompt(tokenizer, "s0", "go", PromptFormat("A toy world."))
    direct = Scorer(model, tokenizer, min_logprob=-1000)([prompt], ["s1"])
    assert wm.score("s0", "go", "s1") == pytest.approx(direct[0])


def test_bad_arguments(wm):
    with pytest.raises(ValueError, match="not a mix"):
        wm.predict("s0", ["go"])
    with pytest.raises(ValueError, match="differ in length"):
        wm.predict(["s0"], ["go", "stay"])
    with pytest.raises(ValueError, match="n must be"):
        wm.predict("s0", "go", n=0)
    with pytest.raises(ValueError, match="not a string"):
        wm.rollout("s0", "go")
    with pytest.raises(ValueError, match="2 start states but 1 plans"):
        wm.rollout(["s0", "s1"], [["go"]])


def test_rollout_feeds_on_its_own_predictions(wm, monkeypatch):
    seen = []

    def fake_predict(xs, zs, n=1, **_):
        seen.append((list(xs), list(zs)))
        return [[f"{x}>{z}"] for x, z in zip(xs, zs, strict=True)]

    monkeypatch.setattr(wm, "predict", fake_predict)
    assert wm.rollout("s", ["a", "b"]) == ["s>a", "s>a>b"]
    chains = wm.rollout(["p", "q"], [["a"], ["b", "c", "d"]])
    assert chains == [["p>a"], ["q>b", "q>b>c", "q>b>c>d"]]
    assert seen[-1] == (["q>b>c"], ["d"])  # finished plans leave the batch


def test_label_keeps_gold_fills_the_rest_and_filters_by_confidence(wm, monkeypatch):
    ts = [Transition(x="a", z="gold", y="b"), Transition(x="b", z=None, y="c"), Transition(x="c", z=None, y="d")]
    guesses = iter([[InferredAction("left", -0.5)], [InferredAction("right", -3.0)]])
    monkeypatch.setattr(wm, "infer_action", lambda xs, ys: [next(guesses) for _ in xs])
    out = wm.label(ts, min_logprob=-2.0)
    assert [t.z for t in out] == ["gold", "left", None]
    assert [t.meta["label_source"] for t in out] == ["gold", "idm", "none"]
    assert out[2].meta["idm_action"] == "right" and out[2].meta["idm_logprob"] == -3.0
    assert ts[1].z is None and ts[1].meta == {}  # inputs unchanged


def test_from_pretrained_loads_one_model_for_shared_weights(tiny_path):
    model = WorldModel.from_pretrained(tiny_path, device="cpu", description="d", max_new_tokens_state=3)
    assert model.fwm is model.idm and model.fwm.prompt_format == PromptFormat("d") and model.max_new_tokens_state == 3
    assert wm_module.default_device() in ("cpu", "cuda")


def test_from_pretrained_prompts_as_the_checkpoint_was_trained(tiny_path, tmp_path):
    folder = tmp_path / "idm"
    shutil.copytree(tiny_path, folder)
    PromptFormat("saved", idm_diff=True).save(folder)
    model = WorldModel.from_pretrained(str(folder), device="cpu")
    assert model.idm.prompt_format == PromptFormat("saved", idm_diff=True)
    override = WorldModel.from_pretrained(str(folder), device="cpu", description="new")
    assert override.idm.prompt_format == PromptFormat("new", idm_diff=True)
    (folder / "prompt_format.json").write_text('{"colour": 1}')
    with pytest.raises(ValueError, match="prompt_format.json"):
        WorldModel.from_pretrained(str(folder), device="cpu")
