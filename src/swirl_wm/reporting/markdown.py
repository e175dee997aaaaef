"""The run's Markdown report: metric tables per split, the best checkpoints, gains over SFT, and a
reward-hacking check.

Input is the run's ``metrics.json`` dict (written by the training loop): ``run`` (name, seed, git_commit,
env, model, model_source, machine, wall_time_s), ``phases`` in training order (each with ``name``,
``iteration``, ``role``, ``val`` and ``test`` metric dicts keyed ``"<role>/<metric>"``, and a
``train_log`` of GRPO steps), and ``best`` (the phase chosen per role on validation, with its
``criterion``). Metric keys vary by environment; a missing value is shown as "—".
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from swirl_wm.files import atomic_write_text
from swirl_wm.glossary import better, glossary_rows, is_fraction, table_rank
from swirl_wm.results import RunInfo, SwirlMetrics, grpo_phase

MISSING = "—"

_ROLE_ORDER = ("fwm", "idm")
_REWARD_HACKING_KEY = "fwm/rouge_l"


def md_text(text: object) -> str:
    """``text`` as it may stand in a Markdown report: ``&``, ``<`` and ``>`` as entities (Python-Markdown
    passes raw HTML through to the HTML page, so a run name holding ``<script>`` would run there), ``|`` escaped
    (it would end a table cell), line breaks as spaces (they would end a table row). Markdown emphasis and code
    marks are kept, so a cell may be ``**bold**``."""
    return html.escape(" ".join(str(text).splitlines()), quote=False).replace("|", "\\|")


def md_table(header: Sequence[object], rows: Iterable[Sequence[object]], align: str = "lr") -> list[str]:
    """The one writer of the reports' Markdown tables: a header row, the separator and one line per row, every
    cell through :func:`md_text`, every row as wide as the header (a short row is padded with empty cells, a
    longer one cut), so that each renders as a table and never as raw pipes.

    Args:
        align: one letter per column, ``l`` (left) or ``r`` (right); the last letter holds for the columns
            after it (``"lr"``: the first column left, the others right).
    """
    width = len(header)
    marks = [{"l": "---", "r": "---:"}[align[min(i, len(align) - 1)]] for i in range(width)]

    def line(cells: Sequence[object]) -> str:
        cells = [md_text(c) for c in list(cells)[:width]]
        return "| " + " | ".join(cells + [""] * (width - len(cells))) + " |"

    return [line(header), "|" + "|".join(marks) + "|", *(line(r) for r in rows)]


def format_value(key: str, value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return MISSING
    if is_fraction(key):
        return f"{100 * value:.1f} %"
    return f"{value:.2f}"


def _format_change(key: str, old: float | None, new: float | None) -> tuple[str, str]:
    """(absolute change, relative change) of ``new`` over ``old``; fractions change in points (pp)."""
    if old is None or new is None:
        return MISSING, MISSING
    absolute = f"{100 * (new - old):+.1f} pp" if is_fraction(key) else f"{new - old:+.2f}"
    # |old| in the denominator keeps the sign meaning "better" for negative metrics (log-likelihood).
    relative = f"{100 * (new - old) / abs(old):+.1f} %" if old else MISSING
    return absolute, relative


def _column_order(key: str) -> tuple[int, int, str]:
    role = key.split("/")[0]
    role_rank = _ROLE_ORDER.index(role) if role in _ROLE_ORDER else len(_ROLE_ORDER)
    return role_rank, table_rank(key), key


def _best_roles(metrics: dict[str, Any], phase_name: str) -> list[str]:
    return [role.upper() for role in _ROLE_ORDER if metrics["best"].get(role) == phase_name]


# The console summary's columns (those a run reports): the headline metric of each kind.
SUMMARY_KEYS = ("fwm/exact_match", "fwm/bleu", "fwm/rouge_l", "fwm/field_accuracy", "fwm/code_match", "fwm/ssim",
                "idm/bleu", "idm/rouge_l",
                "idm/grounded_accuracy")


def metrics_table(metrics: dict[str, Any], split: str = "test", only: tuple[str, ...] | None = None) -> str:
    """Render one split's metrics as a Markdown table: a row per phase, FWM columns then IDM columns.

    Columns are the union of the metric keys that any phase reports for ``split``, FWM first, then IDM,
    each in the order exact match, BLEU, ROUGE-L, log-likelihood, field accuracy, grounded accuracy,
    others. Fractions are shown in %, other values to 2 decimals, missing values as "—". The phase
    chosen as best for a role (``metrics["best"]``, chosen on validation) is in bold, with the role in
    the *best* column.

    Args:
        metrics: the run's ``metrics.json`` dict.
        split: ``"test"`` or ``"val"``: which metric dict of each phase to show.
        only: show just these metric keys (those present), e.g. :data:`SUMMARY_KEYS`.

    Returns:
        The table, one line per row, ending with a newline.

    Raises:
        KeyError: if ``metrics`` lacks ``phases`` or ``best``, or a phase lacks ``name``.

    Source: docs/method.md §1.5 (SWIRL): evaluate after every phase, keep the best by validation.
    """
    header, rows = metrics_rows(metrics, split, only)
    marked = [[f"**{row[0]}**" if row[1] else row[0], *row[1:]] if kind == "phase" else [f"*{row[0]}*", *row[1:]]
              for kind, row in rows]
    return "\n".join(md_table(header, marked, "llr")) + "\n"


def metrics_rows(metrics: dict[str, Any], split: str = "test", only: tuple[str, ...] | None = None
                 ) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The cells of :func:`metrics_table` without Markdown: the header, and per row its kind (``"phase"`` or
    ``"baseline"``) and cells (name, the roles it is best for, the formatted values); the console prints
    them as its own table.

    Raises:
        KeyError: as :func:`metrics_table`.
    """
    phases = metrics["phases"]
    keys = sorted({key for phase in phases for key in phase.get(split, {})}, key=_column_order)
    if only is not None:
        keys = [key for key in keys if key in only]
    rows = [("phase", [phase["name"], ", ".join(_best_roles(metrics, phase["name"])),
                       *(format_value(key, phase.get(split, {}).get(key)) for key in keys)]) for phase in phases]
    rows += [("baseline", [TRIVIAL_NAMES.get(baseline, baseline), "",
                           *(format_value(key, per_split.get(split, {}).get(key)) for key in keys)])
             for baseline, per_split in metrics.get("trivial_baselines", {}).items()]
    return ["phase", "best (val)", *keys], rows


