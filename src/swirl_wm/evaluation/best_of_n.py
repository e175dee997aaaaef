"""Best-of-N by IDM score: the test-time verification baseline of SWIRL §4.

For a held-out transition ``(x, z, y)`` the SFT FWM samples N candidate next states
``ŷ_1..ŷ_N ~ P_θ(· | x, z)``; the IDM scores each by ``log Q_φ(z | x, ŷ_i)`` (mean nats per token, the
same scorer as the Phase I reward) and the highest-scoring candidate is the prediction. It spends N
samples and N IDM passes per prediction at test time where SWIRL spends them in training, so it shows how
much of SWIRL's gain a verifier alone gives.
"""

from __future__ import annotations

from collections.abc import Sequence

from swirl_wm.models.generation import generate
from swirl_wm.models.prompts import fwm_prompt, idm_prompt
from swirl_wm.models.scoring import Scorer
from swirl_wm.records import FWM, Transition


def best_of_n(fwm: Scorer, idm: Scorer, transitions: Sequence[Transition], n: int, *, max_new_tokens: int,
              temperature: float, top_p: float, batch_size: int, seed: int) -> tuple[list[str], list[float]]:
    """The IDM's favourite of N sampled next states, for each labelled transition.

    Args:
        fwm: the FWM that samples (its model and tokenizer are used).
        idm: the IDM that verifies (its scorer gives ``log Q_φ(z | x, ŷ)``).
        transitions: T transitions with their gold action ``z``.
        n: samples per transition (N ≥ 1; N = 1 is one plain sample).
        max_new_tokens, temperature, top_p: sampling of the candidates (tokens; SWIRL's T = 0.7, top-p 0.96).
        batch_size: prompts per generation batch.
        seed: seeds the sampling.

    Returns:
        ``(predictions, scores)``: T chosen next states and their IDM scores (nats per token, ≤ 0).
        Ties go to the earlier sample.

    Raises:
        ValueError: ``n < 1``, or a transition without a gold action.

    Source: SWIRL (arXiv:2602.06130) §4, the test-time-verification comparison; method.md §1.
    """
    if n < 1:
        raise ValueError(f"best-of-N needs n ≥ 1, got {n}")
    if any(t.z is None for t in transitions):
        raise ValueError("best-of-N needs the gold action of every transition")
    prompts = [fwm_prompt(fwm.tokenizer, t.x, t.z, fwm.prompt_format) for t in transitions for _ in range(n)]
    samples = generate(fwm.model, fwm.tokenizer, prompts, max_new_tokens, do_sample=True, temperature=temperature,
                       top_p=top_p, batch_size=batch_size, seed=seed, desc=f"best-of-{n} candidates",
                       suppress_tokens=fwm.suppressed_tokens(FWM))
    samples = [fwm.prompt_format.next_state(transitions[i // n].x, s) for i, s in enumerate(samples)]
    grouped = [samples[i * n:(i + 1) * n] for i in range(len(transitions))]
    scores = idm([idm_prompt(idm.tokenizer, t.x, s, idm.prompt_format)
                  for t, group in zip(transitions, grouped, strict=True) for s in group],
                 [t.z for t in transitions for _ in range(n)])
    predictions, best_scores = [], []
    for i, group in enumerate(grouped):
        row = scores[i * n:(i + 1) * n]
        best = max(range(n), key=lambda k, r=row: (r[k], -k))
        predictions.append(group[best])
        best_scores.append(row[best])
    return predictions, best_scores
