"""The SWIRL run folder (:class:`SwirlRun`: the frozen scorers and the prompt layout its stages share)."""

from __future__ import annotations

from swirl_wm.backend.adapters import keeps_adapters
from swirl_wm.modality import LOADED
from swirl_wm.models.loading import load_model, load_tokenizer
from swirl_wm.models.prompts import PromptFormat
from swirl_wm.models.scoring import Scorer
from swirl_wm.run_folder import Layout, RunFolder

# Settings that add stages after the finished ones but never change what a finished stage computed: a
# finished run may resume with more SWIRL iterations or another baseline (``--set swirl.iterations=2``), and
# only the new stages run. (With fewer iterations the report shows the first ones; nothing is deleted.)
EXTENDABLE = (("swirl", "iterations"), ("swirl", "self_training"), ("baselines", "bootstrap"),
              ("baselines", "oracle"), ("baselines", "best_of_n"), ("baselines", "bootstrap_phase1"),
              ("baselines", "pseudo_label_sft"))


class SwirlRun(RunFolder):
    """A SWIRL run folder: :class:`~swirl_wm.run_folder.RunFolder` plus what its stages share (the frozen
    scorers and the prompt layout). Use :func:`run_swirl`."""

    extendable = EXTENDABLE
    # The data stage reads the seed and the data section, and checks the data against model.fwm_target: a
    # folder where only it finished is kept by a config that changes anything else (a token budget after
    # the run was refused for it, a learning rate). The small base model and the added-token copy are
    # built after it from the model settings, so they go with the later stages' outputs.
    first_stage = "data"
    first_stage_reads = (("seed",), ("data",), ("model", "fwm_target"))
    later_outputs = (Layout.BASE, Layout.BASE_TOKENS, Layout.LATENT, Layout.CHECKPOINTS, Layout.LOGS,
                     Layout.PREDICTIONS)

    def scorer(self, relative: str) -> Scorer:
        path = str(self.path(relative))
        return Scorer(load_model(path, self.device), load_tokenizer(path),
                      batch_size=self.config.eval.batch_size, min_logprob=self.config.eval.min_logprob,
                      prompt_format=self.prompt_format)

    def frozen_adapter(self, relative: str) -> str | None:
        """The frozen role's checkpoint for :func:`~swirl_wm.backend.grpo.train_grpo` to share the policy's
        base with (``model.lora.shared_base``: an adapter folder); ``None`` otherwise."""
        return str(self.path(relative)) if keeps_adapters(self.config.model.lora) else None

    @property
    def prompt_format(self) -> PromptFormat:
        """The run's prompt layout: ``data.description``, ``model.idm_diff``, ``data.modality`` (with the
        run's codec folder for the image modality), ``model.fwm_target`` and ``model.idm_next_state``."""
        data, model = self.config.data, self.config.model
        folder = str(self.path(Layout.IMAGE_CODEC).resolve()) if data.modality in LOADED else None
        return PromptFormat(data.description, model.idm_diff, data.modality, folder, model.fwm_target,
                            model.idm_next_state)
