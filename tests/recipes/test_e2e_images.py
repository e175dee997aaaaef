"""Image states through the same loop, on the tiny model through the CLI: the shapes world's
frames (the data stage trains the run's codec and writes states as codes) and a user's log of image files.
Marked slow (about half a minute each on 2 cores)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swirl_wm.cli.main import app
from swirl_wm.envs.shapes import ShapesWorldConfig, generate_episodes, parse_scene, render
from swirl_wm.models.prompts import PromptFormat

CONFIG = """
name: visual-e2e
seed: 0
output_dir: {out}
allow_cut_texts: true  # budgets of a few tokens keep the tiny model's generations short
data:
  env: {env}
  modality: image
  {source}
  image_codec: {{steps: 300}}
model: {{name_or_path: tiny, torch_threads: 1, idm_diff: true}}
sft: {{learning_rate: 1.0e-3, max_steps: 2, per_device_train_batch_size: 4}}
swirl:
  iterations: {iterations}
  phase1: {{learning_rate: 1.0e-3, num_generations: 2, per_device_train_batch_size: 4, max_steps: 1,
           max_completion_length: 20}}
  phase2: {{learning_rate: 1.0e-3, num_generations: 2, per_device_train_batch_size: 4, max_steps: 1,
           max_completion_length: 8}}
  latent_action: {{max_new_tokens: 8}}
  warm_start_check: {{pairs: 2}}
eval: {{max_examples: 3, max_new_tokens_state: 20, max_new_tokens_action: 8, min_logprob: -1000,
       embedding_similarity: false, rollout_steps: 3}}
"""


@pytest.mark.slow
def test_image_states_run_sft_and_both_phases(tmp_path):
    run = tmp_path / "run"
    config = tmp_path / "visual.yaml"
    config.write_text(CONFIG.format(out=run, env="shapes", iterations=1,
                                    source="shapes: {grid: 4, n_objects: 2, episode_length: 3, n_episodes: 12}"))
    result = CliRunner().invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "metrics.json").read_text())
    codec = metrics["run"]["data"]["image_codec"]
    assert codec["codes_per_frame"] == 16 and codec["held_out_frames"] > 0 and 0 < codec["psnr"] <= 100
    assert 1 <= codec["codes_for_patch_kinds"] <= codec["patch_kinds"]
    assert [p["name"] for p in metrics["phases"]] == ["sft", "iter1/phase1", "iter1/phase2"]
    for phase in metrics["phases"]:
        test = phase["test"]
        assert {"fwm/psnr", "fwm/ssim", "fwm/code_accuracy", "fwm/well_formed", "idm/grounded_accuracy"} <= set(test)
        assert "fwm/field_accuracy" not in test  # the environment's fields are read from text states only
        rows = phase["rollout"]["model"]
        assert [r["step"] for r in rows] == [1, 2, 3] and all("fwm/code_match" in r for r in rows)
    copy = metrics["trivial_baselines"]["copy"]["test"]  # copy the frame: every code right but the changed ones
    assert copy["fwm/well_formed"] == 1 and copy["fwm/code_match"] == 0 and copy["fwm/code_accuracy"] > 0.5
    first = json.loads((run / "data" / "test.jsonl").read_text().splitlines()[0])
    assert first["x"].startswith("<boi><v") and first["meta"]["x_source"].startswith("grid=4 | ")
    checkpoint = run / "checkpoints" / "iter1-phase1" / "fwm"  # complete on its own: its copy of the codec
    fmt = PromptFormat.load(checkpoint)
    assert fmt.modality == "image" and Path(fmt.modality_folder) == (checkpoint / "modality").resolve()
    assert json.loads((checkpoint / "prompt_format.json").read_text())["modality_folder"] == "modality"
    assert "Image strips" in (run / "report.html").read_text()


@pytest.mark.slow
def test_a_log_of_image_files_trains_and_a_missing_file_is_named(tmp_path):
    """data.env: jsonl with each state an image file's path (relative to the log's folder)."""
    from PIL import Image

    frames = tmp_path / "log" / "frames"
    frames.mkdir(parents=True)
    lines = []
    for episode in generate_episodes(ShapesWorldConfig(grid=4, n_episodes=8, episode_length=3), seed=3):
        for t in episode.transitions:
            names = []
            for state in (t.x, t.y):
                name = f"frames/{abs(hash(state)) % 10**8}.png"
                Image.fromarray(render(parse_scene(state))).save(tmp_path / "log" / name)
                names.append(name)
            lines.append(json.dumps({"episode_id": t.episode_id, "step": t.step, "x": names[0], "z": t.z,
                                     "y": names[1]}))
    log = tmp_path / "log" / "episodes.jsonl"
    log.write_text("\n".join(lines) + "\n")
    config = tmp_path / "files.yaml"
    source = f"path: {log}\n  split: {{val_fraction: 0.15, test_fraction: 0.15, simulated_unlabelled_fraction: 0.3}}"
    config.write_text(CONFIG.format(out=tmp_path / "run", env="jsonl", iterations=0, source=source))
    result = CliRunner().invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    test = json.loads((tmp_path / "run" / "metrics.json").read_text())["phases"][0]["test"]
    assert {"fwm/psnr", "fwm/ssim", "idm/rouge_l"} <= set(test)

    log.write_text(lines[0].replace(json.loads(lines[0])["y"], "frames/missing.png") + "\n" + "\n".join(lines[1:]))
    result = CliRunner().invoke(app, ["train", str(config), "--output-dir", str(tmp_path / "run2")])
    assert result.exit_code != 0 and "missing.png: not an image file" in result.output
