"""NaN/inf containment: a non-finite score becomes the worst reward and is counted; a model with
non-finite weights is never written as a checkpoint."""

import copy

import pytest
import torch

from swirl_wm.backend.checkpoints import save_trained
from swirl_wm.models.scoring import Scorer, mean_token_logprob


def test_nan_row_gets_the_clamp_and_other_rows_are_untouched():
    logits = torch.zeros(2, 1, 2)
    logits[1, 0, 0] = float("nan")
    got = mean_token_logprob(logits, torch.tensor([[0], [0]]), torch.ones(2, 1), min_logprob=-10.0)
    assert got.tolist() == pytest.approx([torch.log(torch.tensor(0.5)).item(), -10.0])


def _poisoned(model):
    broken = copy.deepcopy(model)
    with torch.no_grad():
        next(broken.parameters()).fill_(float("nan"))
    return broken


def test_scorer_counts_non_finite_rows(tiny):
    model, tokenizer = tiny
    scorer = Scorer(_poisoned(model), tokenizer, min_logprob=-10.0)
    assert scorer(["a", "b"], ["c", "d"]) == [-10.0, -10.0]
    assert scorer.nonfinite == 2
    healthy = Scorer(model, tokenizer)
    healthy(["a"], ["c"])
    assert healthy.nonfinite == 0


def test_no_checkpoint_is_written_from_non_finite_weights(tiny, tmp_path):
    from transformers import Trainer, TrainingArguments

    model, tokenizer = tiny
    args = TrainingArguments(output_dir=str(tmp_path / "logs"), report_to=[], use_cpu=True)
    with pytest.raises(FloatingPointError, match="non-finite weights in 1 tensors"):
        save_trained(Trainer(model=_poisoned(model), args=args), tokenizer, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
    save_trained(Trainer(model=model, args=args), tokenizer, tmp_path / "good")
    assert (tmp_path / "good" / "model.safetensors").exists()
