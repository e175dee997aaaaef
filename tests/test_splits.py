import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swirl_wm.data.splits import SplitConfig, Splits, split_episodes
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
    with pytest.raises(ValueError, match="at least 4 episodes"):
        split_episodes(_episodes(3), SplitConfig(), 0)
    with pytest.raises(ValueError):
        SplitConfig(val_fraction=0.6, test_fraction=0.5)
