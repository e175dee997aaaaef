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
  image_codec: {{steps: 800, learning_rate: 1.0e-2}}  # keeps the 13 kinds of patch apart in 5 s
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
    assert codec["codes_for_patch_kinds"] == codec["patch_kinds"]  # a codec that merges two is refused
    assert [p["name"] for p in metrics["phases"]] == ["sft", "iter1/phase1", "iter1/phase2"]
    for phase in metrics["phases"]:
        test = phase["test"]
        assert {"fwm/psnr", "fwm/ssim", "fwm/code_accuracy", "fwm/well_formed", "idm/grounded_accuracy"} <= set(test)
        assert 0 <= test["fwm/field_accuracy"] <= 1  # the objects the pixel reader finds in the decoded frame
        assert 0 <= test["fwm/changed_cell_accuracy"] <= 1 and test["fwm/unchanged_cells_broken"] >= 0
        rows = phase["rollout"]["model"]
        assert [r["step"] for r in rows] == [1, 2, 3] and all("fwm/code_match" in r for r in rows)
    copy = metrics["trivial_baselines"]["copy"]["test"]  # copy the frame: every code right but the changed ones
    assert copy["fwm/well_formed"] == 1 and copy["fwm/code_match"] == 0 and copy["fwm/code_accuracy"] > 0.5
    assert copy["fwm/changed_cell_accuracy"] == 0 and copy["fwm/unchanged_cells_broken"] == 0
    assert 0 < copy["fwm/field_accuracy"] < 1  # the objects the action left alone
    first = json.loads((run / "data" / "test.jsonl").read_text().splitlines()[0])
    assert first["x"].startswith("<boi><v") and first["meta"]["x_source"].startswith("grid=4 | ")
    checkpoint = run / "checkpoints" / "iter1-phase1" / "fwm"  # complete on its own: its copy of the codec
    fmt = PromptFormat.load(checkpoint)
    assert fmt.modality == "image" and Path(fmt.modality_folder) == (checkpoint / "modality").resolve()
    assert json.loads((checkpoint / "prompt_format.json").read_text())["modality_folder"] == "modality"
    page = (run / "report.html").read_text()
    assert "Image strips" in page and "Rollout strips" in page
    assert metrics["phases"][0]["rollout"]["samples"][0]["x0"].startswith("<boi><v")

    test_file = run / "data" / "test.jsonl"
    out = tmp_path / "predicted.jsonl"
    result = CliRunner().invoke(app, ["predict", "--run", str(run), "--input", str(test_file), "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = out.read_text().splitlines()
    pngs = sorted((tmp_path / "predicted-frames").glob("*.png"))
    assert len(pngs) == len(rows) > 0 and pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = tmp_path / "rolled.jsonl"
    result = CliRunner().invoke(app, ["rollout", "--run", str(run), "--input", str(test_file), "--steps", "2",
                                      "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "rolled-frames").glob("*.png"))) == len(out.read_text().splitlines()) > 0


@pytest.mark.slow
def test_a_codec_that_gives_two_patch_kinds_one_code_stops_the_data_stage(tmp_path):
    config = tmp_path / "crowded.yaml"
    config.write_text(CONFIG.format(out=tmp_path / "run", env="shapes", iterations=0,
                                    source="shapes: {grid: 4, n_objects: 2, episode_length: 3, n_episodes: 12}")
                      .replace("image_codec: {steps: 800", "image_codec: {levels: [3, 3], attempts: 2, steps: 20"))
    result = CliRunner().invoke(app, ["train", str(config)])
    assert result.exit_code != 0
    text = " ".join(result.output.split())
    assert "13 distinct patches only" in text and "with each of its 2 seeds (0..1" in text, text
    assert "share a code: code" in text and "data.image_codec.steps" in text
    assert not (tmp_path / "run" / "metrics.json").exists()


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
