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
            logps, entropies, _ = shared_prefix_logps(model, ids, mask, keep, temperature, compute_entropy=True)
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


def test_targets_ride_on_the_prompt_cache_and_score_as_a_plain_pass(tiny_path):
    """Phase I's NLL term: each distinct (prompt, target) pair's mean token NLL, scored in the same pass as
    the completions, equals the NLL of a plain forward pass over prompt + target; the completions'
    log-probabilities are unchanged by the extra rows, and a repeated pair is scored once."""
    from swirl_wm.backend.shared_prefix import shared_prefix_logps

    tokenizer = load_tokenizer(tiny_path)
    model = load_model(tiny_path)
    prompts = [fwm_prompt(tokenizer, "ball: pos=1 vel=0", "push"), fwm_prompt(tokenizer, "cube: temp=20", "heat it")]
    prompt = tokenizer([p for p in prompts for _ in range(2)], return_tensors="pt", padding=True,
                       padding_side="left", add_special_tokens=False)
    completion = tokenizer(["pos=2", "pos=3 vel=1", "temp=30", "t"], return_tensors="pt", padding=True,
                           padding_side="right", add_special_tokens=False)
    target_texts = ["ball: pos=2 vel=1 and a longer observed state", "ball: pos=2 vel=1 and a longer observed state",
                    "cube: temp=30", "cube: temp=30"]
    target = tokenizer(target_texts, return_tensors="pt", padding=True, padding_side="right", add_special_tokens=False)
    ids = torch.cat([prompt.input_ids, completion.input_ids], 1)
    mask = torch.cat([prompt.attention_mask, completion.attention_mask], 1)
    keep = completion.input_ids.shape[1]
    with torch.no_grad():
        logps, _, nll = shared_prefix_logps(model, ids, mask, keep, 0.7, False,
                                            (target.input_ids, target.attention_mask))
        plain, _, none = shared_prefix_logps(model, ids, mask, keep, 0.7, False)
        expected = []
        for row in (0, 2):
            n = int(target.attention_mask[row].sum())
            full = torch.cat([prompt.input_ids[row], target.input_ids[row, :n]]).unsqueeze(0)
            full_mask = torch.cat([prompt.attention_mask[row], torch.ones(n, dtype=torch.long)]).unsqueeze(0)
            logits = model(input_ids=full, attention_mask=full_mask).logits[0, -n - 1:-1]
            expected.append(-torch.log_softmax(logits, -1).gather(1, target.input_ids[row, :n, None]).mean())
    assert none is None and torch.allclose(logps, plain, atol=1e-5)
    assert nll.shape == (2,) and torch.allclose(nll.sort().values, torch.stack(expected).sort().values, atol=1e-4)


@pytest.mark.slow
def test_phase1_with_the_nll_term_logs_it_and_learns_the_observed_state(tiny_path, tmp_path):
    """GRPO + λ · NLL(y | x, ẑ): the trainer logs the observed state's NLL at every step, and it falls over
    four steps; without the shared-prefix pass the term is refused."""
    from swirl_wm.backend.grpo import train_grpo
    from swirl_wm.config import GRPOPhaseConfig
    from swirl_wm.models.scoring import Scorer
    from swirl_wm.objectives.rewards import SwirlReward
    from swirl_wm.records import Transition

    pairs = [Transition(x="ball: pos=1 vel=0", z="push the ball right", y="ball: pos=2 vel=1")] * 4
    idm = Scorer(load_model(tiny_path), load_tokenizer(tiny_path), min_logprob=-1000)
    config = GRPOPhaseConfig(learning_rate=3e-3, num_generations=2, per_device_train_batch_size=4, max_steps=4,
                             max_completion_length=4, beta=0.0)
    _, history = train_grpo(tiny_path, SwirlReward("fwm", idm), pairs, config, tmp_path / "out", tmp_path / "logs",
                            seed=0, nll_weight=1.0)
    nll = [h["nll"] for h in history if "nll" in h]
    assert len(nll) == 4 and nll[-1] < nll[0]
    with pytest.raises(ValueError, match="share_prompt_prefix"):
        train_grpo(tiny_path, SwirlReward("fwm", idm), pairs, config.model_copy(update={"share_prompt_prefix": False}),
                   tmp_path / "out2", tmp_path / "logs2", seed=0, nll_weight=1.0)
