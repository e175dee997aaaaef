"""A stand-in modality ("codes": states are runs of four added tokens <c0>..<c3>, as image codes will be)
run through every consumer of the seam: the vocabulary, the IDM's list of changes, the state metrics,
reading, decoding in evaluation and in TRL's GRPO sampling. Nothing here is text-specific, which is the
point: the image modality is added the same way."""

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from swirl_wm import modality as registry
from swirl_wm.backend.grpo import train_grpo
from swirl_wm.config import EvalConfig, GRPOPhaseConfig
from swirl_wm.evaluation.evaluate import state_metrics
from swirl_wm.models.generation import generate
from swirl_wm.models.loading import BaseModelRef, load_model, load_tokenizer, with_added_tokens
from swirl_wm.models.prompts import PromptFormat, build_prompt
from swirl_wm.models.scoring import Scorer
from swirl_wm.objectives.rewards import SwirlReward
from swirl_wm.recipes.data import check_states
from swirl_wm.records import Episode, Role, Transition

CODES = tuple(f"<c{i}>" for i in range(4))


class Codes:
    name = "codes"
    native = False

    def check(self, state: str) -> str | None:
        rest = state
        for code in CODES:
            rest = rest.replace(code, "")
        return None if not rest.strip() else f"text outside the codes: {rest.strip()[:20]!r}"

    def truncate(self, state: str, max_chars: int) -> tuple[str, bool]:
        return state, False

    def diff(self, x: str, y: str) -> str:
        return f"{sum(a != b for a, b in zip(x.split('>'), y.split('>'), strict=False))} codes changed"

    def added_tokens(self) -> tuple[str, ...]:
        return CODES

    def suppressed_tokens(self, vocabulary: Mapping[str, int], role: Role) -> list[int]:
        codes = {vocabulary[c] for c in CODES}
        if not role.writes_state:
            return sorted(codes)
        keep = codes | {vocabulary["<|im_end|>"]}  # the FWM writes codes, then ends
        return sorted(set(vocabulary.values()) - keep)

    def metrics(self, predictions: Sequence[str], references: Sequence[str],
                priors: Sequence[str] | None = None) -> dict[str, float]:
        return {"code_match": sum(p == r for p, r in zip(predictions, references, strict=True)) / len(references)}


@pytest.fixture
def codes(monkeypatch, tmp_path, tiny_path):
    monkeypatch.setitem(registry.MODALITIES, "codes", Codes())
    base = with_added_tokens(BaseModelRef(tiny_path, "tiny"), CODES, tmp_path / "base-tokens")
    return base.path


def test_added_tokens_get_ids_and_embedding_rows(codes, tiny_path):
    before, after = AutoTokenizer.from_pretrained(tiny_path), load_tokenizer(codes)
    assert len(after) == len(before) + 4 and after.convert_tokens_to_ids("<c3>") == len(before) + 3
    assert load_model(codes).get_input_embeddings().weight.shape[0] == len(after)
    assert after("<c1><c2>", add_special_tokens=False)["input_ids"] == [len(before) + 1, len(before) + 2]
    with pytest.raises(ValueError, match="already in the vocabulary"):
        with_added_tokens(BaseModelRef(codes, "with codes"), CODES, Path(codes + "-again"))


def test_prompts_metrics_and_reading_follow_the_modality(codes):
    tokenizer = load_tokenizer(codes)
    fmt = PromptFormat(idm_diff=True, modality="codes")
    assert "Changes: 1 codes changed" in build_prompt(tokenizer, "idm", "<c0><c1>", "<c0><c2>", fmt)
    metrics = state_metrics("fwm", None, ["<c0>", "<c1>"], ["<c0>", "<c2>"], EvalConfig(), embedding=False,
                            modality=Codes())
    assert metrics == {"fwm/code_match": 0.5}
    episode = Episode("e1", "jsonl", (Transition(x="<c0>", z="a", y="<c1>", step=0),
                                      Transition(x="<c1>", z="b", y="oops <c2>", step=1)))
    check_states([episode], registry.modality_of("text"), "f.jsonl")  # any string is a text state
    with pytest.raises(ValueError, match="f.jsonl: episode 'e1' step 1 field 'y': not a codes state: text outside"):
        check_states([episode], registry.modality_of("codes"), "f.jsonl")


def test_each_role_decodes_only_its_own_tokens(codes):
    tokenizer = load_tokenizer(codes)
    scorer = Scorer(load_model(codes), tokenizer, prompt_format=PromptFormat(modality="codes"))
    prompts = [build_prompt(tokenizer, "fwm", "<c0><c1>", "push", scorer.prompt_format)] * 3
    states = generate(scorer.model, tokenizer, prompts, 6, do_sample=True, seed=0,
                      suppress_tokens=scorer.suppressed_tokens("fwm"))
    assert all(s and Codes().check(s) is None for s in states)  # codes only (the random model says them)
    actions = generate(scorer.model, tokenizer, prompts, 6, do_sample=True, seed=0,
                       suppress_tokens=scorer.suppressed_tokens("idm"))
    assert not any(c in a for a in actions for c in CODES)


@pytest.mark.slow
def test_grpo_sampling_keeps_the_fwm_to_codes(codes, tmp_path):
    """TRL's sampling in a phase gets the constraint too (GenerationConfig.suppress_tokens)."""
    tokenizer = load_tokenizer(codes)
    seen: list[str] = []

    class Spy(SwirlReward):
        def __call__(self, prompts, completions, **columns):
            seen.extend(completions)
            return super().__call__(prompts, completions, **columns)

    idm = Scorer(load_model(codes), tokenizer, prompt_format=PromptFormat(modality="codes"), min_logprob=-1000)
    pairs = [Transition(x="<c0><c1>", z="push", y="<c1><c1>"), Transition(x="<c2>", z="wait", y="<c2>")]
    config = GRPOPhaseConfig(learning_rate=1e-4, num_generations=2, per_device_train_batch_size=4, max_steps=1,
                             max_completion_length=5)
    train_grpo(codes, Spy("fwm", idm), pairs, config, tmp_path / "out", tmp_path / "logs", seed=0)
    assert len(seen) == 4 and all(Codes().check(s) is None for s in seen)
