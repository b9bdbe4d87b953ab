# SPDX-License-Identifier: BSD-3-Clause
"""lwkt-report: same-run A/B performance reports for lwkt-lab.

Modules: results (reading google-benchmark JSON and matrix output),
floors (which floor normalises which benchmark), stats (U test,
Hodges-Lehmann effect with its confidence interval, verdicts), runner
(out-of-tree builds, interleaved rounds), callgrind (instruction counts),
history (SQLite, change points), render (report.md, report.html).
"""
