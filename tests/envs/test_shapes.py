"""The shapes world (the visual environment): scene text round trip, the renderer's pixels by hand,
exact apply for every paraphrase, identifiable actions only, seeded episodes."""

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swirl_wm.envs import shapes
from swirl_wm.envs.shapes import COLOURS, Action, Scene, Thing


def test_scene_text_round_trip_and_errors():
    text = "grid=8 | red square (2,0); blue circle (5,1)"
    scene = shapes.parse_scene(text)
    assert scene == Scene(8, (Thing("red", "square", 2, 0), Thing("blue", "circle", 5, 1)))
    assert shapes.render_scene(scene) == text
    assert shapes.state_fields(text) == {"grid": "8", "cell(2,0)": "red square", "cell(5,1)": "blue circle"}
    for bad, why in (("grid=8 | red square (9,0)", "off the"), ("grid=8 | red cube (1,1)", "unknown colour"),
                     ("grid=8 | red square (1,1); blue circle (1,1)", "share a cell"),
                     ("grid=8 | blue circle (5,1); red square (2,0)", "order"),
                     ("grid=8 | red square at 1,1", "not a shapes-world object"),
                     ("red square (1,1)", "not a shapes-world scene")):
        with pytest.raises(ValueError, match=why):
            shapes.parse_scene(bad)


def test_render_by_hand():
    scene = Scene(2, (Thing("red", "square", 1, 0), Thing("green", "triangle", 0, 1)))
    image = shapes.render(scene, cell_px=4)
    assert image.shape == (8, 8, 3) and image.dtype == np.uint8
    assert (image[0:4, 4:8] == COLOURS["red"]).all() and not image[0:4, 0:4].any()  # square fills its cell
    triangle = (image[4:8, 0:4] == COLOURS["green"]).all(-1)
    assert triangle[0].tolist() == [False, True, True, False] and triangle[3].all()  # apex up, base down
    circle = (shapes.render(Scene(1, (Thing("blue", "circle", 0, 0),)), 4) == COLOURS["blue"]).all(-1)
    assert not circle[0, 0] and circle[1, 1] and circle.sum() == 12  # corners cut


def test_apply_is_exact_for_every_paraphrase():
    x = "grid=8 | red square (2,0); blue circle (5,1)"
    for action, y in ((Action("move", "red square", "down"), "grid=8 | red square (2,1); blue circle (5,1)"),
                      (Action("move", "blue circle", "left"), "grid=8 | red square (2,0); blue circle (4,1)"),
                      (Action("paint", "blue circle", "yellow"), "grid=8 | red square (2,0); yellow circle (5,1)")):
        assert all(shapes.apply(x, z) == y for z in shapes.paraphrases(action))
        assert all(shapes.parse_action(z) == action for z in shapes.paraphrases(action))
    assert shapes.apply(x, "move red square up") == x  # into the wall: nothing happens
    with pytest.raises(ValueError, match="no green square"):
        shapes.apply(x, "move green square up")
    with pytest.raises(ValueError, match="not a shapes-world action"):
        shapes.apply(x, "jump")


def test_effective_actions_change_the_scene_and_keep_names_unique():
    scene = shapes.parse_scene("grid=4 | red square (0,0); blue square (1,0)")
    actions = shapes.effective_actions(scene)
    assert Action("move", "red square", "right") not in actions  # blocked by the blue square
    assert Action("move", "red square", "left") not in actions  # the wall
    assert Action("paint", "red square", "blue") not in actions  # two blue squares
    assert Action("paint", "red square", "green") in actions
    assert all(shapes.step(scene, a) != scene for a in actions)
    # identifiable: no two effective actions give the same next scene
    assert len({shapes.step(scene, a) for a in actions}) == len(actions)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 4))
def test_random_scenes_are_valid_and_their_actions_identifiable(seed, n):
    scene = shapes.random_scene(random.Random(seed), 5, n)
    assert shapes.parse_scene(shapes.render_scene(scene)) == scene
    actions = shapes.effective_actions(scene)
    assert len({shapes.step(scene, a) for a in actions}) == len(actions)


def test_episodes_are_seeded_chained_and_identifiable():
    config = shapes.ShapesWorldConfig(n_episodes=4, episode_length=3, paraphrased=True)
    episodes = shapes.generate_episodes(config, seed=1)
    assert episodes == shapes.generate_episodes(config, seed=1) != shapes.generate_episodes(config, seed=2)
    for episode in episodes:
        for a, b in zip(episode.transitions, episode.transitions[1:], strict=False):
            assert a.y == b.x
        for t in episode.transitions:
            assert shapes.apply(t.x, t.z) == t.y != t.x


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.integers(3, 10), st.integers(1, 4), st.integers(4, 16))
def test_the_pixel_reader_inverts_the_renderer(seed, grid, n, cell_px):
    scene = shapes.random_scene(random.Random(seed), grid, n)
    frame = shapes.render(scene, cell_px)
    assert shapes.read_scene(frame, grid) == scene
    text = shapes.render_scene(scene)
    assert shapes.frame_fields(frame, text) == shapes.state_fields(text)
    # a blurred picture (a codec's decoded frame) still reads as its scene
    noisy = np.clip(frame.astype(int) + np.random.default_rng(seed).integers(-30, 31, frame.shape), 0, 255)
    assert shapes.read_scene(noisy.astype(np.uint8), grid) == scene


def test_the_pixel_reader_refuses_a_frame_of_another_board():
    frame = shapes.render(Scene(4, (Thing("red", "square", 0, 0),)), 4)
    with pytest.raises(ValueError, match="not a 3x3 board"):
        shapes.read_scene(frame, 3)
    with pytest.raises(ValueError, match="at least 4 pixels"):
        shapes.read_scene(shapes.render(Scene(4, ()), 3), 4)  # 3-pixel cells: a circle is a square
    with pytest.raises(ValueError, match="greater than or equal to 4"):
        shapes.ShapesWorldConfig(cell_px=3)
