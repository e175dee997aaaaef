"""The speed measurements (``swirl speed``): each returns a result JSON with the provenance header.

- :func:`iteration_speed`: one SWIRL iteration (Phase I, then Phase II) through swirl-wm's GRPO path
  (:func:`~swirl_wm.backend.grpo.train_grpo`: the shared prompt prefix and the batched scorer) and through
  stock ``trl.GRPOTrainer`` with a plain callable reward (:class:`~swirl_wm.backend.speed.PlainReward`), on the
  same pairs, seed, G and steps, timed part by part, the pipelines **interleaved** (A B, B A, A B ...) over
  ``repeats`` repeats, with the load average and the commit of every run; the speed-up is the median of the
  per-repeat ratios with its bootstrap interval (:func:`~swirl_wm.reporting.speed.paired_ratio`). Refuses a
  tree with uncommitted changes unless told, so every figure names the code it measured.
- :func:`scaling`: the swirl-wm rows of several one-setting iteration results at one machine speed.
- :func:`scorer_speed`, :func:`scorer_memory`, :func:`sft_step`: the frozen scorer and the SFT step.
- :func:`rollout_speed`, :func:`paw_overhead`: the agent runs' rollouts and PaW's cost over GRPO.

Both roles of the iteration start from the same base model (no SFT: speed does not depend on it, and an
untrained model writes the longest completions, the worst case); Phase I's latent actions are the pairs' true
actions. Achieved training throughput is 6 · parameters · tokens / seconds of forward + backward, against the
matmul speed measured before each run.

Source: studies/speed/README.md (the questions); docs/design.md, "Honest numbers".
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from swirl_wm.backend.args import grpo_args
from swirl_wm.backend.grpo import phase_examples, train_grpo
from swirl_wm.backend.sft import sft_examples
from swirl_wm.backend.speed import PlainReward, paw_loss_seconds, sft_step_seconds, timed_parts, train_stock_grpo
from swirl_wm.config import AgentRunConfig, GRPOPhaseConfig, load_config
from swirl_wm.envs import physics
from swirl_wm.models.loading import load_model, load_tokenizer, resolve_model
from swirl_wm.models.prompts import PromptFormat, fwm_prompt, idm_prompt
from swirl_wm.models.scoring import Scorer
from swirl_wm.objectives.rewards import SwirlReward
from swirl_wm.recipes.paw import env_factory
from swirl_wm.records import FWM, IDM, Transition
from swirl_wm.reporting.run_info import provenance
from swirl_wm.reporting.speed import interleaved_order, paired_ratio, scaling_rows
from swirl_wm.run_folder import Announce, git_commit

STOCK, OURS = "stock TRL", "swirl-wm"
PIPELINES = (STOCK, OURS)


class DirtyTreeError(RuntimeError):
    """The source tree has uncommitted changes (or is no git checkout), so a figure could not name its code."""


def clean_commit(allow_dirty: bool) -> str:
    """The commit the package runs from (:func:`~swirl_wm.run_folder.git_commit`).

    Raises:
        DirtyTreeError: tracked files differ from the commit, or there is no git checkout, and not
            ``allow_dirty``.
    """
    commit = git_commit()
    if not allow_dirty and (commit.endswith("+dirty") or commit == "unknown"):
        raise DirtyTreeError(f"the source tree is {'not a git checkout' if commit == 'unknown' else 'dirty'} "
                             f"({commit}): commit first, so that the result names the code it measured, or "
                             "pass --allow-dirty")
    return commit


@dataclass(frozen=True)
class IterationSettings:
    """What :func:`iteration_speed` runs; the defaults are the study's SmolLM2 setting
    (studies/speed/README.md)."""

    model: str = "smollm2"  # a preset or a model folder
    pairs: int = 8  # physics transitions, each a prompt of both phases
    generations: int = 8  # G
    steps: int = 2  # optimizer steps per phase (prompts per step = pairs // steps)
    max_completion: int = 48  # Phase I's completion budget (tokens); Phase II's is idm_completion
    idm_completion: int = 10
    objects: int = 2  # objects per physics state (the prompt's length)
    threads: int = 2  # torch CPU threads
    seed: int = 0
    repeats: int = 3  # runs of each pipeline; ≥ 3 for a reported ratio
    pipelines: tuple[str, ...] = PIPELINES  # one alone for a scaling row (no ratio then)

    def phase_config(self, role_writes_state: bool) -> GRPOPhaseConfig:
        return GRPOPhaseConfig(learning_rate=1e-5, num_generations=self.generations,
                               per_device_train_batch_size=self.generations * max(1, self.pairs // self.steps),
                               max_steps=self.steps,
                               max_completion_length=self.max_completion if role_writes_state else self.idm_completion)


def _device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def matmul_gflops(device: str) -> float:
    """fp32 matmul speed (GFLOP/s) of ``device`` now: ten 1024² products after one warm-up; on a shared
    machine, a reading of its load."""
    a, b = torch.randn(1024, 1024, device=device), torch.randn(1024, 1024, device=device)
    a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    start, runs = time.perf_counter(), 10
    for _ in range(runs):
        a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    return 2 * 1024**3 * runs / (time.perf_counter() - start) / 1e9


def _peak_memory_mb(device: str) -> float:
    """The process's peak memory so far (MiB): CUDA's allocated peak, or the resident set's on CPU."""
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _phase(pipeline: str, role, settings: IterationSettings, path: str, frozen, tokenizer,
           pairs: Sequence[Transition], out: Path) -> dict[str, Any]:
    config = settings.phase_config(role.writes_state)
    seconds: dict[str, float] = defaultdict(float)
    start = time.perf_counter()
    with timed_parts(seconds):
        if pipeline == OURS:
            _, history = train_grpo(path, SwirlReward(role, Scorer(frozen, tokenizer, batch_size=16)), pairs,
                                    config, out / "model", out / "logs", settings.seed)
        else:
            history = train_stock_grpo(path, PlainReward(role, frozen, tokenizer), pairs, config, out / "model",
                                       out / "logs", settings.seed, seconds)
    total = time.perf_counter() - start
    steps = [h for h in history if "reward" in h]
    parts = dict(seconds)
    parts["rest_of_step"] = total - sum(parts.values())  # backward, optimizer, TRL bookkeeping, model loading
    rows = config.per_device_train_batch_size * config.gradient_accumulation_steps
    generated = sum(h.get("completions/mean_length", 0.0) * rows for h in steps)
    return {"seconds": total, "parts": parts, "steps": len(steps), "pairs": len(pairs),
            "pairs_per_hour": 3600 * len(pairs) / total,
            "train_tokens": max((h.get("num_tokens", 0) for h in history), default=0),
            "generated_tokens": generated,
            "generation_tokens_per_s": generated / parts["generation"] if parts.get("generation") else None,
            "rewards": [h["reward"] for h in steps]}


