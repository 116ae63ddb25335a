// Package demo shows hush's main job to a newcomer (`hush demo`, `make
// demo`): a throwaway daemon hands a secret to an agent that drives `hush
// mcp` through the official MCP SDK, the agent's command uses the secret,
// and the transcript shows that the value never reached the agent.
//
// The end-to-end test (e2e/) runs the same pieces (Stage, Checker,
// RunAgent) and asserts on them byte by byte.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hush-dev/hush/internal/handoff"
)

// Options configure Run.
type Options struct {
	Hush     string // the hush binary; default: the running executable
	AgentDir string // the agent package (the repository's e2e/); default: found from the working directory
	TreeRoot int    // where the daemon stops walking a caller's ancestry; default: this process
}

// DemoSecret is the name the demo stores its secret under.
const DemoSecret = "demo/DEMO_API_KEY"

// NewValue returns a fresh fake API key: recognisable when grepped for,
// and never printed.
func NewValue() []byte {
	return []byte("sk_test_hushdemo_" + rand.Text())
}

// ErrChecksFailed is returned by Run when the flow completed but a check
// did not hold.
var ErrChecksFailed = errors.New("demo checks failed")

// Run stages a throwaway hush, runs the agent against it and narrates
// every step on out. It cleans up (daemon stopped, directory removed)
// before returning.
func Run(ctx context.Context, out io.Writer, opts Options) (err error) {
	if opts.Hush == "" {
		if opts.Hush, err = os.Executable(); err != nil {
			return fmt.Errorf("finding the hush binary: %w", err)
		}
	}
	if opts.TreeRoot == 0 {
		opts.TreeRoot = os.Getpid()
	}
	if opts.AgentDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		if opts.AgentDir, err = FindAgentDir(wd); err != nil {
			return err
		}
	} else if !isAgentDir(opts.AgentDir) {
		return fmt.Errorf("%s is not the %s package (the repository's e2e/ folder)", opts.AgentDir, AgentPackage)
	}
	node, npm, err := LookNode(ctx)
	if err != nil {
		return err
	}

	n := &narrator{w: out}
	n.title("hush demo: an AI agent uses a secret without ever seeing it")

	n.step("Installing the agent's MCP client (the official TypeScript SDK, pinned by e2e/package-lock.json)")
	var npmOut bytes.Buffer
	if err := EnsureAgentDeps(ctx, opts.AgentDir, npm, &npmOut); err != nil {
		n.indent(npmOut.String())
		return err
	}
	n.ok("ready in " + filepath.Join(opts.AgentDir, "node_modules"))

	n.step("Starting a throwaway hush: file vault without passphrase, daemon in the foreground")
	st, err := NewStage(ctx, opts.Hush, opts.TreeRoot)
	if err != nil {
		return err
	}
	defer func() {
		n.step("Cleaning up")
		if cerr := st.Close(); cerr != nil {
			err = errors.Join(err, cerr)
			n.line("cleanup: " + cerr.Error())
			return
		}
		n.ok("daemon stopped, " + st.Dir + " removed")
	}()
	n.cmd("export HUSH_HOME=" + st.Home)
	n.cmd("hush init --no-passphrase")
	n.cmd(fmt.Sprintf("hush daemon "+TreeRootFlag+" %d &    # pid %d, log in %s", opts.TreeRoot, st.DaemonPID, st.DaemonLog))
	n.line(fmt.Sprintf("(%s, a hidden flag for tests and this demo, makes the daemon ignore pid %d and its ancestors: whoever ran `make demo`, maybe a coding agent, must not decide who the demo's agent is. You never need it.)", TreeRootFlag, opts.TreeRoot))

	value := NewValue()
	defer clear(value)
	n.step("A person stores a demo API key (from stdin, never from argv)")
	if err := st.Set(ctx, DemoSecret, value); err != nil {
		return err
	}
	n.cmd("hush set " + DemoSecret + " < key.txt    # a fresh random fake key; this demo never prints it")

	checker, err := StartChecker(value)
	if err != nil {
		return fmt.Errorf("starting the local HTTP endpoint: %w", err)
	}
	defer checker.Close()
	n.step("A local HTTP endpoint accepts only that key, as a bearer token")
	n.line(checker.URL)

	n.step("An agent (node running as `" + AgentName + "`) adds `hush mcp` as its MCP server and asks for the key")
	n.line("Everything the agent saw, message by message, then the shell commands it ran:")
	// If a bug ever leaked the value, the demo must not print it again;
	// the checks below report it.
	redact := func(b []byte) string {
		return string(bytes.ReplaceAll(b, value, []byte("[THE SECRET VALUE LEAKED HERE]")))
	}
	run, err := st.RunAgent(ctx, Agent{Dir: opts.AgentDir, Node: node}, DemoSecret, checker.URL)
	if run != nil {
		n.indent(redact(run.Stdout))
	}
	if err != nil {
		return err
	}
	if run.Err != nil {
		n.indent(redact(run.Stderr))
		return fmt.Errorf("the agent failed: %w", run.Err)
	}

	daemonLog, _ := os.ReadFile(st.DaemonLog)
	if verdict := delivered(daemonLog); verdict != "" {
		n.step("Who the daemon thought was asking, from its log")
		n.line(redact([]byte(verdict)))
	}

	n.step("Checks")
	failed := false
	check := func(ok bool, what string) {
		failed = failed || !ok
		if ok {
			n.ok(what)
		} else {
			n.bad(what)
		}
	}
	shells := run.Shells()
	check(checker.Accepted() == 1 && len(shells) > 0 && strings.TrimSpace(shells[0].Stdout) == "200",
		"the agent's command reached the endpoint with the key (HTTP 200): the value got into the process")
	line, hasLine := run.SourceLine()
	check(hasLine, "hush_get answered with a line the agent can run: "+line)
	check(!bytes.Contains(run.Transcript, value) && !bytes.Contains(run.Stdout, value),
		fmt.Sprintf("the value appears nowhere in the transcript (%d JSON-RPC messages, %d shell commands and their output)",
			count(run.Events, "send")+count(run.Events, "recv"), len(shells)))
	check(!bytes.Contains(run.Stderr, value), "nor in the stderr of the agent or of `hush mcp`")
	check(!bytes.Contains(daemonLog, value), "nor in the daemon's log")
	check(count(run.Events, "transport-error") == 0, "every line `hush mcp` wrote to stdout was JSON-RPC")
	if _, path, err := handoff.ParseSourceLine(line); err == nil {
		left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "h-*"))
		check(len(left) == 0, "the handoff script deleted itself: no h-* file is left in "+filepath.Dir(path))
	} else {
		check(false, "the handoff script deleted itself: "+err.Error())
	}
	check(len(shells) > 1 && shells[1].Exit != 0 && strings.TrimSpace(shells[1].Stderr) != "",
		"sourcing the same line again, in a later shell, fails loudly")
	if failed {
		return ErrChecksFailed
	}
	return nil
}