# Names of the trivial baselines (evaluation/baselines.py; agent runs: evaluation/agent_eval.py) in tables.
TRIVIAL_NAMES = {"copy": "copy the state (ŷ = x)", "noop": "no-op rule (passive dynamics)",
                 "most_frequent_action": "most frequent action", "random": "random admissible action"}


def verdict_lines(metrics: dict[str, Any], split: str = "test") -> list[str]:
    """Plain words: does the best FWM (IDM) phase beat the best trivial baseline on its selection metric?

    A model that does not is reported as having learnt nothing the baselines do not already know.
    """
    baselines = metrics.get("trivial_baselines", {})
    lines = []
    for role in _ROLE_ORDER:
        name = metrics.get("best", {}).get(role)
        key = metrics.get("best", {}).get("criterion", {}).get(role, "").partition(" ")[2]
        phase = _phase(metrics["phases"], name) if name else None
        if phase is None or key not in phase.get(split, {}):
            continue
        rivals = {b: v[split][key] for b, v in baselines.items() if key in v.get(split, {})}
        if not rivals:
            continue
        top = max(rivals, key=lambda b: rivals[b] if better(key, 1.0, 0.0) else -rivals[b])
        value = phase[split][key]
        wins = better(key, value, rivals[top])
        verb = "beats" if wins else "does NOT beat"
        tail = "" if wins else ": it has learnt nothing the baseline does not already know"
        lines.append(f"- {role.upper()} (`{name}`) {verb} the best trivial baseline on {split} {key}: "
                     f"{format_value(key, value)} vs {format_value(key, rivals[top])} "
                     f"({TRIVIAL_NAMES.get(top, top)}){tail}.")
    return lines


def rollout_metric(rows: list[dict[str, Any]]) -> str:
    """The state metric a rollout table or curve shows: field accuracy where the states parse, exact frames
    (code match) for image states, else ROUGE-L."""
    for key in ("fwm/field_accuracy", "fwm/code_match"):
        if rows and key in rows[0]:
            return key
    return "fwm/rouge_l"


