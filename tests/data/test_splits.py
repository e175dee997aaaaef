import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swirl_wm.data.splits import NotEnoughLabels, SplitConfig, Splits, split_episodes
from swirl_wm.records import Episode, Transition


def _episodes(n, length=3):
    return [Episode(f"ep{i}", "toy", tuple(Transition(x=f"s{i}-{k}", z=f"a{k}", y=f"s{i}-{k + 1}",
                                                       episode_id=f"ep{i}", step=k, env="toy")
                                            for k in range(length))) for i in range(n)]


def _ids(transitions):
    return {t.episode_id for t in transitions}


@settings(max_examples=50, deadline=None)
@given(n=st.integers(4, 60), seed=st.integers(0, 10**6))
def test_parts_are_disjoint_by_episode_and_cover_everything(n, seed):
    s = split_episodes(_episodes(n), SplitConfig(), seed)
    parts = [_ids(getattr(s, name)) for name in Splits.FILES]
    assert all(parts)
    assert sum(len(p) for p in parts) == n
    assert set().union(*parts) == {f"ep{i}" for i in range(n)}
    assert all(t.z is None for t in s.unlabelled) and all(t.z is not None for t in s.labelled)


def test_half_and_half_by_default_and_seeded():
    eps = _episodes(100)
    a, b, c = (split_episodes(eps, SplitConfig(), seed) for seed in (1, 1, 2))
    assert a == b and a != c
    assert len(_ids(a.test)) == 10 and len(_ids(a.val)) == 10
    assert len(_ids(a.labelled)) == 40 and len(_ids(a.unlabelled)) == 40


def test_save_removes_actions_on_disk(tmp_path):
    s = split_episodes(_episodes(10), SplitConfig(), 0)
    s.save(tmp_path)
    assert '"z": null' in (tmp_path / "unlabelled.jsonl").read_text()
    assert Splits.load(tmp_path) == s


def test_too_few_episodes_and_bad_fractions():
    with pytest.raises(NotEnoughLabels, match="3 labelled episode.*4 are needed"):
        split_episodes(_episodes(3), SplitConfig(), 0)
    with pytest.raises(ValueError):
        SplitConfig(val_fraction=0.6, test_fraction=0.5)


def test_renamed_option_says_how_to_migrate():
    with pytest.raises(ValueError, match="simulated_unlabelled_fraction = 1 - labelled_fraction"):
        SplitConfig.model_validate({"labelled_fraction": 0.3})


def _mixed(n_labelled, n_state_only, n_partial=0, length=3):
    eps = _episodes(n_labelled + n_state_only + n_partial, length)
    out = []
    for i, e in enumerate(eps):
        if i < n_labelled:
            out.append(e)
        elif i < n_labelled + n_state_only:
            out.append(Episode(e.episode_id, e.env, tuple(t.without_action() for t in e.transitions)))
        else:  # partly labelled: every other step keeps its action
            out.append(Episode(e.episode_id, e.env, tuple(t if t.step % 2 else t.without_action()
                                                          for t in e.transitions)))
    return out


def _key(t):
    return (t.episode_id, t.step)


@settings(max_examples=60, deadline=None)
@given(n_lab=st.integers(3, 30), n_free=st.integers(1, 30), n_part=st.integers(0, 5), seed=st.integers(0, 10**6))
def test_labels_decide_the_split_and_no_action_is_dropped_or_invented(n_lab, n_free, n_part, seed):
    episodes = _mixed(n_lab, n_free, n_part)
    s = split_episodes(episodes, SplitConfig(), seed)
    gold = {_key(t): t.z for e in episodes for t in e.transitions}
    parts = [t for name in Splits.FILES for t in getattr(s, name)]
    assert sorted(map(_key, parts)) == sorted(gold)  # every transition once
    assert all(t.z == gold[_key(t)] for t in parts)  # no action dropped, none invented
    held_out = s.val + s.test
    assert held_out and all(t.z is not None for t in held_out)
    assert {t.episode_id for t in held_out} <= {e.episode_id for e in episodes[:n_lab]}
    assert all(t.z is not None for t in s.labelled) and all(t.z is None for t in s.unlabelled)
    counts = s.counts()
    assert counts["unlabelled_episodes"] == n_free + n_part and counts["val_episodes"] >= 1


def test_partly_labelled_episodes_are_cut_by_step():
    s = split_episodes(_mixed(3, 0, n_partial=1, length=4), SplitConfig(), 0)
    partial = "ep3"
    assert [t.step for t in s.labelled if t.episode_id == partial] == [1, 3]
    assert [t.step for t in s.unlabelled if t.episode_id == partial] == [0, 2]


def test_simulated_split_only_when_asked_or_when_nothing_is_unlabelled():
    mixed = _mixed(10, 5)
    assert len(_ids(split_episodes(mixed, SplitConfig(), 0).unlabelled)) == 5  # natural labels kept
    forced = split_episodes(mixed, SplitConfig(simulated_unlabelled_fraction=0.5), 0)
    assert len(_ids(forced.unlabelled)) == 5 + 4  # 8 labelled training episodes, half hidden
    none = split_episodes(_episodes(10), SplitConfig(simulated_unlabelled_fraction=0.0), 0)
    assert none.unlabelled == [] and len(_ids(none.labelled)) == 8


def test_too_few_labels_names_the_counts():
    with pytest.raises(NotEnoughLabels, match=r"^0 labelled episode\(s\) .* among 6, but 3 are needed"):
        split_episodes(_mixed(0, 6), SplitConfig(), 0)
    with pytest.raises(NotEnoughLabels, match="2 labelled .* 3 are needed .*1 for SFT, 1 for validation, 1 for test"):
        split_episodes(_mixed(2, 6), SplitConfig(), 0)
    ok = split_episodes(_mixed(1, 6), SplitConfig(val_fraction=0, test_fraction=0), 0)
    assert len(_ids(ok.labelled)) == 1


def test_max_labelled_episodes_varies_l_with_everything_else_fixed():
    eps = _episodes(40)
    full = split_episodes(eps, SplitConfig(), 0)
    small = split_episodes(eps, SplitConfig(max_labelled_episodes=3), 0)
    assert (small.val, small.test, small.unlabelled) == (full.val, full.test, full.unlabelled)
    assert len(_ids(small.labelled)) == 3 and _ids(small.labelled) <= _ids(full.labelled)


def test_oracle_keeps_the_hidden_actions_apart(tmp_path):
    s = split_episodes(_episodes(20), SplitConfig(), 0)
    assert [(t.x, t.y) for t in s.oracle] == [(t.x, t.y) for t in s.unlabelled]
    assert all(t.z is not None for t in s.oracle)
    s.save(tmp_path)
    assert Splits.load(tmp_path).oracle == s.oracle
    natural = split_episodes(_mixed(6, 4), SplitConfig(), 0)
    assert natural.oracle == []  # real state-only data has no true actions to keep
