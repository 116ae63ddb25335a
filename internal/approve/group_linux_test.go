//go:build linux

package approve_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hush-dev/hush/internal/approve"
)

// hangingPinentry is a pinentry script that, asked to CONFIRM, starts a
// child of its own and waits for it, writing the child's pid to pidFile.
func hangingPinentry(t *testing.T, dir, pidFile string) string {
	t.Helper()
	p := filepath.Join(dir, "pinentry-hang")
	script := `#!/bin/sh
echo "OK ready"
while read -r line; do
	case "$line" in
	CONFIRM*) sleep 30 & echo $! > '` + pidFile + `'; wait ;;
	*) echo OK ;;
	esac
done
`
	if err := os.WriteFile(p, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAnApproverThatEndsLeavesNoChildBehind(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cancel bool // cancel once the child runs; otherwise time out
		is     error
		make   func(t *testing.T, dir, pidFile string) approve.Approver
	}{
		{"a command that times out takes its child with it", false, approve.ErrTimeout, commandWithChild},
		{"a cancelled command takes its child with it", true, context.Canceled, commandWithChild},
		{"a pinentry that times out takes its child with it", false, approve.ErrTimeout, pinentryWithChild},
		{"a cancelled pinentry takes its child with it", true, context.Canceled, pinentryWithChild},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			pidFile := filepath.Join(dir, "child.pid")
			a := tc.make(t, dir, pidFile)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if tc.cancel {
				ctx, cancel = context.WithCancel(context.Background())
				defer cancel()
				go func() {
					eventually(func() bool { return ctx.Err() != nil || childPID(pidFile) > 0 })
					cancel()
				}()
			}
			err := a.Approve(ctx, request)
			if !errors.Is(err, tc.is) {
				t.Fatalf("Approve = %v, want %v", err, tc.is)
			}
			pid := childPID(pidFile)
			if pid <= 0 {
				t.Fatal("the approver never started its child")
			}
			if !eventually(func() bool { return !running(pid) }) {
				t.Errorf("the approver's child %d (sleep 30) outlived it", pid)
			}
		})
	}
}

func commandWithChild(t *testing.T, _, pidFile string) approve.Approver {
	return &approve.Command{
		Argv: []string{"/bin/sh", "-c", `sleep 30 & echo $! > "$1"; wait`, "sh", pidFile},
		Env:  []string{"PATH=/usr/bin:/bin"},
	}
}

func pinentryWithChild(t *testing.T, dir, pidFile string) approve.Approver {
	return &approve.Pinentry{Program: hangingPinentry(t, dir, pidFile), Env: []string{"PATH=/usr/bin:/bin"}}
}

func childPID(pidFile string) int {
	b, err := os.ReadFile(pidFile)
	if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// running reports whether pid is a live process: a zombie waiting for an
// init that does not reap (as in some containers) is not.
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised comm.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

func eventually(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
