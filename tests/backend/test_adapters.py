"""Shared-weights SWIRL as two adapters on one frozen base (model.lora.shared_base): the frozen role scored
through the policy's base gives what the same adapter merged into its own copy gives, and leaves the
policy's active adapter, trainable parameters and train mode alone."""

import json
import shutil

import pytest
import torch
from peft import LoraConfig, get_peft_model

from swirl_wm.backend.adapters import FROZEN, attach_frozen, policy_model
from swirl_wm.models.loading import adapter_base, is_adapter, load_model, load_tokenizer
from swirl_wm.models.scoring import Scorer


def _adapter(tiny_path, folder, seed):
    """A rank-2 adapter on the tiny base with non-zero B (a fresh adapter would be the identity)."""
    model = get_peft_model(load_model(tiny_path), LoraConfig(r=2, target_modules="all-linear", lora_dropout=0.1))
    torch.manual_seed(seed)
    for name, param in model.named_parameters():
        if "lora_B" in name:
            param.data.normal_(0, 0.2)
    model.save_pretrained(folder)
    load_tokenizer(tiny_path).save_pretrained(folder)
    return folder


def test_frozen_adapter_on_the_policys_base_scores_like_its_merged_copy(tmp_path, tiny_path):
    idm = _adapter(tiny_path, tmp_path / "idm", seed=1)
    fwm = _adapter(tiny_path, tmp_path / "fwm", seed=2)
    assert is_adapter(idm) and not is_adapter(tiny_path) and adapter_base(idm) == tiny_path
    tokenizer = load_tokenizer(tiny_path)
    prompts, targets = ["ball: x=1", "cube: temp=20 and more words"], ["push ball right", "heat cube"]
    merged = Scorer(load_model(str(idm)), tokenizer, min_logprob=-1000)(prompts, targets)

    policy, peft = policy_model(str(fwm), LoraConfig(r=4))
    assert peft is None  # training goes on with the saved adapter, not a new one
    trainable = {n for n, p in policy.named_parameters() if p.requires_grad}
    assert trainable and all(".default." in n for n in trainable)
    policy.train()  # as the trainer holds it
    view = attach_frozen(policy, idm)
    shared = Scorer(view, tokenizer, min_logprob=-1000)(prompts, targets)
    assert shared == pytest.approx(merged, abs=1e-4)
    # the policy is untouched: still training its own adapter, in train mode, the frozen one has no gradient
    assert policy.training and policy.active_adapter == "default"
    assert {n for n, p in policy.named_parameters() if p.requires_grad} == trainable
    assert any(f".{FROZEN}." in n for n, _ in policy.named_parameters())
    # and the policy's own forward is its own adapter's, not the frozen one's
    policy_scores = Scorer(load_model(str(fwm)), tokenizer, min_logprob=-1000)(prompts, targets)
    assert policy_scores != pytest.approx(merged, abs=1e-3)


def test_attach_frozen_rejects_a_whole_model_or_another_base(tmp_path, tiny_path):
    fwm = _adapter(tiny_path, tmp_path / "fwm", seed=2)
    policy, _ = policy_model(str(fwm), None)
    with pytest.raises(ValueError, match="holds a whole model"):
        attach_frozen(policy, tiny_path)
    other = _adapter(tiny_path, tmp_path / "other", seed=3)
    config = json.loads((other / "adapter_config.json").read_text())
    shutil.copytree(tiny_path, tmp_path / "elsewhere")
    for base, error, match in ((tmp_path / "elsewhere", ValueError, "but the policy's base is"),
                               (tmp_path / "nowhere", FileNotFoundError, "does not exist")):
        (other / "adapter_config.json").write_text(json.dumps(config | {"base_model_name_or_path": str(base)}))
        with pytest.raises(error, match=match):
            attach_frozen(policy, other)
