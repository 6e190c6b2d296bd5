"""The quick set (`make bench`): every benchmark at a reduced size, one after another, one table.

Each benchmark runs in its own process (as `python -m bench.<name> ...` would) so memory and
imports do not leak between them. Sizes below the issue's defaults are marked in the table.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from bench import locked_store

ANNOUNCE_MEMBERS = 600  # the default is 6,500 (which takes 4 minutes at 30/s)
DURING_MEMBERS = 200
KILL_MEMBERS = 500  # the standalone example's size; each run is killed a third of the way through
KILL_REPEAT = 3
KILL_DUPLICATES = 2  # members a run may give the announcement twice: what was in flight at the kill
DURING_RATE_LEFT = 0.98  # of the slots the residents' replies leave of BROADCAST_RATE
INTAKE_BURST = 300  # updates pushed at once (issue: as many as it takes; standalone default 2,000)
INTAKE_PACED = 150  # updates at 100/s (standalone default 1,000)
STORES_TOUCHED = 400  # the figure is 2,000
REMINDERS_DUE = 600  # the issue: 10,000 due in one minute; here as many a second (167/s), for 3.6 s
REMINDERS_SPREAD_S = REMINDERS_DUE * 60 / 10_000
PICKUP_JOBS = 20_000  # the figure is 100,000 pending jobs at a restart


@dataclass(frozen=True)
class Row:
    figure: str
    value: str
    target: str
    verdict: str


QUICK_SET: list[list[str]] = [
    ["bench.announcement", "--mode", "rate", "--members", str(ANNOUNCE_MEMBERS)],
    ["bench.announcement", "--mode", "capacity", "--members", "1000"],
    ["bench.announcement", "--mode", "during", "--members", str(DURING_MEMBERS), "--residents", "5"],
    ["bench.announcement", "--mode", "kill", "--members", str(KILL_MEMBERS), "--repeat", str(KILL_REPEAT)],
    ["bench.intake", "--runtime", "both", "--updates", str(INTAKE_BURST), "--paced-updates", str(INTAKE_PACED)],
    ["bench.memory", "--stores", str(STORES_TOUCHED)],
    [
        "bench.reminders",
        *("--reminders", str(REMINDERS_DUE), "--spread-s", str(REMINDERS_SPREAD_S)),
        *("--pickup-jobs", str(PICKUP_JOBS), "--members", "1750"),
    ],
    locked_store.QUICK_ARGUMENTS,
]


def run_one(arguments: list[str]) -> list[dict[str, Any]]:
    started = time.monotonic()
    print(f"[{' '.join(arguments)}]", file=sys.stderr, flush=True)
    done = subprocess.run([sys.executable, "-m", *arguments], capture_output=True, text=True, check=False)
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"{arguments[0]} failed with status {done.returncode}")
    print(f"  {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def nothing_wrong(result: dict[str, Any], *figures: str) -> bool:
    """Whether every one of these counts of what went wrong (lost, unanswered, failed...) is 0.
    A count a benchmark did not report is wrong too: a verdict is never met by a missing figure."""
    return all(result.get(figure, 1) == 0 for figure in figures)


def rows_for(result: dict[str, Any]) -> list[Row]:
    name = result["benchmark"]
    if name == "announcement-rate":
        size = f"{result['members']:,.0f} members (issue: 6,500)"
        ok = result["fraction_of_configured"] >= 0.95 and nothing_wrong(
            result, "violations", "lost", "duplicated", "server_errors"
        )
        return [
            Row(
                f"announcement at {result['configured_rate']:.0f}/s, {size}",
                f"{result['achieved_rate']:.1f}/s = {result['fraction_of_configured']:.1%}; "
                f"{result['seconds_to_last_delivery']:.1f} s; 429s {result['too_many_requests']}, "
                f"violations {result['violations']}, lost {result['lost']}, duplicated {result['duplicated']}",
                "≥95%, 0 violations, 0 lost, 0 dup",
                verdict(ok),
            )
        ]
    if name == "announcement-capacity":
        return [
            Row(
                f"sender capacity, BROADCAST_RATE {result['configured_rate']:.0f}, limits off, "
                f"{result['members']:,.0f} members, median of {result['repetitions']}",
                f"{result['achieved_rate']:.0f} msg/s, bot CPU {result['bot_cpu_ms_per_message']:.2f} ms/msg; "
                f"lost {result['lost']}, duplicated {result['duplicated']}",
                "(no rate target); 0 lost, 0 dup",
                verdict(nothing_wrong(result, "lost", "duplicated", "server_errors")),
            )
        ]
    if name == "announcement-during":
        rate = result["configured_rate"]
        return [
            Row(
                f"/privacy from {result['residents']:.0f} residents during a {result['members']:,.0f}-member "
                "announcement (issue: 6,500)",
                f"p50 {result['reply_p50_ms']:.0f} ms, p95 {result['reply_p95_ms']:.0f} ms "
                f"({result['questions']:.0f} asked, {result['unanswered']:.0f} unanswered); broadcast "
                f"{result['fraction_of_rate_left']:.1%} of the rate the replies leave "
                f"({result['fraction_of_configured']:.0%} of {rate:.0f}/s); most in one second "
                f"{result['most_in_one_second']:.0f} (replies, edits and the report included); violations "
                f"{result['violations']}, lost {result['lost']}, duplicated {result['duplicated']}",
                f"p95 ≤ 1 s, every question answered, ≥{DURING_RATE_LEFT:.0%} of the rate left, "
                f"≤ {rate:.0f} in any second, 0 violations, 0 lost, 0 dup",
                verdict(
                    result["reply_p95_ms"] <= 1000
                    and result["fraction_of_rate_left"] >= DURING_RATE_LEFT
                    and result["most_in_one_second"] <= rate
                    and nothing_wrong(result, "unanswered", "violations", "lost", "duplicated", "server_errors")
                ),
            )
        ]
    if name == "announcement-kill":
        per_run = [int(count) for count in str(result["duplicated_per_run"]).split(",") if count]
        runs = result["repetitions"]
        reduced = "" if runs >= 6 else " (standalone example: 6 runs)"
        return [
            Row(
                f"announcement-kill: SIGKILL after {result['killed_after']:.0f} (median) of {result['members']:,.0f} "
                f"sent, restarted; {runs:.0f} runs{reduced}",
                f"duplicated per run {', '.join(map(str, per_run)) or '?'}; lost {result['lost']}, "
                f"violations {result['violations']}, 429s {result['too_many_requests']}",
                f"0 lost, ≤ {KILL_DUPLICATES} dup in every run, 0 violations",
                verdict(
                    len(per_run) == runs
                    and all(count <= KILL_DUPLICATES for count in per_run)
                    and nothing_wrong(result, "lost", "violations")
                ),
            )
        ]
    if name.startswith("intake-"):
        label = f"intake {result['runtime']} {result['bot']}, burst of {result['updates']:.0f}"
        if result["bot"] == "echo" and "ptb_echo_networking" in result:
            label += f" (on {result['ptb_echo_networking']}; the PTB door's calls go over aiohttp)"
        # Percentiles and rates count only the updates that were answered: one left unanswered is
        # a failure of every figure, not a faster run.
        all_answered = nothing_wrong(result, "unanswered")
        unanswered = f"unanswered {result['unanswered']:.0f} (taps {result.get('unanswered_taps', 0):.0f})"
        value = (
            f"{result['updates_per_s']:.0f} upd/s ({result['ratio_to_echo']:.2f}× echo), "
            f"{result['cpu_ms_per_update']:.1f} ms CPU/upd; at {result['paced_rate']:.0f}/s: "
            f"p50 {result['p50_ms']:.0f}, p95 {result['p95_ms']:.0f}, p99 {result['p99_ms']:.0f} ms; {unanswered}"
        )
        if result["bot"] == "echo":  # a baseline that lost answers makes every ratio to it wrong
            return [Row(label, value, "(baseline) every update answered", "-" if all_answered else "MISSED")]
        ok = result["updates_per_s"] >= 300 and result["ratio_to_echo"] >= 0.5 and all_answered
        return [
            Row(label, value, "≥300 upd/s and ≥0.5× echo, every update answered", verdict(ok)),
            Row(
                f"intake {result['runtime']} latency at {result['paced_rate']:.0f} upd/s",
                f"p99 {result['p99_ms']:.0f} ms pushed→reply recorded; core alone p99 "
                f"{result['core_handling_p99_ms']:.0f} ms; {unanswered}",
                "p99 ≤ 50 ms, every update answered",
                verdict(result["p99_ms"] <= 50 and all_answered),
            ),
            Row(
                f"stores, {result['runtime']}: network-store writes during the burst ({result['store_writes']:.0f})",
                f"p50 {result['store_write_p50_ms']:.1f} ms, p99 {result['store_write_p99_ms']:.1f} ms "
                "(waiting for the store's turn included)",
                "(reported)",
                "-",
            ),
        ]
    if name.startswith("memory-village"):
        return [
            Row(
                f"memory, {result['runtime']}: 27 networks, {result['members']:,.0f} members, "
                f"{result['history_per_network']} help requests + events each",
                f"peak {result['peak_rss_mb']:.0f} MB of the bot's process (at rest, polling: "
                f"{result['rss_at_rest_mb']:.0f} MB)",
                "≤ 150 MB",
                verdict(result["peak_rss_mb"] <= 150),
            )
        ]
    if name == "locked-store":
        figure, value, target, ok = locked_store.summary(result)
        return [Row(figure, value, target, verdict(ok))]
    if name == "memory-stores":
        return [
            Row(
                f"memory, {result['stores']:,} network stores touched in turn (issue: 2,000), a read and "
                f"a write each, cache {result['max_open']}",
                f"{result['rss_after_cache_size_touched_mb']:.0f} MB after {result['max_open']} → "
                f"{result['rss_after_all_touched_mb']:.0f} MB after all (+{result['growth_beyond_cache_mb']:.1f}; "
                f"second half +{result['growth_second_half_mb']:.1f}); {result['open_at_end']} open at the end",
                "no growth beyond the cache (≤ 5 MB)",
                verdict(result["growth_beyond_cache_mb"] <= 5),
            )
        ]
    if name == "reminders-due":
        reduced = "" if result["reminders"] >= 10_000 and result["spread_s"] <= 60 else " (issue: 10,000 in 60 s)"
        runner = "scheduler only" if result["runner"] == "scheduler-only" else "real runner"
        return [
            Row(
                f"reminders: {result['reminders']:,} due in {result['spread_s']:.1f} s across "
                f"{result['networks']} networks{reduced}, {runner}",
                f"lateness p50 {result['lateness_p50_s']:.1f} s, p99 {result['lateness_p99_s']:.1f} s "
                f"(due → handed over); {result['delivered_when_all_ran']:,} delivered by then; "
                f"done {result['done']:,}, failed {result['failed']}, skipped {result['skipped']}, "
                f"left {result['still_pending']}, violations {result['violations']}",
                "p99 ≤ 2 s, every reminder done (none failed, skipped or left)",
                verdict(
                    result["lateness_p99_s"] <= 2
                    and result["done"] == result["reminders"]
                    and result.get("all_ran_in_time") is True
                    and nothing_wrong(result, "failed", "skipped", "still_pending", "violations")
                ),
            )
        ]
    if name == "reminders-restart":
        reduced = "" if result["pickup_jobs"] >= 100_000 else " (issue: 100,000)"
        from bench.reminders import DOWN

        # Missed by more than the grace, a reminder is rightly skipped; within it, it must run, but
        # for those that passed the grace while the bot was starting (the missed ones fell due
        # evenly over the time it was down).
        too_late = result["missed_at_start"] - result["missed_within_grace"]
        passed_meanwhile = math.ceil(
            result["missed_at_start"] / DOWN.total_seconds() * result["seconds_to_all_missed_handled"]
        )
        return [
            Row(
                f"restart with {result['pickup_jobs']:,} pending jobs in {result['networks']} networks{reduced}",
                f"scheduler running {result['seconds_to_scheduler_running']:.1f} s, first missed job run "
                f"{result['seconds_to_first_missed_run']:.1f} s, all {result['missed_at_start']} missed run or "
                f"skipped and every next job known {result['seconds_to_first_pass']:.1f} s after start; "
                f"ran {result['ran']:,} of {result['missed_within_grace']:,} within grace, skipped "
                f"{result['skipped']:,} (past grace {too_late:,}), failed {result['failed']}",
                "≤ 5 s; every reminder within its grace run, none failed",
                verdict(
                    result["seconds_to_first_pass"] <= 5
                    and result["ran"] >= result["missed_within_grace"] - passed_meanwhile
                    and result["skipped"] <= too_late + passed_meanwhile
                    and nothing_wrong(result, "failed")
                ),
            )
        ]
    return [Row(name, json.dumps(result), "", "")]


def table(rows: list[Row]) -> str:
    headers = Row("figure", "measured", "target", "")
    widths = [max(len(getattr(row, field)) for row in [headers, *rows]) for field in Row.__dataclass_fields__]
    lines = []
    for index, row in enumerate([headers, *rows]):
        cells = [
            getattr(row, field).ljust(width) for field, width in zip(Row.__dataclass_fields__, widths, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(lines)


def main() -> None:
    started = time.monotonic()
    results = [result for arguments in QUICK_SET for result in run_one(arguments)]
    print(table([row for result in results for row in rows_for(result)]))
    print(
        f"\nquick set in {time.monotonic() - started:.0f} s on {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.machine()}; fake Bot API in its own process on 127.0.0.1. "
        "Reductions from the issue's sizes are marked."
    )


if __name__ == "__main__":
    main()