def _iteration(pipeline: str, settings: IterationSettings, path: str, frozen, tokenizer,
               pairs: Sequence[Transition], parameters: int, device: str) -> dict[str, Any]:
    phases = {}
    for role in (FWM, IDM):
        with tempfile.TemporaryDirectory() as tmp:
            phases[role.name] = _phase(pipeline, role, settings, path, frozen, tokenizer, pairs, Path(tmp))
    seconds = sum(p["seconds"] for p in phases.values())
    train_s = sum(p["parts"].get("policy_forward", 0) + p["parts"]["rest_of_step"] for p in phases.values())
    tokens = sum(p["train_tokens"] for p in phases.values())
    return {"phases": phases, "iteration_seconds": seconds, "tokens_per_s": tokens / seconds,
            "training_gflops": 6 * parameters * tokens / max(train_s, 1e-9) / 1e9}


def iteration_speed(settings: IterationSettings, allow_dirty: bool = False,
                    announce: Announce = print) -> dict[str, Any]:
    """Time one SWIRL iteration through each of ``settings.pipelines``, interleaved over ``settings.repeats``
    repeats (:func:`~swirl_wm.reporting.speed.interleaved_order`), on CUDA in bf16 where there is a GPU.

    Returns:
        The provenance header (``config``: the settings), ``device``, ``bf16``, ``parameters``,
        ``prompt_tokens`` (mean per role), ``runs`` (in the order run: ``repeat``, ``position``, ``pipeline``,
        ``git_commit``, ``load_average_before`` / ``_after`` (1, 5, 15 min), ``matmul_gflops``, ``phases``
        (seconds by part, tokens, rewards per step), ``iteration_seconds`` (s), ``tokens_per_s``,
        ``training_gflops``, ``peak_memory_mb``), ``pipelines`` (each pipeline's run of median time, the shape
        the scaling table reads), ``matmul_peak_gflops`` (median over runs), ``peak_memory_mb``; with both
        pipelines also ``speedup_vs_stock_trl`` (:func:`~swirl_wm.reporting.speed.paired_ratio`: stock's
        seconds over swirl-wm's, per repeat) and ``max_reward_difference`` (nats/token, between the
        pipelines' rewards at each step of each repeat: the same seed must give the same rewards).

    Raises:
        DirtyTreeError: uncommitted changes and not ``allow_dirty``; ValueError: repeats < 1 or an unknown
        pipeline.
    """
    unknown = set(settings.pipelines) - set(PIPELINES)
    if unknown:
        raise ValueError(f"unknown pipelines {sorted(unknown)}; choose from {list(PIPELINES)}")
    order = interleaved_order(settings.pipelines, settings.repeats)
    clean_commit(allow_dirty)
    start = time.monotonic()
    torch.set_num_threads(settings.threads)
    device = _device()
    bf16 = bool(grpo_args(settings.phase_config(True), Path(tempfile.gettempdir()), settings.seed).bf16)
    path = resolve_model(settings.model).path
    tokenizer = load_tokenizer(path)
    frozen = load_model(path, device, torch.bfloat16 if bf16 else torch.float32)
    episodes = physics.generate_episodes(
        physics.PhysicsWorldConfig(n_objects=settings.objects, n_episodes=max(20, settings.pairs)), settings.seed)
    pairs = [t for e in episodes for t in e.transitions][: settings.pairs]
    parameters = sum(p.numel() for p in frozen.parameters())
    runs = []
    for position, (repeat, pipeline) in enumerate(order):
        announce(f"== repeat {repeat + 1}/{settings.repeats}: {pipeline}")
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        run = {"repeat": repeat, "position": position, "pipeline": pipeline, "git_commit": git_commit(),
               "load_average_before": list(os.getloadavg()), "matmul_gflops": matmul_gflops(device)}
        run |= _iteration(pipeline, settings, path, frozen, tokenizer, pairs, parameters, device)
        run |= {"load_average_after": list(os.getloadavg()), "peak_memory_mb": _peak_memory_mb(device)}
        runs.append(run)
        announce(f"   {run['iteration_seconds']:.1f} s, load {run['load_average_before'][0]:.2f}")
    by_pipeline = {p: [r for r in runs if r["pipeline"] == p] for p in settings.pipelines}
    result = provenance(start, config=asdict(settings) | {"model_path": path}, seed=settings.seed) | {
        "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu", "bf16": bf16,
        "parameters": parameters,
        "prompt_tokens": {role.name: statistics.fmean(len(ids) for ids in tokenizer(
            [row["prompt"] for row in phase_examples(role, pairs, tokenizer)], add_special_tokens=False).input_ids)
            for role in (FWM, IDM)},
        "matmul_peak_gflops": statistics.median(r["matmul_gflops"] for r in runs),
        "peak_memory_mb": max(r["peak_memory_mb"] for r in runs), "runs": runs,
        "pipelines": {p: _median_run(rs) for p, rs in by_pipeline.items()}}
    if set(settings.pipelines) == set(PIPELINES):
        result["speedup_vs_stock_trl"] = paired_ratio(
            {p: [r["iteration_seconds"] for r in sorted(rs, key=lambda r: r["repeat"])]
             for p, rs in by_pipeline.items()}, STOCK, OURS)
        result["max_reward_difference"] = max(
            (abs(a - b) for stock, ours in zip(by_pipeline[STOCK], by_pipeline[OURS], strict=True)
             for role in ("fwm", "idm")
             for a, b in zip(stock["phases"][role]["rewards"], ours["phases"][role]["rewards"], strict=False)),
            default=None)
    return result


