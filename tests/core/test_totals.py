"""SavingsTotals: counts add up across threads and survive pickling without their lock."""

from __future__ import annotations

import pickle
import threading

from headroom.core.totals import TOTALS_KEYS, SavingsTotals


def test_totals_add_up_across_threads() -> None:
    totals = SavingsTotals()

    def work() -> None:
        for _ in range(500):
            totals.add(100, 40)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert totals.snapshot() == {
        "requests": 4000,
        "tokens_before": 400_000,
        "tokens_after": 160_000,
        "tokens_saved": 240_000,
    }


def test_a_request_that_grew_saves_nothing() -> None:
    totals = SavingsTotals()
    totals.add(10, 25)
    assert totals.snapshot()["tokens_saved"] == 0 and totals.snapshot()["tokens_after"] == 25


def test_totals_pickle_and_reset() -> None:
    totals = SavingsTotals()
    totals.add(50, 20)
    copy = pickle.loads(pickle.dumps(totals))
    assert copy.snapshot() == totals.snapshot()
    copy.add(10, 10)  # the lock was made anew
    assert copy.snapshot()["requests"] == 2
    copy.reset()
    assert copy.snapshot() == dict.fromkeys(TOTALS_KEYS, 0)
