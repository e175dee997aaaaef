"""Use a trained world model: predict next states, infer actions, score transitions, roll out plans.

:class:`WorldModel` holds the two roles of SWIRL (arXiv:2602.06130 §3.1) — the FWM ``P_θ(y | x, z)`` and
the IDM ``Q_φ(z | x, y)`` — each a causal LM with its tokenizer, and builds their prompts exactly as
training did (:mod:`swirl_wm.models.prompts`, with the run's task description). Load one from two plain
Hugging Face folders (:meth:`WorldModel.from_pretrained`) or from a run folder
(:func:`swirl_wm.evaluation.run_eval.load_world_model`, also ``swirl_wm.load_world_model``).

Every method takes one input or a batch: a string argument is a batch of one whose batch dimension is
removed from the result. Legend: B batch, n samples per input. ``n = 1`` decodes greedily; ``n > 1``
samples with ``temperature`` and ``top_p`` (the paper's 0.7 and 0.96 by default, method.md §1.6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from swirl_wm.modality import StateModality
from swirl_wm.models.generation import generate
from swirl_wm.models.loading import load_model, load_tokenizer
from swirl_wm.models.prompts import PromptFormat, fwm_prompt, idm_prompt
from swirl_wm.models.scoring import DEFAULT_MIN_LOGPROB, Scorer
from swirl_wm.records import FWM, IDM, Role, Transition


@dataclass(frozen=True)
class InferredAction:
    """An action proposed by the IDM and its mean token log-probability ``log Q_φ(z | x, y)`` (nats per
    token, clamped below at ``min_logprob``): the confidence the released code filters on (−2.0)."""

    action: str
    logprob: float


def default_device() -> str:
    """``"cuda"`` when a GPU is visible, else ``"cpu"``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def _batch(*columns: str | Sequence[str]) -> tuple[bool, list[list[str]]]:
    """(single, columns as equal-length lists). Raises ValueError on mixed or unequal inputs."""
    single = all(isinstance(c, str) for c in columns)
    if not single and any(isinstance(c, str) for c in columns):
        raise ValueError("pass either one string per argument or equal-length lists, not a mix")
    lists = [[c] if isinstance(c, str) else list(c) for c in columns]
    if len({len(c) for c in lists}) != 1:
        raise ValueError(f"batch arguments differ in length: {[len(c) for c in lists]}")
    return single, lists


def _group(flat: list[Any], n: int) -> list[list[Any]]:
    return [flat[i:i + n] for i in range(0, len(flat), n)]


