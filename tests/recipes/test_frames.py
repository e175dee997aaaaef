"""The data stage's frames for image states (recipes/frames.py): reading image files, one size per run."""

import numpy as np
import pytest
from PIL import Image

from swirl_wm.recipes.frames import _frames, read_frame
from swirl_wm.records import Transition, original_state


def test_read_frame_gives_rgb_uint8_and_names_a_bad_file(tmp_path):
    Image.fromarray(np.full((4, 8), 200, np.uint8)).save(tmp_path / "grey.png")  # a greyscale file reads as RGB
    frame = read_frame(tmp_path / "grey.png")
    assert frame.shape == (4, 8, 3) and frame.dtype == np.uint8 and (frame == 200).all()
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(ValueError, match=r"notes.png: not an image file \(UnidentifiedImageError\)"):
        read_frame(tmp_path / "notes.png")
    with pytest.raises(ValueError, match=r"gone.png: not an image file \(FileNotFoundError\)"):
        read_frame(tmp_path / "gone.png")


def test_every_frame_of_a_run_has_one_size():
    frames = {"a": np.zeros((4, 4, 3), np.uint8), "b": np.zeros((8, 8, 3), np.uint8)}
    assert _frames(["a", "a"], frames.__getitem__).shape == (2, 4, 4, 3)
    with pytest.raises(ValueError, match=r"state 'b': a \(8, 8, 3\) uint8 frame where the first was \(4, 4, 3\)"):
        _frames(["a", "b"], frames.__getitem__)


def test_original_state_reads_the_scene_behind_an_image_state():
    t = Transition(x="<boi><v0><eoi>", z="go", y="<boi><v1><eoi>", meta={"x_source": "scene 1", "y_source": "scene 2"})
    assert original_state(t, "x") == "scene 1" and original_state(t, "y") == "scene 2"
    assert original_state(Transition(x="a", z=None, y="b"), "y") == "b"
