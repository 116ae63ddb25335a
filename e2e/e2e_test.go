// Package e2e_test runs hush's main job end to end, with every part real:
// the hush binary, its daemon on a file vault, `hush mcp` driven by the
// official MCP TypeScript SDK from a node process named `claude`, bash
// sourcing the handoff script, and an HTTP endpoint that checks the value.
package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"

	"github.com/hush-dev/hush/internal/demo"
	"github.com/hush-dev/hush/internal/handoff"
)

// hushBin is the hush binary TestMain builds.
var hushBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hush-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hushBin = filepath.Join(dir, "hush")
	build := exec.Command(goTool(), "build", "-o", hushBin, "github.com/hush-dev/hush/cmd/hush")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building hush:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goTool is the go command running this test when `go test` says where its
// GOROOT is, else the one on PATH.
func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}

// need skips outside CI and fails in CI when something the test needs is
// missing from the machine.
func need(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "" {
		t.Skip(err)
	}
	t.Fatal(err)
}

// agent returns the agent package (this directory) with its node modules
// installed.
func agent(t *testing.T, ctx context.Context) demo.Agent {
	t.Helper()
	node, npm, err := demo.LookNode(ctx)
	need(t, err)
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	var npmOut bytes.Buffer
	if err := demo.EnsureAgentDeps(ctx, dir, npm, &npmOut); err != nil {
		need(t, fmt.Errorf("%w (run npm ci in e2e/): %s", err, lastLine(npmOut.String())))
	}
	return demo.Agent{Dir: dir, Node: node}
}

