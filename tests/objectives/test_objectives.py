import math

import pytest
import torch

from swirl_wm.models.prompts import PromptFormat, fwm_prompt, idm_prompt
from swirl_wm.models.scoring import Scorer
from swirl_wm.objectives.fidelity import state_fidelity
from swirl_wm.objectives.rewards import SwirlReward, normalised_reward


def test_phase1_reward_is_idm_logprob_of_z_given_generated_state(tiny):
    model, tokenizer = tiny
    scorer = Scorer(model, tokenizer, min_logprob=-1e9)  # the random tiny model sits near the clamp
    reward = SwirlReward("fwm", scorer)
    got = reward(prompts=["p", "p"], completions=["y hat one", "y hat two"], x=["x0", "x0"], z=["push", "push"])
    expected = scorer([idm_prompt(tokenizer, "x0", "y hat one"), idm_prompt(tokenizer, "x0", "y hat two")],
                      ["push", "push"])
    assert got == pytest.approx(expected)
    assert got[0] != pytest.approx(got[1])


def test_phase2_reward_is_fwm_logprob_of_real_state_given_generated_action(tiny):
    model, tokenizer = tiny
    scorer = Scorer(model, tokenizer)
    got = SwirlReward("idm", scorer)(prompts=["p"], completions=["cool the cup"], x=["x0"], y=["y0"],
                                     trainer_state=None)
    assert got == pytest.approx(scorer([fwm_prompt(tokenizer, "x0", "cool the cup")], ["y0"]))


def test_reward_is_a_plain_callable_not_a_module(tiny):
    # trl-notes.md trap 6: an nn.Module reward is taken for a classifier reward model
    assert not isinstance(SwirlReward("fwm", Scorer(*tiny)), torch.nn.Module)
    with pytest.raises(ValueError):
        SwirlReward("policy", Scorer(*tiny))


def test_normalised_reward_by_hand():
    # log(e^-1 / (e^-1 + e^-2 + e^-3)) = -log(1 + e^-1 + e^-2) ≈ -0.4076
    expected = -math.log(1 + math.e ** -1 + math.e ** -2)
    assert normalised_reward(torch.tensor([-1.0, -2.0, -3.0])) == pytest.approx(expected)
    assert normalised_reward(torch.tensor([-4.0])) == 0.0  # a set of one: certain


def test_phase1_normalised_reward_is_the_idm_posterior_over_the_action_set(tiny):
    model, tokenizer = tiny
    scorer = Scorer(model, tokenizer, min_logprob=-1e9)
    actions = {"x0": ["push", "wait", "heat"]}
    reward = SwirlReward("fwm", scorer, action_set=actions.__getitem__)
    got = reward(prompts=["p", "p"], completions=["y one", "y two"], x=["x0", "x0"], z=["wait", "stop"])
    q = [idm_prompt(tokenizer, "x0", "y one")] * 3
    expected0 = normalised_reward(torch.tensor(scorer(q, ["wait", "push", "heat"])))
    q = [idm_prompt(tokenizer, "x0", "y two")] * 4  # z outside the set joins it
    expected1 = normalised_reward(torch.tensor(scorer(q, ["stop", "push", "wait", "heat"])))
    assert got == pytest.approx([expected0, expected1]) and all(r <= 0 for r in got)
    assert reward.__name__ == "log_Q_normalised"
    with pytest.raises(ValueError, match="Phase I"):
        SwirlReward("idm", scorer, action_set=actions.__getitem__)


