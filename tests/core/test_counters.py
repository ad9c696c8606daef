"""Running totals shared by a wrapper and its copies."""

from __future__ import annotations

import pickle
import threading

from headroom.core.counters import Counters


def test_totals_add_by_name_and_reset() -> None:
    totals = Counters("calls", "saved")
    totals.add({"calls": 1, "saved": 40})
    totals.add({"saved": 2, "new": 5})
    assert totals.snapshot() == {"calls": 1, "saved": 42, "new": 5}
    totals.reset()
    assert totals.snapshot() == {"calls": 0, "saved": 0, "new": 0}


def test_totals_are_exact_across_threads() -> None:
    totals = Counters("n")

    def work() -> None:
        for _ in range(2_000):
            totals.add({"n": 1})

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert totals.snapshot() == {"n": 16_000}


def test_totals_pickle_without_their_lock() -> None:
    totals = Counters("tokens_saved")
    totals.add({"tokens_saved": 7})
    loaded = pickle.loads(pickle.dumps(totals))
    assert loaded.snapshot()["tokens_saved"] == 7
    loaded.reset()
    assert loaded.snapshot()["tokens_saved"] == 0 and totals.snapshot()["tokens_saved"] == 7
