# shellcheck shell=bash
# The verdict logic of tests/run.sh, in functions: run.sh sources it to run the tests,
# tests/runner/selftest.sh sources it to check it on fixtures, so the self-test exercises
# this code and not a copy.
#
# Verdicts (one line per step: PASS, FAIL or SKIP, the name, the time or the reason):
#   runner_step NAME CMD...         exit 0 PASS, 77 SKIP (reason: the last output line),
#                                   anything else FAIL. Counts as one test.
#   runner_strict_step NAME CMD...  the same, but 77 is a FAIL too (a fuzzer: libFuzzer
#                                   exits 77 on a crash).
#   runner_cmocka NAME CMD...       a cmocka binary; every case counts as one test.
#                                   Exit 77 before any case ran: SKIP (reason: last line).
#                                   Else from its stdout: "[ RUN ]" cases ran, "[ OK ]"
#                                   passed, "[ SKIPPED ]" skipped, the rest failed (a
#                                   FAILED line, a teardown ERROR, a crash). A nonzero exit
#                                   or a failed case: FAIL. Every case skipped: SKIP. Some
#                                   skipped: PASS "(k of n cases skipped)". Skipped cases
#                                   are listed with the reasons tg_skip() printed
#                                   ("SKIP: why" on stderr, tests/lib/skip.h), in order.
#   runner_require_bin NAME BIN     FAIL "not built" if BIN is missing (returns 1).
#   runner_summary                  the closing line "tests: N passed, N failed, N
#                                   skipped"; returns 0 iff nothing failed and something
#                                   passed.
# Every runner_* that runs something first checks runner_selected NAME against
# $TEST_FILTER (space-separated bash patterns, each matched as a prefix of the name).
#
# What runs is found like the Makefile finds what to build: runner_sources ROOT GLOB lists
# the sources, runner_bin / runner_fuzz_bin map one to its binary. A test whose source was
# deleted is not run, whatever stale binary the build directory still holds.
#
# Logs: $RUNNER_LOG_DIR/<name>.log (a cmocka binary's: its stdout, then its stderr).

runner_init() { # log dir
	RUNNER_LOG_DIR=$1
	runner_pass=0 runner_fail=0 runner_skip=0 runner_selected_steps=0
	runner_failed=()
	mkdir -p "$RUNNER_LOG_DIR"
}

# ---- what runs ------------------------------------------------------------------------