func stage(t *testing.T, ctx context.Context) *demo.Stage {
	t.Helper()
	st, err := demo.NewStage(ctx, hushBin, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return st
}

// fakeKey is recognisable when grepped for and differs on every run, so a
// leak from an earlier run cannot hide or fake one in this run.
func fakeKey() []byte { return []byte("sk_test_hushE2E_" + rand.Text()) }

// redact keeps a value out of the test's own output when an assertion
// prints what a process wrote.
func redact(b []byte, value []byte) string {
	return string(bytes.ReplaceAll(b, value, []byte("[VALUE]")))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestAgentUsesSecretWithoutSeeingIt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ag := agent(t, ctx)
	st := stage(t, ctx)
	value := fakeKey()
	const name = "demo/DEMO_API_KEY"
	if err := st.Set(ctx, name, value); err != nil {
		t.Fatal(err)
	}
	checker, err := demo.StartChecker(value)
	if err != nil {
		t.Fatal(err)
	}
	defer checker.Close()

	run, err := st.RunAgent(ctx, ag, name, checker.URL)
	if err != nil {
		t.Fatalf("%v\nagent stderr:\n%s", err, redact(run.Stderr, value))
	}
	if run.Err != nil {
		t.Fatalf("agent: %v\nstderr:\n%s\ntranscript:\n%s", run.Err, redact(run.Stderr, value), redact(run.Stdout, value))
	}

	t.Run("the agent's command got the value", func(t *testing.T) {
		shells := run.Shells()
		if len(shells) == 0 || shells[0].Exit != 0 || strings.TrimSpace(shells[0].Stdout) != "200" {
			t.Fatalf("the check command did not get HTTP 200: %+v", shells)
		}
		if checker.Accepted() != 1 || checker.Refused() != 0 {
			t.Errorf("endpoint accepted %d and refused %d requests, want 1 and 0", checker.Accepted(), checker.Refused())
		}
	})

	t.Run("the daemon saw an agent and chose a handoff", func(t *testing.T) {
		// The bridge hands off whatever the daemon says, so only the
		// daemon's own record shows that the process name decided.
		checkDelivered(t, st, "verdict=agent", "agent=claude", "signal=\"comm:claude", "delivery=DELIVERY_HANDOFF")
	})

	t.Run("the value is in no message, output or log", func(t *testing.T) {
		daemonLog, err := os.ReadFile(st.DaemonLog)
		if err != nil {
			t.Fatal(err)
		}
		for where, b := range map[string][]byte{
			"the JSON-RPC transcript and the shell output": run.Transcript,
			"the agent's stdout":                           run.Stdout,
			"the stderr of the agent and hush mcp":         run.Stderr,
			"the daemon's stdout and stderr":               daemonLog,
		} {
			if bytes.Contains(b, value) {
				t.Errorf("the value is in %s", where)
			}
		}
		// Nothing in HUSH_HOME holds it in the clear: the vault is encrypted
		// and the script is gone.
		filepath.WalkDir(st.Home, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, value) {
				t.Errorf("the value is in the clear in %s", path)
			}
			return nil
		})
	})

	t.Run("every stdout line of hush mcp was JSON-RPC", func(t *testing.T) {
		msgs := 0
		for _, ev := range run.Events {
			switch ev.Kind {
			case "transport-error":
				t.Errorf("the SDK could not read a line from hush mcp: %s", ev.Error)
			case "send", "recv":
				msgs++
				var m struct{ JSONRPC string }
				if json.Unmarshal(ev.Message, &m) != nil || m.JSONRPC != "2.0" {
					t.Errorf("not a JSON-RPC 2.0 message: %.200s", ev.Message)
				}
			}
		}
		// initialize, initialized, tools/list, hush_list, hush_get, with replies.
		if msgs < 9 {
			t.Errorf("%d JSON-RPC messages, want at least 9", msgs)
		}
		var tools []string
		for _, ev := range run.Events {
			var m struct {
				Result struct{ Tools []struct{ Name string } }
			}
			if ev.Kind == "recv" && json.Unmarshal(ev.Message, &m) == nil {
				for _, tl := range m.Result.Tools {
					tools = append(tools, tl.Name)
				}
			}
		}
		if strings.Join(tools, ",") != "hush_get,hush_list" {
			t.Errorf("tools %v, want hush_get and hush_list", tools)
		}
	})

	line, ok := run.SourceLine()
	_, path, err := handoff.ParseSourceLine(line)
	t.Run("the agent saw only a source line", func(t *testing.T) {
		if !ok || err != nil {
			t.Fatalf("no source line in hush_get's reply (%v): %q", err, run.ToolTexts())
		}
		texts := run.ToolTexts()
		get := texts[len(texts)-1]
		if l := strings.Split(get, "\n"); len(l) != 2 || l[0] != line || !strings.Contains(l[1], "&&") {
			t.Errorf("hush_get replied %q, want the source line and one line telling to chain with &&", get)
		}
		if cmd := run.Shells()[0].Command; !strings.HasPrefix(cmd, line+" && ") {
			t.Errorf("the agent ran %q, want the source line chained with its command", cmd)
		}
	})

	t.Run("the script deleted itself", func(t *testing.T) {
		if err != nil {
			t.Skip("no script path")
		}
		left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "h-*"))
		if len(left) > 0 {
			t.Errorf("handoff files left in the runtime dir: %v", left)
		}
	})

	t.Run("sourcing a consumed script fails loudly (S2)", func(t *testing.T) {
		if err != nil {
			t.Skip("no script path")
		}
		if sh := run.Shells(); len(sh) < 2 || sh[1].Exit == 0 || sh[1].Stderr == "" {
			t.Errorf("the agent's second source of the line did not fail loudly: %+v", sh)
		}
		shells := []struct {
			name   string
			loader handoff.Loader
		}{
			{"bash", handoff.Source}, {"dash", handoff.Dot}, {"zsh", handoff.Source}, {"bash", handoff.Dot},
		}
		for _, sh := range shells {
			bin, lerr := exec.LookPath(sh.name)
			if lerr != nil {
				need(t, fmt.Errorf("%s not found: apt-get install -y %s", sh.name, sh.name))
				continue
			}
			src := handoff.SourceLine(sh.loader, path)
			cmd := exec.Command(bin, "-c", src+" && echo REACHED")
			cmd.Env = st.Env
			var o, e bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &e
			runErr := cmd.Run()
			if runErr == nil || strings.Contains(o.String(), "REACHED") || e.Len() == 0 {
				t.Errorf("%s -c %q: err=%v stdout=%q stderr=%q; want a failure on stderr that stops the chain", sh.name, src, runErr, o.String(), e.String())
			}
		}
	})
}

