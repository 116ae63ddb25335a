package server_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hush-dev/hush/internal/approve"
	"github.com/hush-dev/hush/internal/approve/approvetest"
	"github.com/hush-dev/hush/internal/audit"
	"github.com/hush-dev/hush/server"
)

// A helper started with HUSH_TEST_RENAME names itself that (comm, as
// prctl(PR_SET_NAME) sets it) before it calls the daemon, as any process
// may.
func init() {
	name := os.Getenv("HUSH_TEST_RENAME")
	if name == "" {
		return
	}
	b := append([]byte(name), 0)
	if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&b[0])), 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "rename:", err)
		os.Exit(2)
	}
}

// hostileName would clear the line, print OK and start a new one on a
// terminal that got it raw. Comm holds at most 15 bytes; this is 12.
const hostileName = "\x1b[2K\rOK\nsafe"

// escapedName is how it must show everywhere.
const escapedName = `\x1b[2K\rOK\nsafe`

// rawControl reports whether s holds a control character other than the
// line breaks its own format puts there.
func rawControl(s string, allowNewline bool) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		return (r < 0x20 && !(allowNewline && r == '\n')) || r == 0x7f
	})
}

func TestAProcessNameCannotDriveTheTerminal(t *testing.T) {
	dir := t.TempDir()
	seen := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("the approval command left no %s: %v", name, err)
		}
		return string(b)
	}
	script := fmt.Sprintf(`printf %%s "$HUSH_APPROVAL_CHAIN" > %[1]s/chain; printf %%s "$HUSH_APPROVAL_WHO" > %[1]s/who; `+
		`printf %%s "$HUSH_APPROVAL_DESCRIPTION" > %[1]s/desc; printf %%s "$1" > %[1]s/arg`, dir)
	cmdGate := approve.NewGate(&approve.Command{Argv: []string{"/bin/sh", "-c", script, "sh", "{description}"}, Env: []string{"PATH=/usr/bin:/bin"}},
		approve.WithTimeout(20*time.Second))
	path := filepath.Join(t.TempDir(), "state", "audit.jsonl")
	l, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	d := &auditedDaemon{daemon: startDaemon(t, daemonConfig{opts: []server.Option{
		server.WithPolicy(testPolicy(t)), server.WithApproval(cmdGate), server.WithAuditLog(l)}}), audit: l, path: path}
	d.put(t, "org/prod/DB", "sk_test_FAKE_procname")

	var out bytes.Buffer
	cmd := agentCommand(t, d.daemon, &out, [2]string{"get", "org/prod/DB"})
	cmd.Env = append(cmd.Env, "HUSH_TEST_RENAME="+hostileName)
	if err := cmd.Run(); err != nil {
		t.Fatalf("agent tree: %v\n%s", err, out.Bytes())
	}
	if r := results(t, out.Bytes(), 1)[0]; r.Code != "OK" {
		t.Fatalf("the approved get: %s %q", r.Code, r.Message)
	}

	t.Run("the approval command's environment and arguments", func(t *testing.T) {
		for _, f := range []string{"chain", "who"} {
			if v := seen(f); rawControl(v, false) {
				t.Errorf("HUSH_APPROVAL_%s holds a raw control character: %q", strings.ToUpper(f), v)
			}
		}
		if v := seen("chain"); !strings.HasPrefix(v, escapedName+"(") {
			t.Errorf("HUSH_APPROVAL_CHAIN = %q, want it to start with the escaped name", v)
		}
		for _, f := range []string{"desc", "arg"} {
			v := seen(f)
			if rawControl(v, true) || strings.Count(v, "\n") != 3 || !strings.Contains(v, "Process chain: "+escapedName+"(") {
				t.Errorf("the description (%s) is not four lines naming the escaped process: %q", f, v)
			}
		}
	})
	t.Run("the audit record's chain", func(t *testing.T) {
		var got []string
		for _, r := range d.records(t) {
			if r.Operation == "Get" {
				got = append(got, r.Chain)
			}
		}
		if len(got) != 1 || rawControl(got[0], false) || !strings.HasPrefix(got[0], escapedName+"<") {
			t.Errorf("chains of the Get records: %q, want one starting with %s<", got, escapedName)
		}
	})
	t.Run("the daemon's log", func(t *testing.T) {
		log := d.log.String()
		// JSON would write a raw ESC as \u001b, and the escaped name's
		// backslashes doubled.
		if strings.Contains(log, `\u001b`) || !strings.Contains(log, strings.ReplaceAll(escapedName, `\`, `\\`)) {
			t.Errorf("the daemon's log does not show the name escaped:\n%s", log)
		}
	})
	t.Run("the pinentry's description", func(t *testing.T) {
		fake := approvetest.Pinentry(t, t.TempDir(), approvetest.OK)
		gate := approve.NewGate(&approve.Pinentry{Program: fake.Path, Env: []string{}}, approve.WithTimeout(20*time.Second))
		d := startDaemon(t, daemonConfig{opts: []server.Option{server.WithPolicy(testPolicy(t)), server.WithApproval(gate)}})
		d.put(t, "org/prod/DB", "sk_test_FAKE_procname")
		var out bytes.Buffer
		cmd := agentCommand(t, d, &out, [2]string{"get", "org/prod/DB"})
		cmd.Env = append(cmd.Env, "HUSH_TEST_RENAME="+hostileName)
		if err := cmd.Run(); err != nil {
			t.Fatalf("agent tree: %v\n%s", err, out.Bytes())
		}
		descs := fake.Descriptions(t)
		// Sent percent-escaped: a raw ESC or CR would arrive as %1B, %0D.
		if len(descs) != 1 || strings.Contains(descs[0], "%1B") || strings.Contains(descs[0], "%0D") || !strings.Contains(descs[0], escapedName) {
			t.Errorf("SETDESC %q does not show the name escaped", descs)
		}
	})
}
