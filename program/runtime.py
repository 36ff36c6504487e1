"""Process settings for what the program is: one short batch run (a preview or an update), then exit."""

import gc

# CPython's default thresholds (700, 10, 10) suit long-lived processes. Here the SDK keeps every Output and its
# futures alive until the run ends, so the collector keeps rescanning a graph that only grows: with the defaults,
# half of a plan's time went to it (`python -m tools plan`, 2 CPUs: 200 functions 14.2 s, 500 functions 35.3 s;
# with these settings 7.3 s and 18.3 s, the same peak memory; scripts/benchmark.py). Young objects are still
# collected; the older generations are left for the end of the process, which comes soon.
GC_THRESHOLDS = (50_000, 1_000, 1_000)


def tune_for_a_short_run() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
