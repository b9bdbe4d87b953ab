# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# ci/lib.sh: what the ci/ scripts share (sourced, not run).
#
# Interruption.  A Ctrl-C reaches every process of the terminal's
# foreground process group, but not a command run under `timeout`: timeout
# moves itself and its command into a process group of their own.  And
# bash runs a trap only after the foreground command it waits for has
# ended.  So a runner starts each long child in the background and waits
# for it with the `wait` builtin (which a trapped signal interrupts at
# once); on SIGINT/SIGTERM/SIGHUP it signals the child's whole process
# tree, reports "interrupted" and dies by the same signal, so that its
# own parent (make, another runner) sees the interruption and stops too.
#
#   lwkt_traps PROG        install the handlers (PROG names the script)
#   lwkt_run CMD...        run CMD, interruptible; returns its exit status
#                          (a program: a shell function cannot get back a
#                          SIGINT its script was started without)
#   lwkt_cleanup           optional function the script defines: called
#                          once on interruption, before the script dies
#   LWKT_ON_INTERRUPT      optional message printed (stdout) on interruption

LWKT_PROG=${LWKT_PROG:-${0##*/}}
LWKT_CHILD=
LWKT_STDOUT=1

# lwkt_tree PID: PID and all its descendants, one per line, parents first.
lwkt_tree() {
	local c
	echo "$1"
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		lwkt_tree "$c"
	done
}

# lwkt_kill_tree PID [GRACE_TENTHS]: SIGTERM to PID's whole tree and to the
# process groups it made (timeout's), SIGKILL to whatever is left after the
# grace period (default 5 s).  Our own process group is never signalled as
# a group: it holds our parents.
lwkt_kill_tree() {
	local root=$1 grace=${2:-50} pids=() pgids=() p g me i alive
	me=$(ps -o pgid= -p $$ | tr -d ' ')
	mapfile -t pids < <(lwkt_tree "$root")
	for p in "${pids[@]}"; do
		g=$(ps -o pgid= -p "$p" 2>/dev/null | tr -d ' ')
		[ -n "$g" ] && [ "$g" != "$me" ] && pgids+=("$g")
	done
	kill -TERM "${pids[@]}" 2>/dev/null
	for g in "${pgids[@]}"; do kill -TERM -- "-$g" 2>/dev/null; done
	for ((i = 0; i < grace; i++)); do
		alive=0
		for p in "${pids[@]}"; do
			# A zombie has been killed already; only its parent's wait is missing.
			if kill -0 "$p" 2>/dev/null &&
			   [ "$(ps -o stat= -p "$p" 2>/dev/null | cut -c1)" != Z ]; then
				alive=1; break
			fi
		done
		[ $alive -eq 0 ] && return 0
		sleep 0.1
	done
	kill -KILL "${pids[@]}" 2>/dev/null
	for g in "${pgids[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
	return 0
}

lwkt_on_signal() {
	local sig=$1
	# A second Ctrl-C must not cut the clean-up short.
	trap '' INT TERM HUP
	[ -n "$LWKT_CHILD" ] && lwkt_kill_tree "$LWKT_CHILD"
	wait 2>/dev/null
	if declare -F lwkt_cleanup >/dev/null; then lwkt_cleanup; fi
	# To the script's own stdout: a trap runs inside the redirections of
	# the command it interrupted (lwkt_run ... >log).
	echo "${LWKT_ON_INTERRUPT:-$LWKT_PROG: interrupted} (SIG$sig)" >&"$LWKT_STDOUT"
	trap - "$sig" EXIT
	kill -s "$sig" $$
	exit $((128 + $(kill -l "$sig")))
}

lwkt_traps() {
	LWKT_PROG=$1
	exec {LWKT_STDOUT}>&1
	trap 'lwkt_on_signal INT' INT
	trap 'lwkt_on_signal TERM' TERM
	trap 'lwkt_on_signal HUP' HUP
}

# lwkt_pool JOBS FN ARG...: FN ARG for each ARG in the background, at
# most JOBS at a time; returns when all are done.  Run it through
# lwkt_run: it ignores SIGINT and SIGQUIT itself, so that a Ctrl-C leaves
# it alive until lwkt_run's handler has found its whole tree.
lwkt_pool() {
	local jobs=$1 fn=$2 a n=0
	shift 2
	trap '' INT QUIT
	for a in "$@"; do
		if [ "$n" -ge "$jobs" ]; then wait -n; n=$((n - 1)); fi
		"$fn" "$a" &
		n=$((n + 1))
	done
	wait
}

lwkt_run() {
	# A background job of a script starts with SIGINT and SIGQUIT
	# ignored, and would pass that on to every program below it (a
	# Python program then never sees KeyboardInterrupt, a test of Ctrl-C
	# sees nothing): the child gets them back at their defaults.
	if declare -F "$1" >/dev/null; then
		( trap - INT QUIT; "$@" ) &
	else
		env --default-signal=INT,QUIT "$@" &
	fi
	LWKT_CHILD=$!
	local rc=0
	wait "$LWKT_CHILD" || rc=$?
	LWKT_CHILD=
	return $rc
}