// delivered returns the daemon's log line about the delivery, without its
// timestamp, or "".
func delivered(log []byte) string {
	for line := range strings.SplitSeq(string(log), "\n") {
		if _, rest, ok := strings.Cut(line, "msg=delivered "); ok {
			return rest
		}
	}
	return ""
}

func count(events []Event, kind string) int {
	n := 0
	for _, ev := range events {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

// narrator writes the demo's story. Write errors are ignored: the story
// is a courtesy, the return value of Run is the result.
type narrator struct {
	w     io.Writer
	steps int
}

func (n *narrator) title(s string) { fmt.Fprintf(n.w, "%s\n%s\n", s, strings.Repeat("=", len(s))) }

func (n *narrator) step(s string) {
	n.steps++
	fmt.Fprintf(n.w, "\n%d. %s\n", n.steps, s)
}

func (n *narrator) line(s string) { fmt.Fprintf(n.w, "   %s\n", s) }
func (n *narrator) cmd(s string)  { fmt.Fprintf(n.w, "   $ %s\n", s) }
func (n *narrator) ok(s string)   { fmt.Fprintf(n.w, "   ✓ %s\n", s) }
func (n *narrator) bad(s string)  { fmt.Fprintf(n.w, "   ✗ %s\n", s) }

func (n *narrator) indent(s string) {
	for l := range strings.SplitSeq(strings.TrimRight(s, "\n"), "\n") {
		fmt.Fprintf(n.w, "   │ %s\n", l)
	}
}
