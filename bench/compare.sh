#!/usr/bin/env bash
# bench/compare.sh: hush against the tools a user would otherwise pick, on
# this machine, in one run.
#
# One hyperfine run measures, as whole processes started without a shell:
#   floor               bench/floor: connect to a Unix socket, read 64 bytes
#   hush get            a person at a terminal, daemon warm: prints the value
#   hush get (agent)    the same call from an agent (AI_AGENT in its
#                       environment, via env(1)): writes the handoff script
#   secret-tool lookup  libsecret against gnome-keyring (unlocked)
#   pass show           pass 1.7 with gpg; the key has no passphrase, so
#                       gpg-agent holds it as it holds a cached one
#   gopass show         Debian's gopass (a pass implementation in Go) on the
#                       same store
# and then the daemon's memory holding 10,000 secrets.
#
# Every command runs inside a pseudo-terminal (script(1)) in a D-Bus session,
# with a clean environment, so hush sees a person at a terminal however this
# script was started; the daemon examines nothing at or above this script.
# Each command's output is checked before it is timed.
#
# Usage: bench/compare.sh            (RUNS=300 WARMUP=30 by default)
# Needs (Debian): hyperfine jq util-linux dbus gnome-keyring libsecret-tools
# pass gnupg gopass, and Go. A missing comparison tool skips its row.
set -euo pipefail

RUNS=${RUNS:-300}
WARMUP=${WARMUP:-30}
KEY=bench/api/KEY