def _rollout_lines(metrics: dict[str, Any]) -> list[str]:
    """Per-step rollout table of each phase (test episodes), headline state metric, copy baseline last."""
    with_rollout = [p for p in metrics["phases"] if p.get("rollout")]
    if not with_rollout:
        return []
    first = with_rollout[0]["rollout"]["model"]
    key = rollout_metric(first)
    steps = [r["step"] for r in first]
    rows = [[phase["name"], *(format_value(key, r.get(key)) for r in phase["rollout"]["model"])]
            for phase in with_rollout]
    rows.append([f"*{TRIVIAL_NAMES['copy']}*", *(format_value(key, r.get(key))
                                                  for r in with_rollout[0]["rollout"]["copy"])])
    header = ["model", *(f"t={t} (n={r['episodes']})" for t, r in zip(steps, first, strict=True))]
    return [f"## Multi-step rollouts (test episodes, {key} per step; the FWM feeds on its own predictions)", "",
            *md_table(header, rows)]


def sft_curve_lines(phases: list[dict[str, Any]]) -> list[str]:
    """The SFT learning curve: validation loss and the ``curve/...`` generation metrics at each evaluation,
    per role (the warm-start check before SWIRL's phases: is the loss near its floor, does the IDM get the
    action?)."""
    sft = _phase(phases, "sft") or {}
    rows: dict[tuple[str, int], dict[str, float]] = {}
    for entry in sft.get("train_log", []):
        if "eval_loss" in entry or any(k.startswith("curve/") for k in entry):
            key = (entry.get("role", "both"), entry["step"])
            rows.setdefault(key, {}).update({k: v for k, v in entry.items() if k == "eval_loss" or
                                             k.startswith("curve/")})
    if not rows:
        return []
    keys = sorted({k for r in rows.values() for k in r if k != "eval_loss"}, key=lambda k: _column_order(k[6:]))
    return ["## SFT learning curve (validation)", "", *md_table(
        ["role", "step", "val loss", *(k[6:] for k in keys)],
        [[role, step, format_value("eval_loss", r.get("eval_loss")), *(format_value(k[6:], r.get(k)) for k in keys)]
         for (role, step), r in sorted(rows.items())])]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return MISSING
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{seconds:.1f} s ({hours} h {minutes:02d} min {secs:02d} s)"


def _data_line(data: dict[str, Any] | None) -> str:
    if not data:
        return MISSING
    splits = ", ".join(f"{data[k]} {k}" + (f" ({data[k + '_episodes']} episodes)" if k + "_episodes" in data else "")
                       for k in ("labelled", "unlabelled", "val", "test") if k in data)
    line = f"{data.get('episodes', MISSING)} episodes; transitions: {splits}"
    if "truncated" in data:
        line += f"; {data['truncated']} with a state cut to {data.get('max_state_chars', MISSING)} chars"
    return line


def run_header(run: RunInfo, title: str) -> list[str]:
    """The report's first lines: ``title`` and a table of the run's provenance (SWIRL and agent runs alike)."""
    model = run.get("model", MISSING)
    if run.get("model_source"):
        model = f"{model} ({run['model_source']})"
    machine = ", ".join(f"{k}: {v}" for k, v in run.get("machine", {}).items()) or MISSING
    commit = run.get("git_commit")
    others = sorted(set(run.get("stage_commits", {}).values()) - {commit})
    if commit and others:  # a resumed run: some stages ran at other commits
        commit = f"{commit}` (report); stages also ran at `" + "`, `".join(others)
    rows = [
        ("seed", run.get("seed", MISSING)),
        ("git commit", f"`{commit}`" if commit else MISSING),
        ("model", model),
        ("environment", run.get("env", MISSING)),
        ("data", _data_line(run.get("data"))),
        ("machine", machine),
        ("wall time", _duration(run.get("wall_time_s"))),
    ]
    if "paw" in run:
        rows.insert(3, ("method", "GRPO + PaW" if run["paw"] else "GRPO"))
    return [f"# {title}: {md_text(run.get('name', MISSING))}", "", *md_table(["run", ""], rows, "l")]


