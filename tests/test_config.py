import pytest

from swirl_wm.config import ConfigError, GRPOPhaseConfig, RunConfig, dump_config, load_config, parse_override


def _write(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_the_paper_values():
    c = RunConfig()
    assert (c.swirl.phase1.beta, c.swirl.phase1.temperature, c.swirl.phase1.top_p, c.swirl.phase1.epsilon) == (
        0.1, 0.7, 0.96, 0.2)
    assert c.swirl.latent_action.threshold == -2.0 and c.eval.min_logprob == -10.0
    assert c.data.split.simulated_unlabelled_fraction is None  # labels decide; 0.5 simulated when none missing


def test_round_trip_through_yaml(tmp_path):
    c = load_config(_write(tmp_path, "seed: 3\nswirl:\n  iterations: 2\n"))
    assert c.seed == 3 and c.swirl.iterations == 2
    assert load_config(_write(tmp_path, dump_config(c))) == c


def test_unknown_key_names_file_line_and_field(tmp_path):
    path = _write(tmp_path, "seed: 1\nswirl:\n  iterations: 1\n  phase1:\n    num_generation: 4\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"{path}:5: field 'swirl.phase1.num_generation'" in str(info.value)


def test_wrong_type_and_range(tmp_path):
    with pytest.raises(ConfigError, match=r":2: field 'sft.learning_rate'"):
        load_config(_write(tmp_path, "sft:\n  learning_rate: -1\n"))
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(_write(tmp_path, "seed: [1\n"))
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(_write(tmp_path, "- 1\n- 2\n"))


def test_batch_must_be_a_multiple_of_the_group():
    with pytest.raises(ValueError, match="multiple of num_generations"):
        GRPOPhaseConfig(num_generations=3, per_device_train_batch_size=8)


def test_field_and_cross_field_errors_come_in_one_pass(tmp_path):
    # a bad value, a batch the group does not divide (a sub-config's check) and two run-level conflicts:
    # pydantic alone reports the cross-field ones only after the field error is fixed, one at a time
    path = _write(tmp_path, "sft:\n  learning_rate: -1\nswirl:\n  iterations: 0\n  phase1_reward: normalised\n"
                            "  phase1:\n    num_generations: 3\n    per_device_train_batch_size: 8\n"
                            "baselines:\n  bootstrap: true\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert f"{path}:2: field 'sft.learning_rate'" in message
    assert "multiple of num_generations" in message
    assert "baselines.bootstrap reuses iteration 1" in message and "normalised needs a finite set" in message


def test_self_training_needs_an_iteration_to_take_pseudo_labels_from(tmp_path):
    with pytest.raises(ConfigError, match="swirl.self_training trains on the last iteration's pseudo-labels"):
        load_config(_write(tmp_path, "swirl:\n  iterations: 0\n  self_training: true\n"))
    assert load_config(_write(tmp_path, "swirl:\n  self_training: true\n")).swirl.self_training


def test_shared_base_adapters_need_separate_roles(tmp_path):
    path = _write(tmp_path, "model:\n  shared: true\n  lora: {r: 4, shared_base: true}\n")
    with pytest.raises(ConfigError, match="shared_base gives each role its own adapter"):
        load_config(path)
    assert load_config(_write(tmp_path, "model:\n  lora: {shared_base: true}\n")).model.lora.shared_base


def test_an_idm_without_the_next_state_needs_the_list_of_changes(tmp_path):
    with pytest.raises(ConfigError, match="idm_next_state: false needs model.idm_diff: true"):
        load_config(_write(tmp_path, "model:\n  idm_next_state: false\n"))
    assert not load_config(_write(tmp_path, "model: {idm_diff: true, idm_next_state: false}\n")).model.idm_next_state


def test_jsonl_needs_a_path(tmp_path):
    with pytest.raises(ConfigError, match="data.path is required"):
        load_config(_write(tmp_path, "data:\n  env: jsonl\n"))


def test_image_states_need_a_source_of_frames(tmp_path):
    with pytest.raises(ConfigError, match="'physics' does not render its states .environments that do: shapes"):
        load_config(_write(tmp_path, "data:\n  modality: image\n"))
    config = load_config(_write(tmp_path, "data:\n  env: shapes\n  modality: image\n  image_codec: {levels: [5, 5]}\n"))
    assert config.data.image_codec.codebook_size == 25
    with pytest.raises(ConfigError, match="levels"):
        load_config(_write(tmp_path, "data:\n  env: shapes\n  modality: image\n  image_codec: {levels: [2, 4]}\n"))


def test_yaml_is_safe_loaded(tmp_path):
    with pytest.raises(ConfigError):
        load_config(_write(tmp_path, "name: !!python/object/apply:os.system ['true']\n"))


def test_shipped_configs_validate():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    from swirl_wm.config import AgentRunConfig

    for path in [*sorted((root / "configs").glob("*.yaml")), *sorted((root / "src/swirl_wm/configs").glob("*.yaml"))]:
        load_config(path, schema=AgentRunConfig if path.name.startswith("paw-") else RunConfig)


def test_dotted_overrides_by_hand(tmp_path):
    path = _write(tmp_path, "seed: 3\nswirl:\n  iterations: 2\n")
    c = load_config(path, {"swirl.phase1.beta": 1.0, "model.idm_diff": True, "seed": 4})
    assert (c.swirl.phase1.beta, c.swirl.iterations, c.model.idm_diff, c.seed) == (1.0, 2, True, 4)
    assert parse_override("swirl.phase1.beta=1.0") == ("swirl.phase1.beta", 1.0)
    assert parse_override("data.description=x=1, y") == ("data.description", "x=1, y")  # split at the first =
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_override("swirl.phase1.beta")
    with pytest.raises(ConfigError, match="seed is a value, not a section"):
        load_config(path, {"seed.x": 1})
    with pytest.raises(ConfigError, match=r"c.yaml:3: field 'swirl.iterations'.*\n  --set: field 'swirl.phase1.bta'"):
        load_config(_write(tmp_path, "swirl:\n  phase1: {}\n  iterations: -1\n"), {"swirl.phase1.bta": 1})


def test_set_and_config_show_on_the_cli(tmp_path):
    from typer.testing import CliRunner

    from swirl_wm.cli.main import app

    path = _write(tmp_path, "seed: 3\n")
    result = CliRunner().invoke(app, ["config", "show", str(path), "--set", "sft.learning_rate=1e-4",
                                      "--set", "model.idm_diff=true"])
    assert result.exit_code == 0, result.output
    shown = load_config(_write(tmp_path, result.output))
    assert (shown.seed, shown.sft.learning_rate, shown.model.idm_diff) == (3, 1e-4, True)
    bad = CliRunner().invoke(app, ["config", "show", str(path), "--set", "sft.lr=1"])
    assert bad.exit_code == 2 and "--set: field 'sft.lr'" in bad.output
    train = CliRunner().invoke(app, ["train", str(path), "--set", "swirl.phase1.num_generations=1"])
    assert train.exit_code == 2 and "swirl.phase1.num_generations" in train.output


def test_a_missing_extra_stops_the_run_before_any_work_and_names_it(tmp_path, monkeypatch):
    import sys

    from typer.testing import CliRunner

    from swirl_wm.cli.main import app

    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # as if the [embeddings] extra were absent
    config = _write(tmp_path, f"output_dir: {tmp_path / 'run'}\nmodel: {{name_or_path: tiny}}\n")
    result = CliRunner().invoke(app, ["train", str(config)])  # eval.embedding_similarity is on by default
    assert result.exit_code == 2 and "pip install 'swirl-wm[embeddings]'" in result.output
    assert not (tmp_path / "run").exists()
    monkeypatch.setitem(sys.modules, "scienceworld", None)
    config = _write(tmp_path, f"output_dir: {tmp_path / 'run'}\ndata: {{env: scienceworld}}\n"
                              "eval: {embedding_similarity: false}\n")
    result = CliRunner().invoke(app, ["train", str(config)])
    assert result.exit_code == 2 and "pip install 'swirl-wm[scienceworld]'" in result.output


def test_the_phase1_nll_term_needs_the_shared_prefix_pass(tmp_path):
    with pytest.raises(ConfigError, match="phase1_nll_weight scores y in the shared-prefix pass"):
        load_config(_write(tmp_path, "swirl:\n  phase1_nll_weight: 0.5\n  phase1: {share_prompt_prefix: false}\n"))
    config = load_config(_write(tmp_path, "swirl:\n  phase1_nll_weight: 0.5\n  phase1_fidelity_weight: 2\n"))
    assert (config.swirl.phase1_nll_weight, config.swirl.phase1_fidelity_weight) == (0.5, 2.0)
    with pytest.raises(ConfigError, match="phase1_fidelity_weight"):
        load_config(_write(tmp_path, "swirl:\n  phase1_fidelity_weight: -1\n"))


def test_reading_a_config_imports_neither_torch_nor_the_text_metrics():
    """`swirl config show` and a config error answer in well under 2 s: importing the config (schema and
    loader) loads no torch (the image codec's), no rouge_score / nltk and no scipy (the text metrics'), which
    together took about 3 s of start-up."""
    import subprocess
    import sys

    heavy = ("torch", "rouge_score", "nltk", "scipy")
    code = f"import sys, swirl_wm.config; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
