"""An agent run end to end (PaW arXiv 2606.02388; method.md §2):

1. tasks of the environment's train and test splits, and their expert (walkthrough) episodes; the small
   tier's base model is built from the train walkthroughs' text;
2. SFT of the base model on the train walkthroughs, so that some rollouts succeed;
3. RL: GRPO on trajectories (groups of G rollouts of one task, episode return as reward, action tokens
   only), plus PaW's world-model loss when ``paw.enabled`` (:mod:`swirl_wm.backend.paw`);
4. after SFT and after RL: success rate, mean return and episode length on held-out tasks (and on the
   first ``eval.train_tasks`` train tasks), and the policy's own next-observation prediction on held-out
   expert transitions; the uniform admissible policy on the same tasks as the trivial baseline.

What decides whether GRPO can learn is recorded before any claim about RL: SFT's success on its own train
tasks, the fraction of groups with mixed outcomes (a non-zero advantage) per generation batch, and, with
``eval.curve_every``, greedy success on the dev tasks against RL steps.

Stages are recorded in the run's ledger like the SWIRL loop's (a killed run resumes). The RL stage
records its wall time and peak memory, the figures that PaW's overhead over GRPO is measured with.
"""

from __future__ import annotations

import json
import resource
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase, TrainerCallback

from swirl_wm.agents.chat import AGENT_SYSTEM_PROMPT, PLAIN_CHAT_TEMPLATE, PLAIN_CHAT_WORDS, walkthrough_examples
from swirl_wm.backend.logs import train_log_of
from swirl_wm.backend.paw import train_paw
from swirl_wm.backend.sft import train_on_examples
from swirl_wm.config import AgentRunConfig, load_config
from swirl_wm.data.jsonl import group_episodes, read_transitions, write_episodes
from swirl_wm.envs.agent import AgentEnv, AgentTask, Split, expert_episode
from swirl_wm.envs.extras import check_loggers
from swirl_wm.envs.registry import env_spec
from swirl_wm.evaluation.agent_eval import evaluate_agent, evaluate_policy_wm, evaluate_random_policy
from swirl_wm.files import atomic_write_text
from swirl_wm.models.loading import SMALL, BaseModelRef, build_small_model, load_model, load_tokenizer, resolve_model
from swirl_wm.reporting.agent import agent_report
from swirl_wm.results import AgentData, AgentEvaluation, AgentMetrics, AgentRl, AgentSft, StageResult
from swirl_wm.run_folder import Announce, Layout, RunFolder, RunLedger, git_commit, machine_info


