"""The TensorBoard completions table (backend/completions.py)."""

from collections import deque

from swirl_wm.backend.completions import completions_markdown


def test_table_keeps_the_last_rows_and_escapes_cells():
    logs = {"prompt": deque(["p0", "p|1", "p2"]), "completion": deque(["c0", "line\nbreak", "c2"]),
            "rewards": {"log_Q": deque([-1.0, -0.5, -0.25])}, "advantages": deque([0.1, 0.2, -0.3])}
    assert completions_markdown(logs, rows=2).splitlines() == [
        "| prompt | completion | log_Q | advantage |", "|---|---|---:|---:|",
        "| p\\|1 | line ⏎ break | -0.500 | 0.200 |", "| p2 | c2 | -0.250 | -0.300 |"]
    assert completions_markdown({}, rows=2) == ""
