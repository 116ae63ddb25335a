package server_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/hush-dev/hush/internal/proctree/proctreetest"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// invalidTree starts, in a directory whose name is not UTF-8, a copy of sh
// whose file name is not UTF-8 either (so its exe and comm are not), run
// as `sh\xe9 -c script \xe9arg`: what `bash -c 'hush get x/KEY; true'
// $'\xe9'` makes. It returns the command, not started, and the shell's
// path.
func invalidTree(t *testing.T, env []string, script string) (*exec.Cmd, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "d\xe9")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sh := filepath.Join(dir, "sh\xe9")
	if out, err := exec.Command("cp", "/bin/sh", sh).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	cmd := exec.Command(sh, "-c", script, "\xe9arg")
	cmd.Env = env
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd, sh
}

func TestAnAncestorNamedInInvalidUTF8GetsAnAnswer(t *testing.T) {
	d := startAudited(t, daemonConfig{})
	d.put(t, "x/KEY", "sk_test_FAKE_utf8")

	t.Run("hush get below it gets its handoff", func(t *testing.T) {
		script := "HUSH_TEST_HELPER=get HUSH_TEST_ARG=x/KEY " + proctreetest.Quote(testBinary(t)) + "; true"
		cmd, _ := invalidTree(t, helperEnv("none", d.socket, "", "GORACE=atexit_sleep_ms=0"), script)
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("tree: %v\n%s", err, out.Bytes())
		}
		r := results(t, out.Bytes(), 1)[0]
		if r.Code != "OK" || r.Delivery != hushv1.Delivery_DELIVERY_HANDOFF.String() {
			t.Fatalf("hush get: %s %q, delivery %s; want OK and a handoff", r.Code, r.Message, r.Delivery)
		}
		var results []string
		for _, rec := range d.records(t) {
			if rec.Operation == "Get" {
				results = append(results, rec.Result)
			}
		}
		if len(results) != 1 || results[0] != "ok" {
			t.Errorf("the Get records say %q, want one ok", results)
		}
	})

	t.Run("Classify shows the bytes written out", func(t *testing.T) {
		caller := proctreetest.NewCaller(t, t.TempDir())
		cmd, sh := invalidTree(t, proctreetest.CleanEnv(t.TempDir()), caller.Command)
		proctreetest.Start(t, cmd)
		pid := caller.Wait(t)

		resp, err := d.dial(t).Classify(context.Background(), pid, "x/KEY")
		if err != nil {
			t.Fatalf("Classify: %v", err)
		}
		i := slices.IndexFunc(resp.GetCaller().GetChain(), func(p *hushv1.Process) bool { return p.GetPid() == int32(cmd.Process.Pid) })
		if i < 0 {
			t.Fatalf("the chain %v lacks the shell %d", resp.GetCaller().GetChain(), cmd.Process.Pid)
		}
		p := resp.GetCaller().GetChain()[i]
		wantExe := strings.ReplaceAll(sh, "\xe9", `\xe9`)
		if p.GetComm() != `sh\xe9` || p.GetExe() != wantExe || len(p.GetArgv()) != 4 || p.GetArgv()[3] != `\xe9arg` {
			t.Errorf("the shell shows as comm %q, exe %q, argv %q; want sh\\xe9, %q and \\xe9arg last", p.GetComm(), p.GetExe(), p.GetArgv(), wantExe)
		}
		if resp.GetOutcome() == "" {
			t.Error("Classify gave no outcome")
		}
	})
	d.assertLogClean(t, "sk_test_FAKE_utf8")
	d.assertFileClean(t, "sk_test_FAKE_utf8")
}
