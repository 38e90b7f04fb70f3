"""Goals, printed by each benchmark and gathered into one table by ``make bench``.

A benchmark calls :func:`goal` for each figure it is judged by. The line is printed at once;
when ``PP_BENCH_GOALS`` names a file (``benchmarks/run_all.py`` sets it), the goal is also
appended there as one JSON line, so the table at the end of ``make bench`` is built from what
the scripts measured, not copied from their output. Not a package: the scripts import it as a
sibling (``sys.path`` holds their folder when run as scripts).
"""

from __future__ import annotations

import json
import os

GOALS_ENV = "PP_BENCH_GOALS"
#: The name ``run_all.py`` runs the script under, recorded with each of its goals.
RUN_ENV = "PP_BENCH_RUN"


def goal(bench: str, label: str, value: float, target: str, met: bool, unit: str = "x") -> bool:
    """Print one goal (``label  value  target  met|MISSED``) and record it for the table.

    ``target`` says the bar in words (``">= 3.7x the hand loop"``); ``unit`` follows ``value``
    (``"x"`` for a ratio, ``" MiB"``...). Returns ``met``.
    """
    verdict = "met" if met else "MISSED"
    print(f"  goal: {label}: {value:,.2f}{unit} (bar {target}): {verdict}")
    path = os.environ.get(GOALS_ENV)
    if path:
        run = os.environ.get(RUN_ENV, bench)
        line = {"run": run, "bench": bench, "label": label, "value": value, "unit": unit}
        line |= {"target": target, "met": met}
        with open(path, "a", encoding="utf-8") as sink:
            sink.write(json.dumps(line) + "\n")
    return met