def env_factory(config: AgentRunConfig) -> Callable[[], AgentEnv]:
    """A callable that makes one instance of the configured environment (envs/registry.py; its package is
    imported on the first call).

    Raises (on the call):
        ImportError: the environment's install extra is missing (the message names it).
    """
    spec = env_spec(config.env.name)
    section = getattr(config.env, config.env.name)
    return lambda: spec.make_agent(section)


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MiB (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def _data_stage(run: RunFolder, make_env: Callable[[], AgentEnv]) -> AgentData:
    with make_env() as env:
        result: dict[str, dict[str, float]] = {}
        for split in ("train", "test"):
            tasks = env.tasks(split)
            episodes = [expert_episode(env, task) for task in tasks]
            write_episodes(run.path(f"data/expert-{split}.jsonl"), episodes)
            result[split] = {"tasks": len(tasks), "transitions": sum(len(e) for e in episodes),
                             "mean_walkthrough": sum(len(e) for e in episodes) / len(episodes)}
    return AgentData(train=result["train"], test=result["test"])


def evaluate_checkpoint(config: AgentRunConfig, checkpoint: Path, expert_path: Path,
                        device: torch.device | str = "cpu") -> dict[str, float]:
    """A policy checkpoint on the config's held-out test tasks, and its world model on expert transitions.

    Args:
        config: the run's config (environment, rollout limits, evaluation settings).
        checkpoint: a saved policy folder.
        expert_path: JSONL of expert episodes (with actions), such as a run's ``data/expert-test.jsonl``.

    Returns:
        :func:`~swirl_wm.evaluation.agent_eval.evaluate_agent`'s metrics (success rate, per task type,
        mean return, mean steps) and :func:`~swirl_wm.evaluation.agent_eval.evaluate_policy_wm`'s
        (``wm/exact_match``, ``wm/rouge_l``, ``wm/examples``).

    Raises:
        DataError: a malformed ``expert_path``; ValueError: no test tasks.
    """
    make_env = env_factory(config)
    model, tokenizer = load_model(str(checkpoint), device), load_tokenizer(str(checkpoint))
    with make_env() as env:
        tasks = env.tasks("test")
    metrics = evaluate_agent(model, tokenizer, make_env, tasks, config.rollout, config.eval.batch_size)
    episodes = group_episodes(read_transitions(expert_path))
    wm, _ = evaluate_policy_wm(model, tokenizer, episodes, config.eval.max_new_tokens_observation,
                               config.eval.batch_size, config.eval.wm_max_examples)
    return metrics | wm


def evaluate_agent_run(run_dir: Path, phase: str = "best", data_path: Path | None = None) -> dict[str, Any]:
    """``swirl eval`` of an agent run: the policy after ``phase`` (``sft``, ``rl``; ``best`` = the last
    finished of the two) on the run's test tasks, and its world model on ``data_path`` (expert episodes
    with actions; default: the run's own held-out walkthroughs).

    Raises:
        FileNotFoundError: not a run folder; KeyError: the phase did not finish; DataError: bad data.
    """
    config = load_config(run_dir / Layout.CONFIG, schema=AgentRunConfig)
    stages = RunLedger.read(run_dir).stages
    finished = [p for p in ("sft", "rl") if p in stages]
    chosen = (finished or ["sft"])[-1] if phase == "best" else phase
    if chosen not in stages or "checkpoint" not in stages[chosen]:
        raise KeyError(f"phase {phase!r} has not finished in {run_dir}; finished: {finished}")
    data_path = data_path or run_dir / "data/expert-test.jsonl"
    device = "cuda" if torch.cuda.is_available() else "cpu"
    metrics = evaluate_checkpoint(config, run_dir / stages[chosen]["checkpoint"], data_path, device)
    return {"run": str(run_dir), "phase": chosen, "data": str(data_path), "test": metrics}


def _tasks(make_env: Callable[[], AgentEnv], split: Split, limit: int | None = None) -> list[AgentTask]:
    with make_env() as env:
        return env.tasks(split)[:limit]


def _evaluate(run: RunFolder, make_env: Callable[[], AgentEnv], checkpoint: str) -> AgentEvaluation:
    cfg = run.config
    test = evaluate_checkpoint(cfg, run.path(checkpoint), run.path("data/expert-test.jsonl"), run.device)
    if not cfg.eval.train_tasks:
        return AgentEvaluation(test=test)
    path = str(run.path(checkpoint))
    train = evaluate_agent(load_model(path, run.device), load_tokenizer(path), make_env,
                           _tasks(make_env, "train", cfg.eval.train_tasks), cfg.rollout, cfg.eval.batch_size)
    return AgentEvaluation(test=test, train=train)


def _random_baseline(run: RunFolder, make_env: Callable[[], AgentEnv]) -> AgentEvaluation:
    cfg = run.config
    test = evaluate_random_policy(make_env, _tasks(make_env, "test"), cfg.rollout.max_steps, cfg.seed)
    train = (evaluate_random_policy(make_env, _tasks(make_env, "train", cfg.eval.train_tasks),
                                    cfg.rollout.max_steps, cfg.seed) if cfg.eval.train_tasks else None)
    return AgentEvaluation(test=test, train=train)


class _DevCurve(TrainerCallback):
    """Greedy play of the dev tasks before the first RL step and every ``every`` steps: held-out success
    against RL steps (``points``: ``{"step": s, "agent/...": value}``), on the main process.

    Source: method.md §2 (agent evaluation); the learning curve decides whether RL learns at all.
    """

    def __init__(self, every: int, play: Callable[[Any], dict[str, float]]) -> None:
        self.every, self.play, self.points = every, play, []

    def _point(self, state: Any, model: Any) -> None:
        if state.is_world_process_zero:
            self.points.append({"step": state.global_step, **self.play(model)})

    def on_train_begin(self, args: Any, state: Any, _control: Any, model: Any = None, **_: Any) -> None:
        self._point(state, model)

    def on_step_end(self, args: Any, state: Any, _control: Any, model: Any = None, **_: Any) -> None:
        if state.global_step % self.every == 0:
            self._point(state, model)


def _dev_curve(run: RunFolder, make_env: Callable[[], AgentEnv], tokenizer: PreTrainedTokenizerBase
               ) -> _DevCurve | None:
    cfg = run.config
    if cfg.eval.curve_every is None:
        return None
    dev = _tasks(make_env, "dev")
    return _DevCurve(cfg.eval.curve_every,
                    lambda model: evaluate_agent(model, tokenizer, make_env, dev, cfg.rollout, cfg.eval.batch_size))


def _rl_stage(run: RunFolder, make_env: Callable[[], AgentEnv]) -> AgentRl:
    cfg = run.config
    tasks = {t.task_id: t for t in _tasks(make_env, "train")}
    sft = str(run.path(Layout.checkpoint("sft")))
    curve = _dev_curve(run, make_env, load_tokenizer(sft))
    trained = train_paw(sft, make_env, tasks, cfg.rollout, cfg.paw, cfg.rl, run.path(Layout.checkpoint("rl")),
                        run.path(Layout.logs("rl")), cfg.seed, cfg.model.lora, callbacks=[curve] if curve else [])
    train_seconds, history = trained.train_seconds, trained.log_history
    keys = ("reward", "reward_std", "loss", "paw/wm_loss", "paw/lambda", "step_time")
    log = [{"step": h["step"], **{k: h[k] for k in keys if k in h}} for h in history
           if "step" in h and "reward" in h and "train_runtime" not in h]
    return AgentRl(checkpoint=Layout.checkpoint("rl"), paw=cfg.paw.enabled, train_seconds=train_seconds,
                   seconds_per_step=train_seconds / max(1, len(log)), peak_rss_mb=_peak_rss_mb(),
                   peak_cuda_mb=torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None,
                   rollouts=trained.rollout_stats, train_log=log or train_log_of(history),
                   curve=curve.points if curve else None)


def run_agent(config: AgentRunConfig, announce: Announce = print) -> AgentMetrics:
    """Run (or resume) an agent run; returns the metrics also written to ``metrics.json`` and ``report.md``.

    Raises:
        ImportError: a logger in ``report_to`` needs an extra that is not installed (the message names it).
        ValueError: the output folder holds a run with a different config.
        RunFolderBusy: another process is writing the output folder.
        RuntimeError: an expert walkthrough does not win its task.
    """
    check_loggers(config.sft.report_to, "sft.report_to")
    check_loggers(config.rl.report_to, "rl.report_to")
    if config.model.torch_threads:
        torch.set_num_threads(config.model.torch_threads)
    run = RunFolder(config, announce)
    with run.writing():
        return _agent_stages(run)


def _base_model(run: RunFolder) -> BaseModelRef:
    """The base model: a preset, folder or hub id; the small tier is built once in the run folder, its
    tokenizer trained on the train walkthroughs' observations and actions, the system prompt and the words of
    its plain chat template (:data:`~swirl_wm.agents.chat.PLAIN_CHAT_TEMPLATE`), never on dev or test text."""
    config = run.config
    if config.model.name_or_path != SMALL:
        return resolve_model(config.model.name_or_path)

    def build() -> BaseModelRef:
        train = read_transitions(run.path("data/expert-train.jsonl"))
        texts = [s for t in train for s in (t.x, t.z, t.y) if s] + [AGENT_SYSTEM_PROMPT, PLAIN_CHAT_WORDS]
        return build_small_model(run.path(Layout.BASE), texts, config.seed, chat_template=PLAIN_CHAT_TEMPLATE)

    if run.state.is_main_process:  # writes the folder once; the other processes then read it
        build()
    run.state.wait_for_everyone()
    return build()


def _agent_stages(run: RunFolder) -> AgentMetrics:
    config = run.config
    make_env = env_factory(config)
    data = run.stage("data", AgentData, lambda: _data_stage(run, make_env))
    base = _base_model(run)

    def sft() -> AgentSft:
        train = group_episodes(read_transitions(run.path("data/expert-train.jsonl")))
        examples = walkthrough_examples(load_tokenizer(base.path), train)
        _, history = train_on_examples(base.path, run.path(Layout.checkpoint("sft")), run.path(Layout.logs("sft")),
                                       examples,
                                       config.sft, config.seed, lora=config.model.lora)
        return AgentSft(checkpoint=Layout.checkpoint("sft"), examples=len(examples), train_log=train_log_of(history))

    stages: dict[str, StageResult] = {"sft": run.stage("sft", AgentSft, sft, all_processes=True)}
    stages["sft/eval"] = run.stage("sft/eval", AgentEvaluation,
                                   lambda: _evaluate(run, make_env, Layout.checkpoint("sft")))
    stages["baseline/random"] = run.stage("baseline/random", AgentEvaluation, lambda: _random_baseline(run, make_env))
    stages["rl"] = run.stage("rl", AgentRl, lambda: _rl_stage(run, make_env), all_processes=True)
    stages["rl/eval"] = run.stage("rl/eval", AgentEvaluation,
                                  lambda: _evaluate(run, make_env, Layout.checkpoint("rl")))
    metrics: AgentMetrics = {
        "run": {"name": config.name, "seed": config.seed, "git_commit": git_commit(), "env": config.env.name,
                "model": config.model.name_or_path, "model_source": base.origin, "paw": config.paw.enabled,
                "machine": machine_info(), "wall_time_s": run.wall_time_s()},
        "data": data.to_json(), "stages": {name: result.to_json() for name, result in stages.items()}}
    if run.state.is_main_process:
        atomic_write_text(run.path(Layout.METRICS), json.dumps(metrics, indent=2))
        atomic_write_text(run.path(Layout.REPORT), agent_report(metrics))
    return metrics