die() { echo "compare.sh: $*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# measure runs inside script(1) and dbus-run-session, with WORK set.
measure() {
	local expected cmds=() names=()
	expected=$(cat "$WORK/expected")
	check() { # name, expected output, command...
		local name=$1 want=$2 got
		shift 2
		if ! got=$("$@" 2>"$WORK/check.err"); then
			echo "skipping $name: it failed: $(head -c 300 "$WORK/check.err")"
			return 1
		fi
		if [[ "$got" != "$want" ]]; then
			echo "skipping $name: it printed something else than expected"
			return 1
		fi
		names+=("$name")
		cmds+=("$*")
	}
	check floor "$(printf 'abcdefghijklmnopqrstuvwxyz%.0s' 1 2 3 | head -c 64)" "$WORK/bin/floor" "$WORK/floor.sock" || die "the floor does not answer"
	check "hush get" "$expected" "$WORK/bin/hush" get "$KEY" ||
		die "hush get did not print the value: the daemon does not take this terminal for a person (see $WORK/daemon.log)"
	local line
	line=$(env AI_AGENT=hush-bench "$WORK/bin/hush" get "$KEY")
	[[ "$line" == "source '"*"'" || "$line" == ". '"*"'" ]] || die "hush get as an agent did not hand off"
	names+=("hush get (agent)")
	cmds+=("env AI_AGENT=hush-bench $WORK/bin/hush get $KEY")
	if have gnome-keyring-daemon && have secret-tool; then
		printf 'hush-bench' | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || true
		printf '%s' "$expected" | secret-tool store --label='hush bench' service hush-bench account KEY 2>/dev/null || true
		check "secret-tool lookup" "$expected" secret-tool lookup service hush-bench account KEY || true
	else
		echo "skipping secret-tool lookup: install gnome-keyring libsecret-tools"
	fi
	if [[ -n "${PASS_READY:-}" ]]; then
		check "pass show" "$expected" pass show "$KEY" || true
		if have gopass; then
			check "gopass show" "$expected" gopass show "$KEY" || true
		else
			echo "skipping gopass show: install gopass"
		fi
	else
		echo "skipping pass show and gopass show: install pass gnupg"
	fi
	local args=()
	for i in "${!cmds[@]}"; do
		args+=(-n "${names[$i]}" "${cmds[$i]}")
	done
	hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" \
		--export-json "$WORK/hyperfine.json" "${args[@]}"
}

if [[ "${1:-}" == "--measure" ]]; then
	measure
	exit
fi

for tool in go hyperfine jq script; do
	have "$tool" || die "needs $tool (Debian: hyperfine jq util-linux; Go on PATH)"
done
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
base=/dev/shm
[[ -d $base && -w $base ]] || base=${TMPDIR:-/tmp}
# A tmpfs like the runtime dir of a real session: handoff scripts land there.
WORK=$(mktemp -d "$base/hush-compare.XXXXXX")
export WORK
daemon_pid='' floor_pid=''
cleanup() {
	set +e
	[[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	[[ -n $floor_pid ]] && kill "$floor_pid" 2>/dev/null && wait "$floor_pid" 2>/dev/null
	have gpgconf && GNUPGHOME=$WORK/gnupg gpgconf --kill gpg-agent 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

goversion=$(go version | cut -d' ' -f3)
echo "building hush, floor and vaultfill…"
(cd "$root" && go build -o "$WORK/bin/hush" ./cmd/hush && go build -o "$WORK/bin/floor" ./bench/floor &&
	go build -o "$WORK/bin/vaultfill" ./bench/vaultfill)

mkdir -m 700 "$WORK/home" "$WORK/gnupg"
cleanenv=(
	PATH=/usr/local/bin:/usr/bin:/bin
	HOME="$WORK/home"
	LANG=C.UTF-8
	TERM=xterm
	RUNS="$RUNS"
	WARMUP="$WARMUP"
	WORK="$WORK"
	HUSH_HOME="$WORK/h"
	HUSH_NO_AUTOSTART=1
	GNUPGHOME="$WORK/gnupg"
	PASSWORD_STORE_DIR="$WORK/pass"
)
export "${cleanenv[@]}"
# A fake value of 64 bytes, the size the floor reads.
printf 'sk_test_FAKE_%s' "$(printf '0123456789abcdefghijklmnopqrstuvwxyz' | head -c 51)" >"$WORK/expected"
chmod 600 "$WORK/expected"

start_daemon() {
	"$WORK/bin/hush" daemon --test-tree-root $$ >>"$WORK/daemon.log" 2>&1 &
	daemon_pid=$!
	for _ in $(seq 200); do
		[[ -S $HUSH_HOME/run/hush.sock ]] && return
		kill -0 "$daemon_pid" 2>/dev/null || die "the daemon exited: $(tail -5 "$WORK/daemon.log")"
		sleep 0.05
	done
	die "the daemon did not start"
}
stop_daemon() {
	"$WORK/bin/hush" daemon --stop 2>/dev/null || kill "$daemon_pid"
	wait "$daemon_pid" 2>/dev/null || true
	daemon_pid=''
}
rss() { awk -v f="$2:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

"$WORK/bin/hush" init --no-passphrase 2>/dev/null
start_daemon
"$WORK/bin/hush" set "$KEY" <"$WORK/expected" 2>/dev/null
"$WORK/bin/floor" -serve "$WORK/floor.sock" &
floor_pid=$!

export PASS_READY=''
if have pass && have gpg; then
	gpg --batch --quiet --passphrase '' --quick-gen-key 'hush bench <bench@hush.invalid>' default default never 2>/dev/null
	fpr=$(gpg --list-keys --with-colons 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')
	pass init "$fpr" >/dev/null
	(cat "$WORK/expected"; echo) | pass insert -m "$KEY" >/dev/null
	PASS_READY=1
fi

echo
echo "machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), Linux $(uname -r)"
echo "date:    $(date -u +%Y-%m-%dT%H:%MZ)"
echo "tools:   $(hyperfine --version); $goversion$(have gpg && echo "; gpg $(gpg --version | awk 'NR == 1 { print $3 }')")$(have pass && echo "; pass $(dpkg-query -W -f '${Version}' pass 2>/dev/null)")$(have gopass && echo "; gopass $(dpkg-query -W -f '${Version}' gopass 2>/dev/null)")$(have gnome-keyring-daemon && echo "; gnome-keyring $(dpkg-query -W -f '${Version}' gnome-keyring 2>/dev/null)")"
echo

runner=(bash "$here/$(basename "$0")" --measure)
have dbus-run-session && runner=(dbus-run-session -- "${runner[@]}")
printf -v inner '%q ' "${runner[@]}"
env -i "${cleanenv[@]}" PASS_READY="$PASS_READY" script -qefc "$inner" /dev/null </dev/null |
	grep -v 'fd limit'
[[ -s $WORK/hyperfine.json ]] || die "hyperfine wrote no results"

echo
echo "| command | mean ms | ± ms | median ms | min ms | × floor |"
echo "|---|---:|---:|---:|---:|---:|"
jq -r '
	(.results[] | select(.command == "floor") | .mean) as $floor |
	.results[] |
	"| \(.command) | \(.mean * 1000 * 100 | round / 100) | \(.stddev * 1000 * 100 | round / 100) | \(.median * 1000 * 100 | round / 100) | \(.min * 1000 * 100 | round / 100) | \(.mean / $floor * 100 | round / 100) |"
' "$WORK/hyperfine.json"
jq -r '
	(.results[] | select(.command == "hush get") | .mean) as $hush |
	.results[] | select(.command == "secret-tool lookup") |
	"\nhush get / secret-tool lookup = \($hush / .mean * 100 | round / 100)"
' "$WORK/hyperfine.json"

echo
one=$(rss "$daemon_pid" VmRSS)
stop_daemon
"$WORK/bin/vaultfill" -n 10000 -prefix bench/fill
start_daemon
for i in $(seq 0 99); do
	"$WORK/bin/hush" get "$(printf 'bench/fill/KEY_%05d' $((i * 97)))" >/dev/null
done
"$WORK/bin/hush" ls >/dev/null
echo "daemon RSS: ${one} MB holding 1 secret after the runs above; $(rss "$daemon_pid" VmRSS) MB holding 10,000 after 100 gets and a list (peak $(rss "$daemon_pid" VmHWM) MB)"
