"""The image modality: the FSQ image tokenizer's round trip, the inline-code states' hooks by hand,
and constrained decoding — the FWM cannot write text, the IDM cannot write image codes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.metrics import peak_signal_noise_ratio

from swirl_wm.envs.shapes import ShapesWorldConfig, generate_episodes, parse_scene, render
from swirl_wm.modality import modality_of
from swirl_wm.modality.codec import (
    ImageCodec,
    ImageCodecConfig,
    distinct_patches,
    patch_kinds,
    reconstruction_quality,
    shared_codes,
    train_codec,
    train_distinct_codec,
)
from swirl_wm.modality.image import BOI, EOI, ImageModality, cells, code_token
from swirl_wm.records import FWM, IDM

SMALL = ImageCodecConfig(levels=(3, 3), steps=1)  # 9 codes; untrained weights suffice for the token hooks


def _frames(n_episodes: int, seed: int, grid: int = 4) -> np.ndarray:
    episodes = generate_episodes(ShapesWorldConfig(grid=grid, n_episodes=n_episodes), seed=seed)
    return np.stack([render(parse_scene(t.x)) for e in episodes for t in e.transitions])


@pytest.fixture(scope="module")
def trained() -> ImageCodec:
    return train_codec(_frames(30, 0), ImageCodecConfig(steps=3000), seed=0)


@pytest.fixture(scope="module")
def image() -> ImageModality:
    return ImageModality(ImageCodec(SMALL, 8, 8))  # 8 x 8 frames, 4-pixel codes: a 2 x 2 grid


def test_distinct_patches_by_hand():
    frames = np.zeros((2, 4, 4, 3), np.uint8)
    frames[0, :2, :2] = 255  # one white patch; the other seven patches are black
    patches = distinct_patches(frames, 2)
    assert patches.shape == (2, 2, 2, 3) and {int(p.max()) for p in patches} == {0, 255}


def test_tokenizer_round_trip_reproduces_held_out_frames(trained, tmp_path):
    held_out = _frames(10, 1)
    codes = trained.encode(held_out)
    assert codes.shape == (len(held_out), 4, 4) and codes.dtype == np.int64
    assert codes.min() >= 0 and codes.max() < trained.config.codebook_size
    quality = reconstruction_quality(trained, held_out)
    kinds = patch_kinds(trained, _frames(30, 0))
    assert kinds["codes_for_patch_kinds"] == kinds["patch_kinds"] > 1  # every kind of patch its own code
    black = np.mean([peak_signal_noise_ratio(f, np.zeros_like(f), data_range=255) for f in held_out])
    assert quality["psnr"] > black + 15 and quality["ssim"] > 0.9  # far better than the all-background guess
    loaded = ImageCodec.load(trained.save(tmp_path / "codec"))
    assert np.array_equal(loaded.encode(held_out), codes)
    assert np.array_equal(loaded.decode(codes), trained.decode(codes))


def test_tokenizer_refuses_what_it_cannot_read(trained, tmp_path):
    with pytest.raises(ValueError, match="frames of shape"):
        trained.encode(np.zeros((1, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="outside"):
        trained.decode(np.full((1, 4, 4), trained.config.codebook_size))
    with pytest.raises(ValueError, match="whole 4-pixel"):
        train_codec(np.zeros((1, 6, 6, 3), np.uint8), ImageCodecConfig(steps=1), seed=0)
    with pytest.raises(ValueError, match=">= 3"):
        ImageCodecConfig(levels=(2, 4))
    with pytest.raises(FileNotFoundError, match="no image codec"):
        ImageCodec.load(tmp_path)


def test_state_hooks_by_hand(image):
    x = BOI + "<v0><v1><v2><v3>" + EOI
    y = BOI + "<v0><v5><v2><v3>" + EOI
    assert image.check(x) is None
    assert "3 codes" in image.check(BOI + "<v0><v1><v2>" + EOI)
    assert "text between" in image.check(BOI + "<v0>a<v1><v2><v3>" + EOI)
    assert "outside the codebook" in image.check(BOI + "<v0><v1><v2><v9>" + EOI)
    assert "expected <boi>" in image.check("grid=8 | red square (1,1)")
    assert image.diff(x, y) == "(1,0) <v1> -> <v5>"  # (col,row) of the one changed cell
    assert image.diff(x, x) == "none"
    assert image.truncate(x, 10) == (x, False)  # a cut frame is no frame
    assert image.added_tokens() == (BOI, EOI, *(code_token(k) for k in range(9)))


def test_suppressed_tokens_split_the_vocabulary_by_role(image):
    vocabulary = {t: i for i, t in enumerate(["hello", "<|im_end|>", *image.added_tokens()])}
    image_ids = set(range(2, 2 + 11))
    assert set(image.suppressed_tokens(vocabulary, IDM)) == image_ids
    assert set(image.suppressed_tokens(vocabulary, FWM)) == {0, 1}  # the scorer keeps the end of sequence


def test_metrics_of_identical_wrong_and_malformed_predictions(image):
    x = BOI + "<v0><v1><v2><v3>" + EOI
    y = BOI + "<v4><v1><v2><v3>" + EOI
    same = image.metrics([x], [x])
    assert same["code_match"] == 1 and same["code_accuracy"] == 1 and same["psnr"] == 100 and same["ssim"] == 1
    wrong = image.metrics([y, "<boi><v0>"], [x, x])
    assert wrong["code_match"] == 0 and wrong["code_accuracy"] == pytest.approx((3 / 4 + 1 / 4) / 2)
    assert wrong["well_formed"] == 0.5
    with pytest.raises(ValueError, match="1 predictions for 2"):
        image.metrics([x], [x, x])


def test_changed_cells_by_hand(image):
    x = BOI + "<v0><v1><v2><v3>" + EOI
    y = BOI + "<v4><v1><v2><v5>" + EOI  # cells 0 and 3 change
    half = BOI + "<v4><v1><v6><v3>" + EOI  # cell 0 right, cell 3 missed, cell 2 (unchanged) broken
    assert cells(x, half, y) == (2, 1, 1)
    assert cells(x, x, y) == (2, 0, 0) and cells(x, y, y) == (2, 2, 0)
    assert cells(x, "<boi><v4>", y) == (2, 1, 2)  # a short state: its missing cells are wrong
    m = image.metrics([half, x, y], [y, y, x], priors=[x, x, x])
    # changed cells: 1/2, 0/2 (the copy), 0 cells of x -> x changed (left out)
    assert m["changed_cell_accuracy"] == pytest.approx((1 / 2 + 0) / 2)
    # unchanged cells broken: 1, 0, and 2 (predicting y where x stays x breaks the cells 0 and 3)
    assert m["unchanged_cells_broken"] == pytest.approx((1 + 0 + 2) / 3)
    copy = image.metrics([x, x], [y, y], priors=[x, x])
    assert copy["changed_cell_accuracy"] == 0 and copy["unchanged_cells_broken"] == 0
    unchanged = image.metrics([x], [x], priors=[x])
    assert "changed_cell_accuracy" not in unchanged and unchanged["unchanged_cells_broken"] == 0
    assert "changed_cell_accuracy" not in image.metrics([x], [y])  # no priors, no change figures
    with pytest.raises(ValueError, match="1 prior states"):
        image.metrics([x, x], [y, y], priors=[x])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 8), min_size=4, max_size=4))
def test_states_written_by_the_modality_read_back(image, codes):
    state = BOI + "".join(code_token(k) for k in codes) + EOI
    assert image.check(state) is None and image.codes(state) == codes
    frame = image.to_image([state])
    assert frame.shape == (1, 8, 8, 3) and image.to_state(frame)[0].startswith(BOI)


@settings(max_examples=30, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_read_leniently_never_raises(image, text):
    assert image.to_image([text]).shape == (1, 8, 8, 3)
    assert isinstance(image.diff(text, text), str)
    assert image.check(text) is None or isinstance(image.check(text), str)


def test_a_codec_that_shares_a_code_is_retrained_with_the_next_seed_then_refused(trained, monkeypatch):
    from swirl_wm.modality import codec as codec_module

    frames = _frames(30, 0)
    assert shared_codes(trained, frames) == {}
    crowded = ImageCodecConfig(levels=(3, 3), steps=1, attempts=2)  # 9 codes for 13 kinds of patch: must share
    shared = shared_codes(ImageCodec(crowded, 16, 16), frames)
    assert sum(len(kinds) - 1 for kinds in shared.values()) >= 13 - 9
    assert all(kind.startswith("mean RGB (") and kind.count("/") == 3 for kinds in shared.values() for kind in kinds)
    with pytest.raises(ValueError, match=r"13 distinct patches only \d codes with each of its 2 seeds \(5\.\.6, "
                                         r"data.image_codec.attempts\).*with seed 6 these share a code: code \d+: "
                                         r"mean RGB \(\d+, \d+, \d+\) [.#/]+ and mean RGB"):
        train_distinct_codec(frames, crowded, seed=5)
    seeds = []

    def fake(images, config, seed):
        seeds.append(seed)
        return trained if seed == 8 else ImageCodec(crowded, 16, 16)

    monkeypatch.setattr(codec_module, "train_codec", fake)
    assert train_distinct_codec(frames, crowded.model_copy(update={"attempts": 3}), seed=7) == (trained, 8)
    assert seeds == [7, 8]  # the first seed whose codec keeps every kind apart is kept


def test_registry_needs_the_codec_folder(trained, tmp_path):
    with pytest.raises(ValueError, match="needs its folder"):
        modality_of("image")
    folder = trained.save(tmp_path / "codec")
    assert modality_of("image", str(folder)).grid == (4, 4)
    with pytest.raises(ValueError, match="registered: text, image"):
        modality_of("video")


def test_each_role_decodes_only_its_own_tokens(trained, tmp_path, tiny_path):
    """The FWM cannot write text and the IDM cannot write image codes (greedy and sampled; the random tiny
    model would otherwise write anything)."""
    from swirl_wm.models.generation import generate
    from swirl_wm.models.loading import BaseModelRef, load_model, load_tokenizer, with_added_tokens
    from swirl_wm.models.prompts import PromptFormat, build_prompt
    from swirl_wm.models.scoring import Scorer

    folder = str(trained.save(tmp_path / "codec"))
    modality = modality_of("image", folder)
    base = with_added_tokens(BaseModelRef(tiny_path, "tiny"), modality.added_tokens(), tmp_path / "base").path
    tokenizer = load_tokenizer(base)
    fmt = PromptFormat(idm_diff=True, modality="image", modality_folder=folder)
    scorer = Scorer(load_model(base), tokenizer, prompt_format=fmt)
    x = modality.to_state(_frames(1, 2)[:1])[0]
    assert tokenizer(x, add_special_tokens=False)["input_ids"][0] == tokenizer.convert_tokens_to_ids(BOI)
    image_ids = {tokenizer.convert_tokens_to_ids(t) for t in modality.added_tokens()}
    for sample in (False, True):
        fwm = generate(scorer.model, tokenizer, [build_prompt(tokenizer, "fwm", x, "move red square left", fmt)] * 2,
                       12, do_sample=sample, seed=0, suppress_tokens=scorer.suppressed_tokens("fwm"))
        assert all(set(tokenizer(s, add_special_tokens=False)["input_ids"]) <= image_ids for s in fwm)
        assert all(s for s in fwm)
        idm = generate(scorer.model, tokenizer, [build_prompt(tokenizer, "idm", x, x, fmt)] * 2, 12, do_sample=sample,
                       seed=0, suppress_tokens=scorer.suppressed_tokens("idm"))
        assert not any(t in s for s in idm for t in modality.added_tokens())
