"""One prompt prefill per GRPO group: the same completions as transformers' plain generate, given the
same seed (sampled and greedy), for left-padded prompts of different lengths, and the plain path for a
batch that is not G-fold repeated."""

import pytest
import torch
from transformers import DynamicCache, GenerationConfig

from swirl_wm.backend.shared_prefix import share_prompt_prefix
from swirl_wm.models.loading import load_model, load_tokenizer
from swirl_wm.models.prompts import fwm_prompt


@pytest.mark.parametrize("sample", [True, False])
def test_shared_prefix_generates_what_plain_generate_does(tiny_path, sample, monkeypatch):
    repeats = []
    original = DynamicCache.batch_repeat_interleave
    monkeypatch.setattr(DynamicCache, "batch_repeat_interleave",
                        lambda self, n: repeats.append(n) or original(self, n))
    tokenizer = load_tokenizer(tiny_path)
    prompts = [fwm_prompt(tokenizer, "ball: pos=1 vel=0", "push"), fwm_prompt(tokenizer, "cube: temp=20", "heat it")]
    g = 3
    batch = tokenizer([p for p in prompts for _ in range(g)], return_tensors="pt", padding=True,
                      padding_side="left", add_special_tokens=False)
    config = GenerationConfig(max_new_tokens=8, do_sample=sample, temperature=1.0, top_p=1.0, top_k=0,
                              pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    outputs = []
    for shared in (False, True):
        model = load_model(tiny_path)
        if shared:
            share_prompt_prefix(model, g)
        torch.manual_seed(0)
        outputs.append(model.generate(**batch, generation_config=config))
    assert repeats == [g]  # the shared path ran (once: the cache of the 2 prompts, repeated G times)
    assert outputs[0].shape == outputs[1].shape and torch.equal(outputs[0], outputs[1])
    if sample:  # the G rows of a group differ (else the test would not see a shared cache's rows mixed up)
        assert not torch.equal(outputs[1][0], outputs[1][1])


def test_a_batch_that_is_not_grouped_takes_the_plain_path(tiny_path):
    tokenizer = load_tokenizer(tiny_path)
    model = load_model(tiny_path)
    calls = []
    plain = model.generate
    model.generate = lambda **kw: calls.append(kw) or plain(**kw)
    share_prompt_prefix(model, 2)
    batch = tokenizer(["a b c", "d e f"], return_tensors="pt", padding=True, padding_side="left")
    model.generate(**batch, max_new_tokens=2, do_sample=False)
    assert "past_key_values" not in calls[0]


@pytest.mark.slow
def test_a_phase_with_and_without_the_shared_prefix_logs_the_same_rewards(tiny_path, tmp_path, monkeypatch):
    """A whole GRPO phase (2 steps, G = 2, sampled): rewards, KL, completion lengths and gradient norms as
    with TRL's own sampling and log-probability passes, to float tolerance."""
    from swirl_wm.backend import grpo
    from swirl_wm.backend.grpo import train_grpo

    shared_passes = []
    original = grpo.shared_prefix_logps
    monkeypatch.setattr(grpo, "shared_prefix_logps", lambda *a, **k: shared_passes.append(1) or original(*a, **k))
    from swirl_wm.config import GRPOPhaseConfig
    from swirl_wm.models.scoring import Scorer
    from swirl_wm.objectives.rewards import SwirlReward
    from swirl_wm.records import Transition

    pairs = [Transition(x=f"ball: pos={i} vel=0", z="push the ball right", y=f"ball: pos={i + 1} vel=1")
             for i in range(4)]
    logs = []
    for shared in (False, True):
        idm = Scorer(load_model(tiny_path), load_tokenizer(tiny_path), min_logprob=-1000)
        config = GRPOPhaseConfig(learning_rate=1e-3, num_generations=2, per_device_train_batch_size=4, max_steps=2,
                                 max_completion_length=6, share_prompt_prefix=shared)
        _, history = train_grpo(tiny_path, SwirlReward("fwm", idm), pairs, config, tmp_path / f"out{shared}",
                                tmp_path / f"logs{shared}", seed=0)
        logs.append([h[k] for h in history if "reward" in h
                     for k in ("reward", "kl", "completions/mean_length", "grad_norm")])
    assert len(logs[0]) == 8 and logs[0] == pytest.approx(logs[1], abs=1e-4)
    assert len(shared_passes) == 4  # 2 steps x (reference, policy): the shared path ran


def test_shared_prefix_logps_and_gradients_equal_trls_one_pass(tiny_path):
    """Left-padded prompts of different lengths, each repeated (G = 3, rows shuffled as TRL's micro-batches
    are), right-padded completions: log-probabilities, entropies and the gradient of their sum as TRL's fused
    one-pass head gives them, to float tolerance."""
    from trl.trainer.utils import add_fused_lm_head

    from swirl_wm.backend.shared_prefix import shared_prefix_logps

    tokenizer = load_tokenizer(tiny_path)
    prompts = [fwm_prompt(tokenizer, "ball: pos=1 vel=0", "push"), fwm_prompt(tokenizer, "cube: temp=20", "heat it")]
    prompt = tokenizer([p for p in prompts for _ in range(3)], return_tensors="pt", padding=True,
                       padding_side="left", add_special_tokens=False)
    completion = tokenizer(["pos=2", "pos=3 vel=1", "x", "temp=30", "temp=25 warm", "t"], return_tensors="pt",
                           padding=True, padding_side="right", add_special_tokens=False)
    order = torch.tensor([4, 0, 2, 5, 1, 3])
    ids = torch.cat([prompt.input_ids, completion.input_ids], 1)[order]
    mask = torch.cat([prompt.attention_mask, completion.attention_mask], 1)[order]
    keep, temperature = completion.input_ids.shape[1], 0.7
    results = []
    for shared in (False, True):
        model = load_model(tiny_path)
        add_fused_lm_head(model, temperature=temperature, outputs=("log_probs", "entropy"))
        if shared:
            logps, entropies = shared_prefix_logps(model, ids, mask, keep, temperature, compute_entropy=True)
        else:
            labels = ids.masked_fill(mask == 0, -100)
            labels[:, :-keep] = -100
            out = model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True)
            logps, entropies = out.log_probs[:, -keep:], out.entropy[:, -keep:]
        (logps.sum() + entropies.sum()).backward()
        grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        results.append((logps.detach(), entropies.detach(), grads))
    for plain, shared in zip(*results, strict=True):
        assert plain.shape == shared.shape and torch.allclose(plain, shared, atol=1e-5, rtol=1e-4)
    assert (results[0][0] != 0).sum() == completion.attention_mask.sum()  # only real completion tokens score


def test_rows_that_share_no_prompt_take_the_plain_path(tiny_path):
    from swirl_wm.backend.shared_prefix import shared_prefix_logps

    ids = torch.tensor([[5, 6, 7, 8], [9, 10, 11, 12]])
    assert shared_prefix_logps(load_model(tiny_path), ids, torch.ones_like(ids), 2, 1.0, False) is None