// checkDelivered finds the daemon's log line for the delivery and checks
// that it holds every one of want.
func checkDelivered(t *testing.T, st *demo.Stage, want ...string) {
	t.Helper()
	log, err := os.ReadFile(st.DaemonLog)
	if err != nil {
		t.Fatal(err)
	}
	var delivered []string
	for line := range strings.SplitSeq(string(log), "\n") {
		if strings.Contains(line, "msg=delivered") {
			delivered = append(delivered, line)
		}
	}
	if len(delivered) != 1 {
		t.Fatalf("the daemon logged %d deliveries, want 1:\n%s", len(delivered), log)
	}
	for _, w := range want {
		if !strings.Contains(delivered[0], w) {
			t.Errorf("the daemon's delivery does not say %s: %s", w, delivered[0])
		}
	}
}

// TestPersonAtTerminalGetsExactBytes is the person path: `hush get` at a
// terminal of its own, with no agent in its tree, prints the stored bytes
// and, since the value does not end in one, a newline; nothing else.
func TestPersonAtTerminalGetsExactBytes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := stage(t, ctx)
	// V1–V3 in one value; it must not end in a newline, which set strips.
	value := append(fakeKey(), []byte(" data$extra#tail it's `x` \"q\" a\\b !*~ ünï")...)
	const name = "person/API_KEY"
	if err := st.Set(ctx, name, value); err != nil {
		t.Fatal(err)
	}

	ptmx, tty, err := pty.Open()
	if err != nil {
		need(t, fmt.Errorf("no pseudo-terminal: %w", err))
	}
	defer ptmx.Close()
	// Raw, so the terminal driver does not turn \n into \r\n: what the
	// master reads is what hush wrote.
	if _, err := term.MakeRaw(int(tty.Fd())); err != nil {
		t.Fatal(err)
	}
	cmd := st.Command(ctx, "get", name)
	cmd.Stdin, cmd.Stdout = tty, tty
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// Its own session with the pty as controlling terminal: a person at a
	// terminal, not this test's terminal (or lack of one).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	out := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(ptmx) // ends with EIO once the child closes the terminal
		out <- b
	}()
	waitErr := cmd.Wait()
	var got []byte
	select {
	case got = <-out:
	case <-time.After(30 * time.Second):
		t.Fatal("the terminal did not close")
	}
	if waitErr != nil {
		t.Fatalf("hush get: %v: %s", waitErr, redact(stderr.Bytes(), value))
	}
	// At a terminal the line is ended, so the prompt starts on its own.
	if want := append(bytes.Clone(value), '\n'); !bytes.Equal(got, want) {
		t.Errorf("hush get at a terminal printed %d bytes %q, want exactly the %d stored bytes and a newline",
			len(got), redact(got, value), len(value))
	}
	if bytes.Contains(stderr.Bytes(), value) {
		t.Error("hush get also wrote the value to stderr")
	}
	checkDelivered(t, st, "verdict=person", "delivery=DELIVERY_PLAINTEXT")
}

// TestDemoRunsClean runs the narrated demo (`hush demo`, `make demo`) and
// checks that every check in it holds and that it prints no value.
func TestDemoRunsClean(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ag := agent(t, ctx)
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "hush-demo-*"))
	var out bytes.Buffer
	err := demo.Run(ctx, &out, demo.Options{Hush: hushBin, AgentDir: ag.Dir})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	s := out.String()
	if strings.Contains(s, "✗") || strings.Count(s, "✓") < 8 {
		t.Errorf("the demo's checks did not all pass:\n%s", s)
	}
	if strings.Contains(s, "sk_test_hushdemo_") {
		t.Error("the demo printed its secret value")
	}
	for _, want := range []string{"agent → hush", "hush  → agent", "source '", "$ source '"} {
		if !strings.Contains(s, want) {
			t.Errorf("the demo's story lacks %q", want)
		}
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "hush-demo-*"))
	for _, dir := range after {
		if !slices.Contains(before, dir) {
			t.Errorf("the demo left %s behind", dir)
		}
	}
}
