"""The Markdown report of an agent run (``swirl paw``)."""

from __future__ import annotations

from swirl_wm.reporting.markdown import md_table, run_header
from swirl_wm.results import AgentMetrics


def agent_report(metrics: AgentMetrics) -> str:
    """Markdown: the run header, then SFT vs RL on the held-out tasks and the policy's world model."""
    run, stages = metrics["run"], metrics["stages"]
    method = "GRPO + PaW" if run["paw"] else "GRPO"
    rows = [("SFT (walkthroughs)", stages["sft/eval"]["test"]), (method, stages["rl/eval"]["test"])]
    keys = sorted({k for _, m in rows for k in m if k != "wm/examples"})
    fmt = {True: "{:.1%}", False: "{:.2f}"}
    table = [[name, *(fmt["success_rate" in k or k == "wm/exact_match"].format(m[k]) if k in m else "—"
                      for k in keys)] for name, m in rows]
    lines = run_header(run, "Agent run report") + ["", f"## {method} against walkthrough SFT (held-out tasks)", "",
                                                    *md_table(["model", *keys], table)]
    rl = stages["rl"]
    lines += ["", f"RL: {len(rl['train_log'])} steps, {rl['seconds_per_step']:.1f} s/step, peak RSS "
              f"{rl['peak_rss_mb']:.0f} MiB."]
    return "\n".join(lines) + "\n"

