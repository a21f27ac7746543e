#!/usr/bin/env python3
"""verdict_rows.py - the rows of a crashtest CSV that a campaign's seed
decides alone, in the columns that say what was crashed and what the
oracle found: used by tests/test_verdicts.sh to hold a fixed campaign's
verdicts to the expected ones in tests/data/.

Left out: timings; kill-time trials (their crash falls where the clock
says); trials of sync mode periodic (a timer syncs the log, so how far the
workload got by an I/O point depends on the clock too) and of checkpoint
mode background (a thread of the engine writes pages on its own clock);
trials of
concurrent writers (their interleaving is the scheduler's); server trials
(likewise); and the detail text.

usage: verdict_rows.py CSV  (rows to standard output, CSV)
"""
import csv
import sys

COLUMNS = ["trial", "seed", "mode", "workload", "variant", "crash_point",
           "points", "damage", "issued", "acked", "durable", "recovered",
           "verdict", "violation", "bytes_replayed", "records_replayed",
           "pages_repaired", "tail_cut", "recovery_crashes", "claimed",
           "chain_links", "sync", "torn", "page_size", "pool_bytes",
           "checkpoint_bytes", "segment_bytes", "txns", "keys", "drain",
           "checkpoint_mode"]


def main():
    rows = csv.DictReader(open(sys.argv[1], newline=""))
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(COLUMNS)
    for r in rows:
        if (r["mode"] == "kill-time" or r["mode"].startswith("server-")
                or r["threads"] != "1" or r["sync"] == "periodic"
                or r["checkpoint_mode"] == "background"):
            continue
        out.writerow([r[c] for c in COLUMNS])


main()