def test_batched_reward_equals_the_plain_per_completion_reward(tiny_path) -> None:
    """The speed comparison's reference reward (backend.speed.PlainReward: one completion at a time, full
    log-softmax) and SwirlReward's batched scorer give the same rewards for both phases (speed
    must not change results beyond float tolerance)."""
    import pytest

    from swirl_wm.backend.speed import PlainReward
    from swirl_wm.models.loading import load_model, load_tokenizer
    from swirl_wm.models.scoring import Scorer
    from swirl_wm.objectives.rewards import SwirlReward

    model, tokenizer = load_model(tiny_path, "cpu"), load_tokenizer(tiny_path)
    x = ["width=8 | ball: pos=1 vel=0 temp=20"] * 3
    states = ["width=8 | ball: pos=1 vel=0 temp=30", "width=8 | ball: pos=2 vel=+1 temp=20", "nonsense"]
    actions = ["heat ball", "push ball right", "wait"]
    for role, completions, column in (("fwm", states, {"z": actions}), ("idm", actions, {"y": states})):
        ours = SwirlReward(role, Scorer(model, tokenizer, batch_size=2, min_logprob=-10.0))(
            prompts=[""] * 3, completions=completions, x=x, **column)
        plain = PlainReward(role, model, tokenizer)(prompts=[""] * 3, completions=completions, x=x, **column)
        assert ours == pytest.approx(plain, abs=1e-4)


def test_rewards_with_the_changes_target_score_states_and_patches(tiny):
    # model.fwm_target: changes — Phase I's IDM reads x patched by the completion; Phase II's FWM scores y's patch
    model, tokenizer = tiny
    fmt = PromptFormat(fwm_target="changes")
    scorer = Scorer(model, tokenizer, min_logprob=-1e9, prompt_format=fmt)
    x, y = '{"cwd":"/a","n":1}', '{"cwd":"/b","n":1}'
    prompts, targets = SwirlReward("fwm", scorer).scoring_pairs(['{"cwd":"/b"}'], [x], ["cd(b)"])
    assert prompts == [idm_prompt(tokenizer, x, y, fmt)] and targets == ["cd(b)"]
    prompts, targets = SwirlReward("idm", scorer).scoring_pairs(["cd(b)"], [x], [y])
    assert prompts == [fwm_prompt(tokenizer, x, "cd(b)", fmt)] and targets == ['{"cwd":"/b"}']


def test_phase1_reward_adds_alpha_times_the_fidelity_to_the_observed_state(tiny):
    model, tokenizer = tiny
    scorer = Scorer(model, tokenizer, min_logprob=-1e9)
    def fidelity(prediction, reference):
        return 1.0 if prediction == reference else 0.25
    reward = SwirlReward("fwm", scorer, fidelity=fidelity, fidelity_weight=2.0)
    got = reward(prompts=["p", "p"], completions=["y0", "other"], x=["x0", "x0"], z=["push", "push"], y=["y0", "y0"])
    log_q = SwirlReward("fwm", scorer)(prompts=["p", "p"], completions=["y0", "other"], x=["x0", "x0"],
                                       z=["push", "push"])
    assert got == pytest.approx([log_q[0] + 2.0, log_q[1] + 0.5])
    assert reward.__name__ == "log_Q+fidelity"
    with pytest.raises(ValueError, match="Phase I"):
        SwirlReward("idm", scorer, fidelity=fidelity, fidelity_weight=1.0)
    with pytest.raises(ValueError, match="fidelity"):
        SwirlReward("fwm", scorer, fidelity_weight=1.0)


def test_state_fidelity_by_hand():
    from swirl_wm.envs.physics import state_fields
    from swirl_wm.modality import TEXT

    physics = state_fidelity(TEXT, state_fields)
    y = "width=8 | ball: pos=3 vel=+1 temp=20 | cube: pos=5 vel=0 temp=40"
    y_hat = "width=8 | ball: pos=3 vel=+1 temp=20 | cube: pos=6 vel=0 temp=50"
    assert physics(y_hat, y) == pytest.approx(5 / 7)  # 5 of the 7 fields right
    assert physics("not a state", y) == 0.0
    text = state_fidelity(TEXT)
    assert text('{"a": 1, "b": 2}', '{"a": 1, "b": 3}') == pytest.approx(0.5)  # JSON leaf F1: 1 of 2 each way
    assert text("the cup is hot", "the cup is hot") == 1.0
    assert text("the cup is cold", "the cup is hot") == pytest.approx(0.75)  # ROUGE-L F: 3 of 4 words
