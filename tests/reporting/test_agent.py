"""Tests for swirl_wm.reporting.agent: the agent run's report lists the random baseline and what decides
whether GRPO can learn (SFT's train-task success, mixed groups, the learning curve)."""

from __future__ import annotations

from swirl_wm.reporting.agent import CURVE_ROWS, agent_report

RUN = {"name": "r", "seed": 0, "git_commit": "abc", "env": "physics_goal", "model": "small", "model_source": "s",
       "paw": False, "machine": {}, "wall_time_s": 1.0}


def _metrics(steps: int, curve: list[int]) -> dict:
    evaluation = {"test": {"agent/success_rate": 0.5}, "train": {"agent/success_rate": 0.75}}
    rollouts = [{"success_rate": i / steps, "mixed_groups": 0.5 if i < steps // 2 else 0.25} for i in range(steps)]
    rl = {"train_log": [{}] * steps, "seconds_per_step": 2.0, "peak_rss_mb": 100.0, "rollouts": rollouts,
          "curve": [{"step": s, "agent/success_rate": s / 100} for s in curve]}
    return {"run": RUN, "data": {}, "stages": {"sft/eval": evaluation, "rl/eval": evaluation, "rl": rl,
                                               "baseline/random": {"test": {"agent/success_rate": 0.25},
                                                                   "train": {"agent/success_rate": 0.125}}}}


def test_the_report_says_whether_grpo_can_learn() -> None:
    report = agent_report(_metrics(20, [0, 10, 20]))
    assert "| random admissible action | 25.0% |" in report and "| GRPO | 50.0% |" in report
    assert "Walkthrough SFT wins 75.0% of its train tasks (greedy); the random admissible policy 12.5%." in report
    # 20 batches: the first 2 at 50 %, the last 2 at 25 %, 37.5 % over all
    assert "37.5% of all, 50.0% in the first 2 generation batches, 25.0% in the last 2." in report
    # the dev curve's steps are the rows: step 10 is the 10th batch (success 9/20)
    assert "| 0 (SFT) | — | — | 0.0% |" in report and "| 10 | 45.0% | 50.0% | 10.0% |" in report


def test_a_long_run_without_a_curve_is_shown_at_spaced_steps() -> None:
    report = agent_report(_metrics(300, []))
    rows = [line for line in report.splitlines() if line.startswith("| ") and line.split("|")[1].strip().isdigit()]
    assert len(rows) == CURVE_ROWS and rows[0].startswith("| 1 |") and rows[-1].startswith("| 300 |")
