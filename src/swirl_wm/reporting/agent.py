"""The Markdown report of an agent run (``swirl paw``)."""

from __future__ import annotations

from typing import Any

from swirl_wm.reporting.markdown import md_table, run_header
from swirl_wm.results import AgentMetrics

CURVE_ROWS = 12  # rows of the learning-curve table; longer runs are shown at evenly spaced steps


def _cell(key: str, metrics: dict[str, float]) -> str:
    if key not in metrics:
        return "—"
    percent = "success_rate" in key or key in ("wm/exact_match", "mixed_groups")
    return ("{:.1%}" if percent else "{:.2f}").format(metrics[key])


def _spaced(rows: list[Any], n: int = CURVE_ROWS) -> list[Any]:
    """At most ``n`` of ``rows``, evenly spaced, the first and the last included."""
    if len(rows) <= n:
        return rows
    return [rows[round(i * (len(rows) - 1) / (n - 1))] for i in range(n)]


def _learning_section(stages: dict[str, dict[str, Any]]) -> list[str]:
    """What decides whether GRPO can learn: SFT's success on its train tasks, the groups with a non-zero
    advantage, and success against RL steps."""
    lines = ["", "## Can GRPO learn here?", ""]
    sft_train = stages["sft/eval"].get("train")
    random_train = stages.get("baseline/random", {}).get("train")
    if sft_train:
        lines.append(f"- Walkthrough SFT wins {sft_train['agent/success_rate']:.1%} of its train tasks (greedy)"
                     + (f"; the random admissible policy {random_train['agent/success_rate']:.1%}."
                        if random_train else "."))
    rollouts = stages["rl"]["rollouts"]
    mixed = [r["mixed_groups"] for r in rollouts if "mixed_groups" in r]
    if mixed:
        tenth = max(1, len(mixed) // 10)
        lines.append(f"- Groups with mixed outcomes (a non-zero advantage): {sum(mixed) / len(mixed):.1%} of all, "
                     f"{sum(mixed[:tenth]) / tenth:.1%} in the first {tenth} generation batches, "
                     f"{sum(mixed[-tenth:]) / tenth:.1%} in the last {tenth}.")
    curve = {int(p["step"]): p for p in stages["rl"].get("curve") or []}
    # TRL samples once per optimizer step (steps_per_generation = gradient_accumulation_steps), so the i-th
    # generation batch (1-based) is RL step i, the step the dev curve is keyed by; step 0 is the SFT policy.
    steps = _spaced(sorted(curve) if curve else list(range(1, len(rollouts) + 1)))
    rows = []
    for step in steps:
        sampled = rollouts[step - 1] if 1 <= step <= len(rollouts) else {}
        rows.append([f"{step}" if step else "0 (SFT)", _cell("success_rate", sampled),
                     _cell("mixed_groups", sampled), _cell("agent/success_rate", curve.get(step, {}))])
    lines += ["", "Success against RL steps: sampled rollouts on train tasks, and greedy play of the dev tasks "
              "where evaluated (eval.curve_every).", "",
              *md_table(["RL step", "sampled success", "mixed groups", "dev success (greedy)"], rows)]
    return lines


def agent_report(metrics: AgentMetrics) -> str:
    """Markdown: the run header, then the random baseline, SFT and RL on the held-out tasks (and the train
    tasks played) with the policy's world model, then what decides whether GRPO can learn."""
    run, stages = metrics["run"], metrics["stages"]
    method = "GRPO + PaW" if run["paw"] else "GRPO"
    rows = [("SFT (walkthroughs)", stages["sft/eval"]), (method, stages["rl/eval"])]
    if "baseline/random" in stages:
        rows.insert(0, ("random admissible action", stages["baseline/random"]))
    keys = sorted({k for _, m in rows for k in m["test"] if k != "wm/examples"})
    table = [[name, *(_cell(k, m["test"]) for k in keys)] for name, m in rows]
    lines = run_header(run, "Agent run report") + ["", f"## {method} against walkthrough SFT (held-out tasks)", "",
                                                    *md_table(["model", *keys], table)]
    trained = [(name, m["train"]) for name, m in rows if m.get("train")]
    if trained:
        train_keys = sorted({k for _, m in trained for k in m})
        lines += ["", "The same on the first train tasks (eval.train_tasks):", "",
                  *md_table(["model", *train_keys], [[name, *(_cell(k, m) for k in train_keys)]
                                                     for name, m in trained])]
    rl = stages["rl"]
    lines += ["", f"RL: {len(rl['train_log'])} steps, {rl['seconds_per_step']:.1f} s/step, peak RSS "
              f"{rl['peak_rss_mb']:.0f} MiB."]
    return "\n".join(lines + _learning_section(stages)) + "\n"