def _phase(phases: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((phase for phase in phases if phase["name"] == name), None)


def _best_section(metrics: dict[str, Any]) -> list[str]:
    lines = ["## Best checkpoints (chosen on validation, never on test)", ""]
    sft = _phase(metrics["phases"], "sft")
    for role in _ROLE_ORDER:
        name = metrics["best"].get(role)
        if name is None:
            lines.append(f"- **{role.upper()}**: no phase chosen.")
            continue
        criterion = metrics["best"].get("criterion", {}).get(role, MISSING)
        # The criterion reads "<split> <metric key>", e.g. "val fwm/rouge_l".
        split, _, key = criterion.partition(" ")
        best_phase = _phase(metrics["phases"], name) or {}
        value = format_value(key, best_phase.get(split, {}).get(key))
        sft_value = format_value(key, sft.get(split, {}).get(key)) if sft else MISSING
        lines.append(f"- **{role.upper()}**: `{name}`, by {criterion} = {value} (SFT: {sft_value}).")
    return lines


def _gain_section(metrics: dict[str, Any]) -> list[str]:
    name = metrics["best"].get("fwm")
    lines = ["## Best FWM vs SFT on the test split", ""]
    sft = _phase(metrics["phases"], "sft")
    best = _phase(metrics["phases"], name) if name else None
    if sft is None or best is None:
        return [*lines, f"No comparison: the run has no `sft` phase or no best FWM phase ({name})."]
    keys = sorted(
        {k for k in [*sft.get("test", {}), *best.get("test", {})] if k.startswith("fwm/")}, key=_column_order
    )
    rows = []
    for key in keys:
        old, new = sft.get("test", {}).get(key), best.get("test", {}).get(key)
        rows.append([key, format_value(key, old), format_value(key, new), *_format_change(key, old, new)])
    return [*lines, *md_table(["metric", "SFT", f"best (`{name}`)", "change", "relative change"], rows)]


def _reward_hacking_lines(phases: list[dict[str, Any]]) -> list[str]:
    """One line per Phase I (FWM) phase: does the reward rise while validation FWM ROUGE-L falls?

    A rising Phase I reward means the frozen IDM finds the generated states more explanatory; if the
    states at the same time drift from the real ones (validation ROUGE-L falls against the phase before),
    the FWM is likely gaming the IDM scorer instead of modelling the environment.
    """
    lines = []
    for index, phase in enumerate(phases):
        if phase.get("role") != "fwm" or not grpo_phase(phase):
            continue
        name, log = phase["name"], phase.get("train_log", [])
        if _no_reward_signal(log):
            mean = sum(entry["reward"] for entry in log) / len(log)
            lines.append(f"- **`{name}`: no reward signal**: every sample of every group got the same reward (mean "
                         f"{mean:.2f} over {len(log)} GRPO steps), so every advantage was zero and the phase learnt "
                         "nothing from its reward. A reward at eval.min_logprob (−10 by default) is the scorer's "
                         "floor: the frozen IDM found every sampled state implausible (a warm start that has not "
                         "learnt, or states cut by a token budget).")
            continue
        if len(log) < 2 or index == 0:
            lines.append(f"- `{name}`: not checked ({len(log)} GRPO steps logged, or no phase before it).")
            continue
        third = max(1, len(log) // 3)
        first = sum(entry["reward"] for entry in log[:third]) / third
        last = sum(entry["reward"] for entry in log[-third:]) / third
        previous = phases[index - 1]
        before = previous.get("val", {}).get(_REWARD_HACKING_KEY)
        after = phase.get("val", {}).get(_REWARD_HACKING_KEY)
        if before is None or after is None:
            lines.append(f"- `{name}`: not checked (val {_REWARD_HACKING_KEY} missing).")
            continue
        trend = (
            f"mean reward {first:.2f} → {last:.2f} (first vs last third of {len(log)} steps), "
            f"val {_REWARD_HACKING_KEY} {before:.2f} (`{previous['name']}`) → {after:.2f}"
        )
        if last > first and after < before:
            lines.append(
                f"- **WARNING: possible reward hacking in `{name}`**: the reward rose while the "
                f"validation FWM score fell; {trend}. Inspect its generated states before trusting "
                "the reward."
            )
        elif after < before:
            # Not the reward-hacking pattern, but a Phase I that made the FWM worse must not read "ok".
            lines.append(f"- `{name}`: the validation FWM score fell (the reward did not rise); {trend}. "
                         "Selection by validation keeps the earlier FWM.")
        else:
            lines.append(f"- `{name}`: ok; {trend}.")
    return lines or ["- No Phase I (FWM) phase in this run."]


def _no_reward_signal(log: list[dict[str, Any]]) -> bool:
    """Whether a GRPO phase's rewards never varied within a group: every logged step's ``reward_std`` is 0
    (a reward pinned at the scorer's clamp), or, for a log without it, the mean reward never moved."""
    rewards = [entry["reward"] for entry in log if "reward" in entry]
    if not rewards:
        return False
    if all("reward_std" in entry for entry in log):
        return all(abs(entry["reward_std"]) <= 1e-6 for entry in log)
    return len(rewards) > 1 and max(rewards) - min(rewards) <= 1e-6


def _latent_action_lines(phases: list[dict[str, Any]]) -> list[str]:
    """One row per Phase I: how many pairs kept a latent action, how varied and how long they are.

    SWIRL reports > 94 % distinct latent actions (no collapse to one generic action); a mean length far
    from the gold actions' says the IDM's actions are not the environment's kind of action.
    """
    rows = [(p["name"], p["latent_actions"]) for p in phases if "latent_actions" in p]
    if not rows:
        return ["- No Phase I in this run."]
    lines = md_table(["phase", "pairs", "kept", "distinct", "mean words", "gold mean words"], [
        [name, la["pairs"], la["kept"], f"{100 * la['distinct_fraction']:.1f} %", f"{la['mean_words']:.1f}",
         MISSING if la.get("gold_mean_words") is None else f"{la['gold_mean_words']:.1f}"] for name, la in rows])
    collapsed = [name for name, la in rows if la["kept"] and la["distinct_fraction"] < 0.94]
    if collapsed:
        lines += ["", f"**Below the paper's 94 % distinct latent actions:** {', '.join(collapsed)}."]
    checks = [(p["name"], p["warm_start_check"]) for p in phases if "warm_start_check" in p]
    if checks:
        table = [[name, *_signal_cells(c["reward_signal"]),
                  format_value("idm/grounded_accuracy", c.get("latent_grounded_accuracy")),
                  ", ".join(f"{k} {format_value(k, v)}" for k, v in c.get("idm_val", {}).items()) or MISSING]
                 for name, c in checks]
        lines += ["", "Warm-start check before each Phase I (does the reward rank the FWM's samples by quality?):", "",
                  *md_table(["phase", *_SIGNAL_HEADER, "latent actions grounded", "IDM val"], table, "lrrrrrrl")]
    checks = [(p["name"], p["phase2_check"]["reward_signal"]) for p in phases if "phase2_check" in p]
    if checks:
        table = [[name, *_signal_cells(r),
                  MISSING if r.get("mean_quality") is None else f"{100 * r['mean_quality']:.1f} %"]
                 for name, r in checks]
        lines += ["", "Reward check before each Phase II (does the FWM's log P(y | x, ẑ) rank the IDM's sampled "
                  "actions by whether they explain the transition?):", "",
                  *md_table(["phase", *_SIGNAL_HEADER, "samples correct"], table)]
    return lines


_SIGNAL_HEADER = ("groups", "distinct samples", "reward std", "corr(reward, quality)", "best − mean quality")


def _signal_cells(r: dict[str, Any]) -> list[str]:
    """The reward-signal cells of a check's row (:func:`~swirl_wm.evaluation.reward_signal.group_figures`),
    under :data:`_SIGNAL_HEADER`."""
    corr = _with_ci(r.get("corr_reward_quality"), r.get("corr_reward_quality_ci95"))
    gain = _with_ci(r.get("best_minus_mean"), r.get("best_minus_mean_ci95"))
    return [str(r.get("groups", 0)), _with_ci(r.get("distinct_fraction")), _with_ci(r.get("reward_std")), corr, gain]


def _with_ci(value: float | None, ci: float | None = None) -> str:
    """``value`` to 3 decimals, with ``± ci`` when the half-width is finite; "—" for no value."""
    if value is None:
        return MISSING
    return f"{value:.3f}" + (f" ± {ci:.3f}" if ci is not None and math.isfinite(ci) else "")


def model_baseline_rows(metrics: dict[str, Any], split: str = "test") -> list[tuple[str, dict[str, float]]]:
    """``(name, split's metrics)`` of each trained baseline the run has (best-of-N, bootstrap, bootstrap →
    Phase I, oracle), in that order."""
    baselines = metrics.get("baselines", {})
    names = {"best_of_n": f"best-of-{baselines.get('best_of_n', {}).get('n')} by IDM score",
             "bootstrap": "bootstrap (SFT on the pseudo-labels)",
             "bootstrap_phase1": "bootstrap → Phase I (Phase I from the bootstrap FWM)",
             "pseudo_label_sft": "pseudo-label SFT (the oracle's recipe with the IDM's actions)",
             "oracle": "oracle (SFT on L + U with U's true actions)"}
    return [(label, baselines[name][split]) for name, label in names.items() if name in baselines]


def _baseline_lines(metrics: dict[str, Any]) -> list[str]:
    """Test-split FWM metrics of the baselines next to SFT and the best FWM phase."""
    baselines = metrics.get("baselines", {})
    if not baselines:
        return []
    sft = _phase(metrics["phases"], "sft") or {}
    best = _phase(metrics["phases"], metrics.get("best", {}).get("fwm", "")) or {}
    rows = [("sft", sft.get("test", {})), (f"SWIRL best FWM ({best.get('name', MISSING)})", best.get("test", {}))]
    rows += [r for r in model_baseline_rows(metrics, "test") if not r[0].startswith("oracle")]
    keys = [k for k in ("fwm/exact_match", "fwm/bleu", "fwm/rouge_l", "fwm/field_accuracy", "fwm/json_field_f1",
                        "fwm/psnr", "fwm/ssim", "fwm/code_accuracy", "fwm/changed_cell_accuracy",
                        "fwm/unchanged_cells_broken", "fwm/embedding_similarity")
            if any(k in values for _, values in rows)]
    return ["## Baselines (test split, FWM)", "", *md_table(
        ["model", *keys], [[name, *(format_value(k, values.get(k)) for k in keys)] for name, values in rows])]


def write_report(metrics: SwirlMetrics, path: Path, plot_path: Path | None) -> Path:
    """Write the run's Markdown report, atomically.

    Sections: run header (seed, commit, model, environment, machine, wall time); the test table and the
    validation table (:func:`metrics_table`); the best phase per role, by which validation criterion and
    value; the best FWM phase against SFT on the test split for each FWM metric (absolute and relative
    change); the baselines' FWM metrics, when the run has any; the reward-hacking check for each Phase I
    phase (mean reward of the last third of its GRPO steps above the first third, while validation FWM
    ROUGE-L fell against the phase before → a warning line); the latent-action diagnostics of each Phase I
    (kept, distinct fraction, mean words vs gold); and the plot, linked relative to the report.

    Args:
        metrics: the run's ``metrics.json`` dict.
        path: the ``.md`` file to write; its directory must exist.
        plot_path: the run's PNG (from :func:`swirl_wm.reporting.plot.plot_run`), or ``None`` for no
            figure.

    Returns:
        ``path``.

    Raises:
        KeyError: if ``metrics`` lacks ``run``, ``phases`` or ``best``, a phase lacks ``name``, or a
            ``train_log`` entry lacks ``reward``.
        FileNotFoundError: if ``path``'s directory does not exist.

    Source: docs/method.md §1.5 (best checkpoint by validation), §1.7 (SWIRL's gains are reported
        relative to SFT on held-out transitions).
    """
    path = Path(path)
    plot_ref = None if plot_path is None else Path(os.path.relpath(plot_path, path.parent)).as_posix()
    return atomic_write_text(path, report_markdown(metrics, plot_ref))


def report_markdown(metrics: SwirlMetrics, plot_ref: str | None) -> str:
    """The text of the run's Markdown report (:func:`write_report`); ``plot_ref`` is the figure's link
    (a path relative to the report, or a ``data:`` URI), ``None`` for no figure.

    Raises:
        KeyError: as :func:`write_report`.
    """
    lines = run_header(metrics["run"], "SWIRL run report")
    legend = "Fractions in %; BLEU and ROUGE-L on 0–100; other values as logged; — = not measured."
    for title, split in (("Test split", "test"), ("Validation split", "val")):
        lines += ["", f"## {title}", "", legend, "", metrics_table(metrics, split).rstrip("\n")]
        verdict = verdict_lines(metrics) if split == "test" else []
        if verdict:
            lines += ["", "Against the trivial baselines (italic rows):", "", *verdict]
    rollout = _rollout_lines(metrics)
    lines += ["", *rollout] if rollout else []
    curve = sft_curve_lines(metrics["phases"])
    lines += ["", *curve] if curve else []
    lines += ["", *_best_section(metrics), "", *_gain_section(metrics)]
    baselines = _baseline_lines(metrics)
    lines += ["", *baselines] if baselines else []
    lines += ["", "## Reward-hacking check (Phase I)", "", *_reward_hacking_lines(metrics["phases"])]
    lines += ["", "## Latent actions (Phase I)", "", *_latent_action_lines(metrics["phases"])]
    if plot_ref is not None:
        lines += ["", "## Training curves", "", f"![reward per GRPO step and key metrics per phase]({plot_ref})"]
    keys = [k for p in metrics["phases"] for split in ("val", "test") for k in p.get(split, {})]
    lines += ["", "## Metrics", "", *md_table(["metric", "unit", "better", "meaning"], glossary_rows(keys), "l")]
    return "\n".join(lines) + "\n"