def _median_run(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run of median time (the lower middle of an even count), without its per-run bookkeeping."""
    chosen = sorted(runs, key=lambda r: r["iteration_seconds"])[(len(runs) - 1) // 2]
    return {k: chosen[k] for k in ("phases", "iteration_seconds", "tokens_per_s", "training_gflops", "repeat")}


def scaling(files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The scaling rows (:func:`~swirl_wm.reporting.speed.scaling_rows`) of iteration results by path (the
    first is the reference), with the provenance header."""
    return provenance(inputs=list(files), rows=scaling_rows(files))


def scorer_speed(model: str = "smollm2", pairs: int = 64, batch: int = 16, repeats: int = 3, threads: int = 1,
                 seed: int = 0) -> dict[str, Any]:
    """The frozen scorer on each phase's reward (``log Q(z | x, ŷ)``, ``log P(y | x, ẑ)``) on true transitions,
    the output layer at every position against at the targets' only (``Scorer(trim_logits=...)``), both in one
    process, interleaved, best of ``repeats``; the scores must agree to float tolerance.

    Returns:
        The provenance header and ``results``: per reward, seconds of each (s), the speed-up, the largest
        score difference (nats/token), the mean prompt and target tokens, every timing.
    """
    if threads:
        torch.set_num_threads(threads)
    path = resolve_model(model).path
    tokenizer, frozen = load_tokenizer(path), load_model(path)
    episodes = physics.generate_episodes(physics.PhysicsWorldConfig(n_objects=2, n_episodes=40), seed)
    chosen = [t for e in episodes for t in e.transitions][:pairs]
    fmt = PromptFormat(idm_diff=True)
    rewards = {"phase1 log Q(z|x,y)": ([idm_prompt(tokenizer, t.x, t.y, fmt) for t in chosen], [t.z for t in chosen]),
               "phase2 log P(y|x,z)": ([fwm_prompt(tokenizer, t.x, t.z, fmt) for t in chosen], [t.y for t in chosen])}
    results = {}
    for name, (prompts, targets) in rewards.items():
        scorers = {mode: Scorer(frozen, tokenizer, batch_size=batch, prompt_format=fmt, trim_logits=trim)
                   for mode, trim in (("every_position", False), ("target_positions", True))}
        scorers["target_positions"](prompts[:batch], targets[:batch])  # warm-up
        seconds: dict[str, list[float]] = defaultdict(list)
        scores: dict[str, list[float]] = {}
        for _, trim in interleaved_order(list(scorers), repeats):
            begin = time.perf_counter()
            scores[trim] = scorers[trim](prompts, targets)
            seconds[trim].append(time.perf_counter() - begin)
        every, target = min(seconds["every_position"]), min(seconds["target_positions"])
        results[name] = {
            "seconds_every_position": every, "seconds_target_positions": target, "speedup": every / target,
            "max_score_difference": max(abs(a - b) for a, b in zip(
                scores["every_position"], scores["target_positions"], strict=True)),
            "mean_prompt_tokens": statistics.fmean(len(tokenizer(p, add_special_tokens=False)["input_ids"])
                                                   for p in prompts),
            "mean_target_tokens": 1 + statistics.fmean(len(tokenizer(t, add_special_tokens=False)["input_ids"])
                                                       for t in targets),  # + EOS
            "all_seconds": dict(seconds)}
    config = {"model": model, "pairs": pairs, "batch": batch, "repeats": repeats, "threads": threads,
              "seed": seed, "model_path": path}
    return provenance(config=config, seed=seed) | {"results": results}


_MEMORY_CHILD = """
import resource, sys, time, torch
from swirl_wm.models.scoring import mean_token_logprob
torch.manual_seed(0); torch.set_num_threads(1)
B, T, V = {B}, {T}, {V}
mean_token_logprob(torch.randn(1, 2, 8), torch.zeros(1, 2, dtype=torch.long), torch.ones(1, 2))  # lazy imports
torch.log_softmax(torch.randn(1, 2, 8), -1)
logits = torch.randn(B, T, V); labels = torch.randint(V, (B, T)); mask = torch.ones(B, T)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if "{variant}" == "full":
    lp = torch.log_softmax(logits.float(), -1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    out = (lp * mask).sum(-1) / mask.sum(-1)
else:
    out = mean_token_logprob(logits, labels, mask, -1e9)
seconds = time.perf_counter() - start
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base, seconds, float(out.sum()))
"""


def scorer_memory(batch: int = 16, tokens: int = 128, vocab: int = 49152) -> dict[str, Any]:
    """Peak memory and time of the scorer's log-probability step
    (:func:`~swirl_wm.models.scoring.mean_token_logprob`, TRL's ``selective_log_softmax``) against a full
    log-softmax, on random ``(batch, tokens, vocab)`` logits (default: SmolLM2's vocabulary). Each variant runs
    in a fresh process so that its peak RSS is its own, after a warm-up on tiny inputs.

    Returns:
        The provenance header, ``variants`` (``extra_peak_rss_mb``, ``seconds``, ``checksum`` each),
        ``same_result`` (checksums within 0.1 %), ``logits_mb``.

    Raises:
        subprocess.CalledProcessError: a variant's process failed.
    """
    result = provenance(config={"batch": batch, "tokens": tokens, "vocab": vocab}, seed=0) | {"variants": {}}
    for variant in ("full", "selective"):
        code = _MEMORY_CHILD.format(B=batch, T=tokens, V=vocab, variant=variant)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        result["variants"][variant] = {"extra_peak_rss_mb": int(out[0]) / 1024, "seconds": float(out[1]),
                                       "checksum": float(out[2])}
    full, selective = result["variants"]["full"], result["variants"]["selective"]
    result["same_result"] = abs(full["checksum"] - selective["checksum"]) <= 1e-3 * abs(full["checksum"])
    result["logits_mb"] = batch * tokens * vocab * 4 / 2**20
    return result


def sft_step(model: str = "smollm2", steps: int = 4, batch: int = 8, threads: int = 2, seed: int = 0
             ) -> dict[str, Any]:
    """One SFT optimizer step of the FWM on physics transitions: a plain forward and backward against TRL's
    ``SFTTrainer`` (:func:`~swirl_wm.backend.speed.sft_step_seconds`).

    Returns:
        The provenance header, ``plain_s_per_step`` and ``trl_s_per_step_incl_setup`` (s).
    """
    if threads:
        torch.set_num_threads(threads)
    path = resolve_model(model).path
    episodes = physics.generate_episodes(physics.PhysicsWorldConfig(n_objects=2, n_episodes=20), seed)
    examples = sft_examples([t for e in episodes for t in e.transitions], load_tokenizer(path), ("fwm",))
    with tempfile.TemporaryDirectory() as tmp:
        seconds = sft_step_seconds(path, examples[: batch * (steps + 1)], batch, steps, seed, Path(tmp))
    return provenance(benchmark="sft_step", model=model, batch=batch, steps=steps, threads=threads, seed=seed
                      ) | seconds


def _agent_setup(config_path: Path, model: str | None, threads: int) -> tuple[AgentRunConfig, str]:
    if threads:
        torch.set_num_threads(threads)
    config = load_config(config_path, schema=AgentRunConfig)
    return config, resolve_model(model or config.model.name_or_path).path


def _agent_header(name: str, config_path: Path, config: AgentRunConfig, model: str | None, repeats: int
                  ) -> dict[str, Any]:
    return provenance(benchmark=name, config_path=str(config_path), config=config.model_dump(mode="json"),
                      model=model or config.model.name_or_path, seed=config.seed, repeats=repeats, device=_device(),
                      threads=torch.get_num_threads())


def rollout_speed(config_path: Path, model: str | None = None, tasks: int = 10, repeats: int = 2,
                  threads: int = 0) -> dict[str, Any]:
    """Playing an agent config's first ``tasks`` test tasks greedily, one KV cache per episode (``episode``)
    against every active episode re-encoded in one batch per step (``batch``), interleaved ``repeats`` times.
    Greedy play makes both play the same actions, which is checked.

    Returns:
        The provenance header (the config, the policy, the device), ``tasks``, ``steps_played``, ``seconds``
        (median per mode, s), ``seconds_all``, ``speedup_episode_over_batch``, ``same_actions``.

    Raises:
        ImportError: the environment's install extra is missing.
    """
    from swirl_wm.agents.rollouts import play_episodes

    config, path = _agent_setup(config_path, model, threads)
    policy, tokenizer = load_model(path, _device()), load_tokenizer(path)
    make_env = env_factory(config)
    envs = [make_env() for _ in range(tasks)]
    chosen = envs[0].tasks("test")[:tasks]
    cfg = config.rollout
    seconds: dict[str, list[float]] = defaultdict(list)
    actions: dict[str, list[list[str]]] = {}
    try:
        for _, mode in interleaved_order(["batch", "episode"], repeats):
            begin = time.perf_counter()
            rollouts = play_episodes(policy, tokenizer, envs, chosen, max_steps=cfg.max_steps,
                                     max_action_tokens=cfg.max_action_tokens,
                                     max_observation_chars=cfg.max_observation_chars,
                                     max_context_tokens=cfg.max_context_tokens, temperature=0.0, top_p=1.0,
                                     kv_cache=mode)
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            seconds[mode].append(time.perf_counter() - begin)
            actions[mode] = [r.actions for r in rollouts]
    finally:
        for env in envs:
            env.close()
    median = {m: statistics.median(v) for m, v in seconds.items()}
    return _agent_header("rollout_speed", config_path, config, model, repeats) | {
        "tasks": len(chosen), "steps_played": sum(len(a) for a in actions["episode"]), "seconds": median,
        "seconds_all": dict(seconds), "speedup_episode_over_batch": median["batch"] / median["episode"],
        "same_actions": actions["batch"] == actions["episode"]}


def paw_overhead(config_path: Path, model: str | None = None, tasks: int = 2, repeats: int = 5, threads: int = 0
                 ) -> dict[str, Any]:
    """PaW's cost over plain GRPO on one batch of ``tasks × G`` episodes of an agent config
    (:func:`~swirl_wm.backend.speed.paw_loss_seconds`).

    Returns:
        The provenance header, ``tasks`` and the figures of :func:`~swirl_wm.backend.speed.paw_loss_seconds`.

    Raises:
        ImportError: the environment's install extra is missing.
    """
    config, path = _agent_setup(config_path, model, threads)
    make_env = env_factory(config)
    with make_env() as env:
        chosen = {t.task_id: t for t in env.tasks("train")[:tasks]}
    with tempfile.TemporaryDirectory() as tmp:
        figures = paw_loss_seconds(make_env, chosen, config.rollout, config.rl, config.paw, path, config.seed,
                                   repeats, Path(tmp))
    return _agent_header("paw_overhead", config_path, config, model, repeats) | {"tasks": len(chosen)} | figures