runner_sources() { # root glob: matching files, relative to root, in glob (sorted) order
	(
		cd "$1" 2>/dev/null || exit 0
		shopt -s nullglob
		# shellcheck disable=SC2206 # the glob is meant to expand
		local files=($2)
		[ ${#files[@]} -eq 0 ] || printf '%s\n' "${files[@]}"
	)
}

runner_bin() { # B variant source: $(B)/<variant>/<source without .c>, as the Makefile
	echo "$1/$2/${3%.c}"
}

runner_fuzz_bin() { # B source: $(B)/fuzz/<basename without .c>, as the Makefile
	local base=${2##*/}
	echo "$1/fuzz/${base%.c}"
}

runner_selected() { # name
	local pats p
	[ -n "${TEST_FILTER:-}" ] || return 0
	read -ra pats <<<"$TEST_FILTER"
	for p in "${pats[@]}"; do
		# shellcheck disable=SC2053 # p is a pattern
		[[ $1 == $p* ]] && return 0
	done
	return 1
}

runner_require_bin() { # name bin
	runner_selected "$1" || return 1
	[ -x "$2" ] && return 0
	runner_selected_steps=$((runner_selected_steps + 1))
	runner__fail "$1" 1 "not built: $2" /dev/null
	return 1
}

# ---- verdicts -----------------------------------------------------------------------

runner_step() { # name command...
	runner__step 77 "$@"
}

runner_strict_step() { # name command...
	runner__step none "$@"
}

runner__step() { # skip code, name, command...
	local skip_rc=$1 name=$2 log t0 rc
	shift 2
	runner_selected "$name" || return 0
	runner_selected_steps=$((runner_selected_steps + 1))
	log=$(runner__log "$name")
	t0=$(runner__ms)
	runner__run "$@" >"$log" 2>&1 </dev/null
	rc=$?
	if [ $rc -eq 0 ]; then
		runner__pass "$name" 1 "$(runner__since "$t0")"
	elif [ "$rc" = "$skip_rc" ]; then
		runner__skip "$name" 1 "($(tail -n 1 "$log"))"
	else
		runner__fail "$name" 1 "$(runner__rc $rc)" "$log"
	fi
}

# stdout and stderr are captured apart: cmocka writes the per-case lines to stdout
# (buffered) and errors to stderr, so a merged file can cut a line where stdout's buffer
# was flushed.
runner_cmocka() { # name command...
	local name=$1 log t0 rc run ok skipped failed dur
	shift
	runner_selected "$name" || return 0
	runner_selected_steps=$((runner_selected_steps + 1))
	log=$(runner__log "$name")
	t0=$(runner__ms)
	CMOCKA_MESSAGE_OUTPUT=stdout runner__run "$@" >"$log.out" 2>"$log.err" </dev/null
	rc=$?
	dur=$(runner__since "$t0")
	run=$(grep -c '^\[ RUN      \] ' "$log.out")
	ok=$(grep -c '^\[       OK \] ' "$log.out")
	skipped=$(grep -c '^\[  SKIPPED \] ' "$log.out")
	failed=$((run - ok - skipped))
	if [ $rc -eq 77 ] && [ "$run" -eq 0 ]; then
		runner__skip "$name" 1 "($(runner__last_line "$log.err" "$log.out"))"
	elif [ $rc -ne 0 ] || [ $failed -gt 0 ] || [ "$run" -eq 0 ]; then
		runner_pass=$((runner_pass + ok)) runner_skip=$((runner_skip + skipped))
		runner__fail "$name" $((failed > 0 ? failed : 1)) \
			"$(runner__fail_detail $rc "$run" $failed "$log.out")" "$log.err"
	elif [ "$ok" -eq 0 ]; then
		runner__skip "$name" "$skipped" "(all $run cases skipped)"
	else
		runner__pass "$name" "$ok" "$dur$(runner__skip_note "$run" "$skipped")"
		runner_skip=$((runner_skip + skipped))
	fi
	[ "$skipped" -eq 0 ] || runner__skip_reasons "$log.out" "$log.err"
	{ cat "$log.out"; echo "---- stderr ----"; cat "$log.err"; } >"$log"
	rm -f "$log.out" "$log.err"
}

runner_summary() {
	echo
	[ ${#runner_failed[@]} -eq 0 ] || printf 'failed: %s\n' "${runner_failed[@]}"
	[ "$runner_selected_steps" -gt 0 ] || echo "no test matches TEST_FILTER='${TEST_FILTER:-}'"
	echo "tests: $runner_pass passed, $runner_fail failed, $runner_skip skipped"
	[ "$runner_fail" -eq 0 ] && [ "$runner_pass" -gt 0 ]
}

# ---- helpers ------------------------------------------------------------------------

runner__log() { # name
	echo "$RUNNER_LOG_DIR/$(echo "$1" | tr '/ ' '__').log"
}

# In a subshell that is not the command itself, so that bash's "Aborted (core dumped)"
# notice for a test killed by a signal goes to the test's log, not between the verdicts.
runner__run() { # command...
	(
		"$@"
		exit $?
	)
}

runner__rc() { # exit status: "rc=1", "rc=134 (SIGABRT)"
	if [ "$1" -gt 128 ] && [ "$1" -lt 160 ]; then
		echo "rc=$1 (SIG$(kill -l $(($1 - 128))))"
	else
		echo "rc=$1"
	fi
}

runner__ms() {
	echo $(($(date +%s%N) / 1000000))
}

runner__since() { # start ms: "1.2s"
	local ms=$(($(runner__ms) - $1))
	echo "$((ms / 1000)).$((ms % 1000 / 100))s"
}

runner__last_line() { # files...: the last non-empty line of the first file that has one
	local f line
	for f in "$@"; do
		line=$(grep -v '^[[:space:]]*$' "$f" | tail -n 1)
		[ -z "$line" ] || { echo "$line"; return; }
	done
	echo "no reason given"
}

runner__skip_note() { # cases run, skipped
	[ "$2" -eq 0 ] || echo "  ($2 of $1 cases skipped)"
}

runner__fail_detail() { # rc, cases run, failed, stdout: "rc=1 (2 of 9 cases failed: a b)"
	local detail
	detail=$(runner__rc "$1")
	if [ "$2" -eq 0 ]; then
		detail+=" (no test case ran)"
	elif [ "$3" -gt 0 ]; then
		detail+=" ($3 of $2 cases failed: $(runner__failed_cases "$4" | tr '\n' ' ' | sed 's/ $//'))"
	fi
	echo "$detail"
}

runner__failed_cases() { # stdout: cases that ran and neither passed nor skipped
	awk '/^\[ RUN      \] /     { sub(/^\[ RUN      \] /, ""); open[$0] = NR }
	     /^\[       OK \] /     { sub(/^\[       OK \] /, ""); delete open[$0] }
	     /^\[  SKIPPED \] /     { sub(/^\[  SKIPPED \] /, ""); delete open[$0] }
	     END { for (c in open) print open[c], c }' "$1" | sort -n | cut -d' ' -f2-
}

# The i-th "SKIP: why" on stderr belongs to the i-th skipped case (tg_skip() prints it
# just before skip(), and cases run one after the other).
runner__skip_reasons() { # stdout, stderr
	local cases reasons i
	mapfile -t cases < <(sed -n 's/^\[  SKIPPED \] //p' "$1")
	mapfile -t reasons < <(sed -n 's/^SKIP: //p' "$2")
	for i in "${!cases[@]}"; do
		if [ ${#reasons[@]} -eq ${#cases[@]} ]; then
			printf '     skipped %s: %s\n' "${cases[i]}" "${reasons[i]}"
		else
			printf '     skipped %s\n' "${cases[i]}"
		fi
	done
	# a bare skip() somewhere: the pairing is off, show the reasons as they are
	[ ${#reasons[@]} -eq ${#cases[@]} ] || [ ${#reasons[@]} -eq 0 ] ||
		printf '     reason given: %s\n' "${reasons[@]}"
	[ ${#reasons[@]} -ge ${#cases[@]} ] ||
		echo "     ($((${#cases[@]} - ${#reasons[@]})) skipped without a reason: use tg_skip())"
}

runner__pass() { # name, count, detail
	runner_pass=$((runner_pass + $2))
	printf 'PASS %-55s %6s\n' "$1" "$3"
}

runner__skip() { # name, count, detail
	runner_skip=$((runner_skip + $2))
	printf 'SKIP %-55s %s\n' "$1" "$3"
}

runner__fail() { # name, count, detail, log to show the tail of
	runner_fail=$((runner_fail + $2))
	runner_failed+=("$1")
	printf 'FAIL %-55s %s\n' "$1" "$3"
	sed 's/^/    | /' "$4" | tail -n 40
}
