package cli

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"hush": func() { os.Exit(Main(os.Args[1:])) },
	})
}

// TestScripts runs the CLI behaviour in testdata/script. Each script gets
// its own HUSH_HOME; autostart is off so that every daemon is started by the
// script's `daemon-start`, which passes the test's pid as the tree root: the
// developer's own agent ancestry never decides a verdict here. Commands run
// by a script have no terminal, so they are Unknown callers and get handoffs.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("HUSH_HOME", filepath.Join(env.WorkDir, "h"))
			env.Setenv("HUSH_NO_AUTOSTART", "1")
			env.Setenv("SHELL", "/bin/sh")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"daemon-start": daemonStart,
			"symlink-trap": func(ts *testscript.TestScript, neg bool, args []string) {
				ts.Check(os.Symlink(ts.MkAbs(args[0]), ts.MkAbs(args[1])))
			},
		},
	})
}

// daemonStart starts `hush daemon` in the background with the script's
// environment and waits until its socket answers.
func daemonStart(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! daemon-start")
	}
	// testscript puts its command wrappers on the script's PATH.
	exe, err := lookPathIn("hush", ts.Getenv("PATH"))
	ts.Check(err)
	cmd := exec.Command(exe, append([]string{"daemon", "--test-tree-root", strconv.Itoa(os.Getpid())}, args...)...)
	cmd.Dir = ts.Getenv("WORK")
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "HUSH_HOME", "HUSH_NO_AUTOSTART", "HUSH_CONFIG", "SHELL"} {
		if v := ts.Getenv(k); v != "" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	logf, err := os.Create(filepath.Join(ts.Getenv("WORK"), "daemon.log"))
	ts.Check(err)
	cmd.Stdout, cmd.Stderr = logf, logf
	ts.Check(cmd.Start())
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	ts.Defer(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	sock := filepath.Join(ts.Getenv("HUSH_HOME"), "run", "hush.sock")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			log, _ := os.ReadFile(logf.Name())
			ts.Fatalf("daemon exited early:\n%s", log)
		case <-time.After(20 * time.Millisecond):
		}
	}
	ts.Fatalf("daemon did not answer on %s", sock)
}

func lookPathIn(name, path string) (string, error) {
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not in PATH", name)
}
