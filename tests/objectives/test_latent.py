from swirl_wm.config import LatentActionConfig
from swirl_wm.models.scoring import Scorer
from swirl_wm.objectives import latent
from swirl_wm.objectives.latent import infer_latent_actions
from swirl_wm.records import Transition

PAIRS = [Transition(x=f"width=8 | ball: pos={i} vel=0 temp=20", z=None, y=f"width=8 | ball: pos={i} vel=0 temp=30",
                    episode_id=f"e{i}") for i in range(3)]


def _label(tiny, **config):
    scorer = Scorer(*tiny, min_logprob=-1e9)
    return infer_latent_actions(scorer, PAIRS, LatentActionConfig(max_new_tokens=4, **config), temperature=0.7,
                                top_p=0.96, batch_size=2, seed=0)


def test_greedy_threshold_drops_empty_and_low_probability_actions(tiny, monkeypatch):
    # the random tiny model's greedy text is whitespace; fix the generated actions, keep the real scorer
    monkeypatch.setattr(latent, "generate", lambda *a, **k: ["push the ball", "", "push the ball"])
    kept, stats = _label(tiny, mode="greedy", threshold=-1e8)
    assert [t.episode_id for t in kept] == ["e0", "e2"] and [t.z for t in kept] == ["push the ball"] * 2
    assert (stats.pairs, stats.kept, stats.distinct_fraction, stats.mean_words) == (3, 2, 0.5, 3.0)
    assert all(t.x == p.x and t.y == p.y for t, p in zip(kept, PAIRS[::2], strict=True))
    none, stats = _label(tiny, mode="greedy", threshold=0.0)  # a random model is never that sure
    assert none == [] and stats.kept == 0 and stats.distinct_fraction == 0.0


def test_sampling_is_seeded(tiny):
    a, _ = _label(tiny, mode="sample")
    b, _ = _label(tiny, mode="sample")
    assert [t.z for t in a] == [t.z for t in b]


def test_sample_mode_filters_by_confidence_only_when_asked(tiny, monkeypatch):
    monkeypatch.setattr(latent, "generate", lambda *a, **k: ["push the ball", "heat it", "push the ball"])
    kept, _ = _label(tiny, mode="sample", threshold=0.0)  # the paper's sampling keeps every sampled action
    assert len(kept) == 3
    kept, stats = _label(tiny, mode="sample", threshold=0.0, filter_samples=True)  # never that sure
    assert kept == [] and stats.pairs == 3
    kept, _ = _label(tiny, mode="sample", threshold=-1e8, filter_samples=True)
    assert len(kept) == 3


class _StubFWM:
    """Scores ``log P(y | x, z)`` by the action named in the prompt: the pick must follow these numbers."""

    def __init__(self, tokenizer, scores):
        from swirl_wm.models.prompts import PLAIN
        self.tokenizer, self.prompt_format, self.scores, self.calls = tokenizer, PLAIN, scores, []

    def __call__(self, prompts, targets, desc=None):
        self.calls.append(len(prompts))
        return [next((v for a, v in self.scores.items() if a in p), 0.0) for p in prompts]  # 0: the empty action


def test_candidates_keep_the_action_under_which_the_fwm_likes_the_observed_y_best(tiny, monkeypatch):
    proposals = ["push the ball", "heat the ball", "heat the ball", "cool the ball", "", "cool the ball"]
    seen = {}
    monkeypatch.setattr(latent, "generate", lambda model, tok, prompts, *a, **k: seen.setdefault("n", prompts)
                        and proposals)
    fwm = _StubFWM(tiny[1], {"push the ball": -3.0, "heat the ball": -1.0, "cool the ball": -2.0})
    scorer = Scorer(*tiny, min_logprob=-1e9)
    kept, stats = infer_latent_actions(scorer, PAIRS, LatentActionConfig(max_new_tokens=4, candidates=2),
                                       temperature=0.7, top_p=0.96, batch_size=2, seed=0, fwm=fwm)
    assert len(seen["n"]) == 6 and seen["n"][0] == seen["n"][1]  # K prompts per pair, in pair order
    # pair 0: heat (−1) over push (−3); pair 1: heat over cool (−2); pair 2: the empty action (0) never wins
    assert [t.z for t in kept] == ["heat the ball", "heat the ball", "cool the ball"]
    assert fwm.calls == [6] and stats.candidates == 2 and stats.reselected == 2 / 3


def test_candidates_need_an_fwm_and_sampling(tiny):
    import pytest
    from pydantic import ValidationError
    with pytest.raises(ValueError, match="needs the FWM"):
        _label(tiny, candidates=2)
    with pytest.raises(ValidationError, match="needs mode 'sample'"):
        LatentActionConfig(mode="greedy", candidates=2)
