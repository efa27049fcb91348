from __future__ import annotations

import gc

from wijkkracht_common import gc_tuning


def test_tune_gc_raises_the_young_threshold_and_freezes_once() -> None:
    before = gc.get_threshold()
    try:
        gc_tuning.tune_gc(0)
        assert gc.get_threshold() == before  # 0: CPython's defaults stay

        gc_tuning.tune_gc(50_000)
        assert gc.get_threshold() == (50_000, 100, 20)
        assert gc_tuning._frozen
        frozen = gc.get_freeze_count()
        assert frozen > 0

        gc_tuning.tune_gc(60_000)  # a second service start-up in the same process
        assert gc.get_threshold()[0] == 60_000
        assert gc.get_freeze_count() == frozen  # nothing more pinned
    finally:
        gc.set_threshold(*before)
