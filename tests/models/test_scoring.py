import math

import pytest
import torch

from swirl_wm.models.prompts import completion, fwm_prompt
from swirl_wm.models.scoring import Scorer, mean_token_logprob


def test_mean_token_logprob_by_hand():
    # two tokens over a 2-word vocabulary; row 0 scores both, row 1 only the second
    logits = torch.tensor([[[0.0, 0.0], [math.log(3.0), 0.0]], [[0.0, 0.0], [math.log(3.0), 0.0]]])
    labels = torch.tensor([[0, 0], [1, 1]])
    mask = torch.tensor([[1, 1], [0, 1]])
    got = mean_token_logprob(logits, labels, mask)
    expected0 = (math.log(0.5) + math.log(0.75)) / 2
    expected1 = math.log(0.25)
    assert got.tolist() == pytest.approx([expected0, expected1], abs=1e-6)


def test_clamp_and_empty_span():
    logits = torch.tensor([[[100.0, -100.0]], [[0.0, 0.0]]])
    got = mean_token_logprob(logits, torch.tensor([[1], [0]]), torch.tensor([[1], [0]]), min_logprob=-10.0)
    assert got.tolist() == [-10.0, -10.0]


def test_scorer_matches_a_manual_forward_pass(tiny):
    model, tokenizer = tiny
    prompt = fwm_prompt(tokenizer, "ball: pos=1", "push the ball right")
    target = "ball: pos=2"
    p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    t = tokenizer(completion(tokenizer, target), add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logprobs = torch.log_softmax(model(torch.tensor([p + t])).logits[0], -1)
    manual = sum(logprobs[len(p) + i - 1, tok].item() for i, tok in enumerate(t)) / len(t)
    scorer = Scorer(model, tokenizer, batch_size=2, min_logprob=-1e9)
    # batched with a longer row: padding must not change the score
    got = scorer([prompt, prompt + " extra words here"], [target, target])
    assert got[0] == pytest.approx(max(manual, -1e9), abs=1e-4)
    assert Scorer(model, tokenizer, min_logprob=-10.0)([prompt], [target])[0] >= -10.0


def test_trimmed_logits_score_what_every_position_scores(tiny):
    """The output layer at the targets' positions only (logits_to_keep) changes no score: prompts and
    targets of different lengths in one batch, so that the kept window is wider than any one target."""
    model, tokenizer = tiny
    prompts = [fwm_prompt(tokenizer, "ball: pos=1", "push"), fwm_prompt(tokenizer, "ball: pos=1 vel=0 temp=20 " * 3,
                                                                         "push the ball right"), "short"]
    targets = ["ball: pos=2", "b", "a much longer target than the others, with words"]
    trimmed = Scorer(model, tokenizer, batch_size=3, min_logprob=-1e9)(prompts, targets)
    full = Scorer(model, tokenizer, batch_size=3, min_logprob=-1e9, trim_logits=False)(prompts, targets)
    assert trimmed == pytest.approx(full, abs=1e-5)


def test_scorer_rejects_length_mismatch(tiny):
    with pytest.raises(ValueError, match="2 prompts but 1 targets"):
        Scorer(*tiny)(["a", "b"], ["c"])