class WorldModel:
    """A forward world model and an inverse dynamics model, ready to use.

    Args:
        fwm: the FWM's scorer (model, tokenizer, batch size, clamp, the run's task description).
        idm: the IDM's scorer; may hold the same model as ``fwm`` (shared weights).
        max_new_tokens_state: generation budget of a next state (tokens).
        max_new_tokens_action: generation budget of an action (tokens).
    """

    def __init__(self, fwm: Scorer, idm: Scorer, max_new_tokens_state: int = 256,
                 max_new_tokens_action: int = 32) -> None:
        self.fwm = fwm
        self.idm = idm
        self.max_new_tokens_state = max_new_tokens_state
        self.max_new_tokens_action = max_new_tokens_action

    @classmethod
    def from_pretrained(cls, fwm_path: str, idm_path: str | None = None, *, description: str | None = None,
                        device: str | None = None, dtype: torch.dtype | None = None, batch_size: int = 16,
                        min_logprob: float = DEFAULT_MIN_LOGPROB, **budgets: int) -> WorldModel:
        """Load the two roles from Hugging Face folders (safetensors), one folder when weights are shared; a
        folder may hold a LoRA adapter (``model.lora.shared_base``), loaded on its base and merged.

        Args:
            fwm_path: the FWM's folder.
            idm_path: the IDM's folder; ``None`` or the same path = one model for both roles.
            description: the task description the models were trained with (``data.description``); ``None`` =
                the one saved in each folder's ``prompt_format.json`` (with whether the IDM reads the list of
                changes; :class:`~swirl_wm.models.prompts.PromptFormat`).
            device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; ``None`` = :func:`default_device`.
            dtype: ``None`` = bfloat16 on a GPU that supports it, float32 otherwise.
            budgets: ``max_new_tokens_state`` / ``max_new_tokens_action``.

        Raises:
            OSError: a folder without a model or tokenizer; ValueError: a malformed ``prompt_format.json``.
        """
        device = device or default_device()
        if dtype is None:
            dtype = torch.bfloat16 if device.startswith("cuda") and torch.cuda.is_bf16_supported() else torch.float32

        def scorer(path: str) -> Scorer:
            fmt = PromptFormat.load(path)
            if description is not None:
                fmt = replace(fmt, description=description)
            return Scorer(load_model(path, device, dtype), load_tokenizer(path), batch_size=batch_size,
                          min_logprob=min_logprob, prompt_format=fmt)

        fwm = scorer(fwm_path)
        idm = fwm if idm_path in (None, fwm_path) else scorer(idm_path)
        return cls(fwm, idm, **budgets)

    @property
    def modality(self) -> StateModality:
        """The states' modality (:mod:`swirl_wm.modality`), as the FWM was trained with."""
        return self.fwm.prompt_format.state_modality

    def _fwm_prompts(self, xs: list[str], zs: list[str]) -> list[str]:
        return [fwm_prompt(self.fwm.tokenizer, x, z, self.fwm.prompt_format) for x, z in zip(xs, zs, strict=True)]

    def _generate(self, role: Role, prompts: list[str], n: int, temperature: float, top_p: float,
                  seed: int | None) -> list[list[str]]:
        scorer = self.fwm if role.writes_state else self.idm
        flat = [p for p in prompts for _ in range(n)]
        out = generate(scorer.model, scorer.tokenizer, flat, role.max_new_tokens(self), do_sample=n > 1,
                       temperature=temperature, top_p=top_p, batch_size=scorer.batch_size, seed=seed,
                       desc="world model", suppress_tokens=scorer.suppressed_tokens(role))
        return _group(out, n)

    def predict(self, x: str | Sequence[str], z: str | Sequence[str], n: int = 1, *, temperature: float = 0.7,
                top_p: float = 0.96, seed: int | None = None) -> list[str] | list[list[str]]:
        """Next states ``ŷ ~ P_θ(· | x, z)``.

        Returns:
            ``n`` next states for one ``(x, z)``; ``(B, n)`` nested lists for a batch.

        Raises:
            ValueError: mixed single/batch arguments or unequal lengths; ``n < 1``.
        """
        single, (xs, zs) = self._check(n, x, z)
        prompts = self._fwm_prompts(xs, zs)
        out = self._generate(FWM, prompts, n, temperature, top_p, seed)
        fmt = self.fwm.prompt_format
        out = [[fmt.next_state(xi, c) for c in row] for xi, row in zip(xs, out, strict=True)]
        return out[0] if single else out

    def infer_action(self, x: str | Sequence[str], y: str | Sequence[str], n: int = 1, *, temperature: float = 0.7,
                     top_p: float = 0.96, seed: int | None = None
                     ) -> list[InferredAction] | list[list[InferredAction]]:
        """Actions ``ẑ ~ Q_φ(· | x, y)`` that explain each transition, with their mean token log-probability.

        Returns:
            ``n`` :class:`InferredAction` for one ``(x, y)``; ``(B, n)`` nested lists for a batch.

        Raises:
            ValueError: as :meth:`predict`.
        """
        single, (xs, ys) = self._check(n, x, y)
        prompts = [idm_prompt(self.idm.tokenizer, xi, yi, self.idm.prompt_format)
                   for xi, yi in zip(xs, ys, strict=True)]
        actions = self._generate(IDM, prompts, n, temperature, top_p, seed)
        scores = _group(self.idm([p for p in prompts for _ in range(n)], [a for row in actions for a in row]), n)
        out = [[InferredAction(a, s) for a, s in zip(row_a, row_s, strict=True)]
               for row_a, row_s in zip(actions, scores, strict=True)]
        return out[0] if single else out

    def score(self, x: str | Sequence[str], z: str | Sequence[str], y: str | Sequence[str]) -> float | list[float]:
        """``log P_θ(y | x, z)``: the FWM's mean token log-probability of ``y`` (nats per token, clamped below
        at ``min_logprob``; the Phase II reward, SWIRL §3.4).

        Returns:
            one float, or ``B`` floats for a batch.

        Raises:
            ValueError: as :meth:`predict`.
        """
        single, (xs, zs, ys) = _batch(x, z, y)
        fmt = self.fwm.prompt_format
        out = self.fwm(self._fwm_prompts(xs, zs), [fmt.fwm_completion(xi, yi) for xi, yi in zip(xs, ys, strict=True)])
        return out[0] if single else out

    def rollout(self, x0: str | Sequence[str], actions: Sequence[str] | Sequence[Sequence[str]]
                ) -> list[str] | list[list[str]]:
        """Roll a plan out in the FWM: ``ŷ_1 = FWM(x0, z_1)``, ``ŷ_t = FWM(ŷ_{t-1}, z_t)`` (greedy), the
        model feeding on its own predictions (the WorldPredictionBench protocol, SWIRL §4).

        Args:
            x0: a start state, or B start states.
            actions: the plan ``[z_1, …, z_T]`` of one start state, or B plans (lengths may differ).

        Returns:
            the T predicted states of one plan; B lists (one per plan, its own length) for a batch.

        Raises:
            ValueError: a batch of start states and plans of different lengths; a plan that is a string.
        """
        single = isinstance(x0, str)
        if isinstance(actions, str) or (not single and any(isinstance(p, str) for p in actions)):
            raise ValueError("actions: a list of action strings per start state, not a string")
        starts = [x0] if single else list(x0)
        plans = [list(actions)] if single else [list(p) for p in actions]
        if len(starts) != len(plans):
            raise ValueError(f"{len(starts)} start states but {len(plans)} plans")
        chains: list[list[str]] = [[] for _ in starts]
        for t in range(max((len(p) for p in plans), default=0)):
            active = [i for i, p in enumerate(plans) if t < len(p)]
            current = [chains[i][-1] if chains[i] else starts[i] for i in active]
            nxt = self.predict(current, [plans[i][t] for i in active])
            for i, states in zip(active, nxt, strict=True):
                chains[i].append(states[0])
        return chains[0] if single else chains

    def label(self, transitions: Sequence[Transition], min_logprob: float | None = None, relabel: bool = False
              ) -> list[Transition]:
        """Annotate transitions with the IDM's greedy action and its confidence (the released code labels
        every pair this way before each phase, method.md §1.6).

        Each unlabelled transition (every one with ``relabel``) gets ``z`` = the IDM's action and
        ``meta["idm_action"]``, ``meta["idm_logprob"]`` (mean nats per token); with ``min_logprob``, an action
        below it is not trusted: ``z`` stays ``None`` and only the meta fields record it (nothing is dropped).
        Gold actions are kept and marked ``meta["label_source"] = "gold"``; IDM labels ``"idm"``, untrusted
        ones ``"none"``; a gold action replaced under ``relabel`` is kept in ``meta["gold_action"]``.

        Returns:
            the transitions in input order (new records; the inputs are not changed).
        """
        todo = [i for i, t in enumerate(transitions) if relabel or t.z is None]
        guesses = self.infer_action([transitions[i].x for i in todo], [transitions[i].y for i in todo]) if todo else []
        out = [replace(t, meta={**t.meta, "label_source": "gold"}) for t in transitions]
        for i, (guess,) in zip(todo, guesses, strict=True):
            t = transitions[i]
            trusted = min_logprob is None or guess.logprob >= min_logprob
            meta = {**t.meta, "idm_action": guess.action, "idm_logprob": guess.logprob,
                    "label_source": "idm" if trusted else "none", **({"gold_action": t.z} if t.z is not None else {})}
            out[i] = replace(t, z=guess.action if trusted else None, meta=meta)
        return out

    @staticmethod
    def _check(n: int, *columns: str | Sequence[str]) -> tuple[bool, list[list[str]]]:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        return _batch(*columns)
