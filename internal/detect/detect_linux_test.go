package detect_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/proctree"
	"github.com/hush-dev/hush/internal/proctree/proctreetest"
)

// TestMain lets the test binary act as a PR_SET_CHILD_SUBREAPER process,
// the role systemd --user or tini play on real machines: it becomes a
// subreaper, runs its arguments as a child and reaps whatever is re-parented
// to it until it is killed.
func TestMain(m *testing.M) {
	if os.Getenv("HUSH_DETECT_HELPER") != "subreaper" {
		os.Exit(m.Run())
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "subreaper:", err)
		os.Exit(2)
	}
	// The command comes through the environment so that the subreaper's own
	// argv, like systemd's, does not name the agent it runs.
	var argv []string
	if err := json.Unmarshal([]byte(os.Getenv("HUSH_DETECT_ARGV")), &argv); err != nil || len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "subreaper: bad HUSH_DETECT_ARGV")
		os.Exit(2)
	}
	child := exec.Command(argv[0], argv[1:]...)
	child.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "HUSH_DETECT_") })
	child.Stdin, child.Stdout, child.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := child.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "subreaper:", err)
		os.Exit(2)
	}
	for {
		var ws unix.WaitStatus
		if _, err := unix.Wait4(-1, &ws, 0, nil); errors.Is(err, unix.ECHILD) {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// tree builds one process tree for one attempt, in its own session so that
// attempts never see each other's agents.
type tree struct {
	t      *testing.T
	dir    string
	caller proctreetest.Caller
}

func newTree(t *testing.T) *tree {
	dir := t.TempDir()
	return &tree{t: t, dir: dir, caller: proctreetest.NewCaller(t, dir)}
}

func (tr *tree) env(extra ...string) []string { return proctreetest.CleanEnv(tr.dir, extra...) }

// install puts a program at rel under the tree's directory: a copy of
// /bin/sh (so the exe link carries the name) or a symlink to it (so only
// comm and argv[0] do).
func (tr *tree) install(rel string, copyIt bool) string {
	tr.t.Helper()
	dst := filepath.Join(tr.dir, rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		tr.t.Fatal(err)
	}
	if !copyIt {
		if err := os.Symlink("/bin/sh", dst); err != nil {
			tr.t.Fatal(err)
		}
		return dst
	}
	// cp, not a write from this process: a parallel test forking while we
	// held the file open for writing would make exec fail with ETXTBSY.
	cp := exec.Command(proctreetest.Tool(tr.t, "cp", "coreutils"), "/bin/sh", dst)
	if out, err := cp.CombinedOutput(); err != nil {
		tr.t.Fatalf("cp: %v: %s", err, out)
	}
	return dst
}

// write creates a file under the tree's directory.
func (tr *tree) write(rel, body string) string {
	tr.t.Helper()
	dst := filepath.Join(tr.dir, rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.WriteFile(dst, []byte(body), 0o700); err != nil {
		tr.t.Fatal(err)
	}
	return dst
}

// start runs cmd in a new session: with a pseudo-terminal as its
// controlling terminal (a person's or an agent's terminal), or with none
// (a service, a headless agent).
func (tr *tree) start(cmd *exec.Cmd, terminal bool) *exec.Cmd {
	tr.t.Helper()
	if cmd.Env == nil {
		cmd.Env = tr.env()
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if terminal {
		ptmx, tty, err := pty.Open()
		if err != nil {
			tr.t.Fatal(err)
		}
		tr.t.Cleanup(func() { _ = ptmx.Close() })
		go func() { _, _ = io.Copy(io.Discard, ptmx) }()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		cmd.SysProcAttr.Setctty = true
		defer tty.Close()
	}
	proctreetest.Start(tr.t, cmd)
	return cmd
}

// below starts `prog -c '<before> caller & wait'` without a terminal: prog
// plays the agent and stays alive above the caller, whose PID it returns.
func (tr *tree) below(prog, before string) int {
	tr.t.Helper()
	tr.start(sh(prog, before+tr.caller.Command+" & wait"), false)
	return tr.caller.Wait(tr.t)
}

// sh returns `prog -c script`, with argv[0] set to prog.
func sh(prog, script string, args ...string) *exec.Cmd {
	return exec.Command(prog, append([]string{"-c", script}, args...)...)
}

// node starts a node script at a path under the tree's directory.
func (tr *tree) node(rel, js string, terminal bool) *exec.Cmd {
	tr.t.Helper()
	node := proctreetest.Tool(tr.t, "node", "nodejs")
	return tr.start(exec.Command(node, tr.write(rel, js)), terminal)
}

// nodeIn starts node in a directory under the tree's directory, with script
// as its only argument, given as written: relative paths stay relative.
func (tr *tree) nodeIn(dir, script string, terminal bool) *exec.Cmd {
	tr.t.Helper()
	cmd := exec.Command(proctreetest.Tool(tr.t, "node", "nodejs"), script)
	cmd.Dir = filepath.Join(tr.dir, dir)
	if err := os.MkdirAll(cmd.Dir, 0o700); err != nil {
		tr.t.Fatal(err)
	}
	return tr.start(cmd, terminal)
}

// claudeCodeFrom builds an npm install of Claude Code whose cli.js starts
// the caller, run as `node script` from dir.
func claudeCodeFrom(dir, script string) func(tr *tree) int {
	return func(tr *tree) int {
		tr.write(claudeCode+"/cli.js", tr.spawnCaller())
		tr.nodeIn(dir, script, false)
		return tr.caller.Wait(tr.t)
	}
}

// link makes a symlink at rel under the tree's directory pointing at target.
func (tr *tree) link(rel, target string) string {
	tr.t.Helper()
	dst := filepath.Join(tr.dir, rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Symlink(target, dst); err != nil {
		tr.t.Fatal(err)
	}
	return dst
}

// spawnCaller is node code that starts the caller and stays alive.
func (tr *tree) spawnCaller() string {
	cmd, _ := json.Marshal(tr.caller.Command)
	return "require('child_process').spawn('/bin/sh', ['-c', " + string(cmd) + "], {stdio: 'ignore'});\n" +
		"setInterval(() => {}, 1 << 30);\n"
}

// awaitCaller is shell code that returns once the caller has started, so
// that an agent can exit without racing its own child.
func (tr *tree) awaitCaller() string {
	sleep := proctreetest.Tool(tr.t, "sleep", "coreutils")
	return "while [ ! -e " + proctreetest.Quote(filepath.Join(tr.dir, "caller.pid")) + " ]; do " + sleep + " 0.01; done"
}

// keepAlive is shell code that keeps a shell running without exec'ing
// away from its own name.
func (tr *tree) keepAlive() string {
	return proctreetest.Tool(tr.t, "sleep", "coreutils") + " 600 & wait"
}

// orphaned waits until pid's parent is neither from nor one of from's
// descendants: the caller has been re-parented away from the agent.
func (tr *tree) orphaned(pid, from int) {
	tr.t.Helper()
	proctreetest.Eventually(tr.t, fmt.Sprintf("pid %d to leave pid %d's subtree", pid, from), func() bool {
		p, err := proctree.Read(pid)
		if err != nil || p.PPID == from {
			return false
		}
		up, err := proctree.Chain(p.PPID, 0)
		return err == nil && !slices.ContainsFunc(up, func(a proctree.Process) bool { return a.PID == from })
	})
}

// subreaper starts the test binary as a subreaper running argv, at a
// terminal, and returns it.
func (tr *tree) subreaper(argv ...string) *exec.Cmd {
	tr.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		tr.t.Fatal(err)
	}
	encoded, err := json.Marshal(argv)
	if err != nil {
		tr.t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = tr.env("HUSH_DETECT_HELPER=subreaper", "HUSH_DETECT_ARGV="+string(encoded))
	return tr.start(cmd, true)
}

func classify(t *testing.T, pid int, opts ...detect.Option) (detect.Verdict, []proctree.Process) {
	t.Helper()
	// The test's own ancestry may hold a real agent (the developer's): it
	// must never decide.
	d := detect.New(append([]detect.Option{detect.WithRoot(os.Getpid())}, opts...)...)
	v, chain, err := d.Classify(context.Background(), pid)
	if err != nil {
		t.Fatalf("Classify(%d): %v", pid, err)
	}
	return v, chain
}

// evidence drops the PIDs from a signal: "comm:claude (pid 12)" -> "comm:claude".
func evidence(signal string) string {
	e, _, _ := strings.Cut(signal, " (")
	return e
}

type attempt struct {
	name string
	// build starts the tree and returns the PID that asks.
	build  func(tr *tree) int
	kind   detect.Kind
	agent  string
	signal string // the evidence, without PIDs
}

// claudeCode is where npm installs Claude Code, under a prefix.
const claudeCode = "lib/node_modules/@anthropic-ai/claude-code"

var attempts = []attempt{
	{
		name: "renamed agent binary (a copy of sh named claude)",
		build: func(tr *tree) int {
			return tr.below(tr.install("bin/claude", true), "")
		},
		kind: detect.Agent, agent: "claude", signal: "comm:claude",
	},
	{
		name: "agent started through a symlink named codex",
		build: func(tr *tree) int {
			return tr.below(tr.install("bin/codex", false), "")
		},
		kind: detect.Agent, agent: "codex", signal: "comm:codex",
	},
	{
		name: "agent binary that hides its comm and argv[0]; only the exe link tells",
		build: func(tr *tree) int {
			cmd := sh(tr.install("bin/claude", true), "printf dash > /proc/$$/comm; "+tr.caller.Command+" & wait")
			cmd.Args[0] = "sh"
			tr.start(cmd, false)
			return tr.caller.Wait(tr.t)
		},
		kind: detect.Agent, agent: "claude", signal: "exe:claude",
	},
	{
		name: "D1: node that set process.title = 'claude' and put comm back to node",
		build: func(tr *tree) int {
			tr.node("agent.js", "process.title = 'claude';\n"+
				"require('fs').writeFileSync('/proc/self/comm', 'node');\n"+tr.spawnCaller(), false)
			return tr.caller.Wait(tr.t)
		},
		kind: detect.Agent, agent: "claude", signal: "argv:claude",
	},
	{
		name: "D1 reverse: a shell that renamed its comm to claude, argv unchanged",
		build: func(tr *tree) int {
			return tr.below("/bin/sh", "printf claude > /proc/$$/comm; ")
		},
		kind: detect.Agent, agent: "claude", signal: "comm:claude",
	},
	{
		name: "D2: node …/node_modules/@anthropic-ai/claude-code/cli.js",
		build: func(tr *tree) int {
			tr.node("lib/node_modules/@anthropic-ai/claude-code/cli.js", tr.spawnCaller(), false)
			return tr.caller.Wait(tr.t)
		},
		kind: detect.Agent, agent: "claude", signal: "argv:@anthropic-ai/claude-code",
	},
	{
		name:  "D2 relative: cd …/node_modules/@anthropic-ai/claude-code && node cli.js",
		build: claudeCodeFrom(claudeCode, "cli.js"),
		kind:  detect.Agent, agent: "claude", signal: "script:@anthropic-ai/claude-code",
	},
	{
		name:  "D2 relative: node ./cli.js in the package directory",
		build: claudeCodeFrom(claudeCode, "./cli.js"),
		kind:  detect.Agent, agent: "claude", signal: "script:@anthropic-ai/claude-code",
	},
	{
		name:  "D2 relative: node ../claude-code/cli.js from a sibling package",
		build: claudeCodeFrom("lib/node_modules/@anthropic-ai/sdk", "../claude-code/cli.js"),
		kind:  detect.Agent, agent: "claude", signal: "script:@anthropic-ai/claude-code",
	},
	{
		name: "D2 through a symlink: node ~/bin/helper.js, a link to …/claude-code/cli.js",
		build: func(tr *tree) int {
			cli := tr.write(claudeCode+"/cli.js", tr.spawnCaller())
			tr.nodeIn(".", tr.link("bin/helper.js", cli), false)
			return tr.caller.Wait(tr.t)
		},
		kind: detect.Agent, agent: "claude", signal: "script:@anthropic-ai/claude-code",
	},
	{
		name: "D2 through a relative symlink to a script named codex.js: cd ~/bin && node helper.js",
		build: func(tr *tree) int {
			tr.write("lib/node_modules/@openai/codex/bin/codex.js", tr.spawnCaller())
			tr.link("bin/helper.js", "../lib/node_modules/@openai/codex/bin/codex.js")
			tr.nodeIn("bin", "helper.js", false)
			return tr.caller.Wait(tr.t)
		},
		kind: detect.Agent, agent: "codex", signal: "script:codex",
	},
	{
		name: "D2: native install at ~/.local/share/claude/versions/1.2.3/claude",
		build: func(tr *tree) int {
			return tr.below(tr.install(".local/share/claude/versions/1.2.3/claude", true), "")
		},
		kind: detect.Agent, agent: "claude", signal: "comm:claude",
	},
	{
		name: "native binary named only by its version, ~/.local/share/claude/versions/2.0.14",
		build: func(tr *tree) int {
			return tr.below(tr.install(".local/share/claude/versions/2.0.14", true), "")
		},
		kind: detect.Agent, agent: "claude", signal: "exe:claude",
	},
	{
		name: "node wrapper that spawns a native codex-x86_64-unknown-linux-musl",
		build: func(tr *tree) int {
			native := tr.install("vendor/codex-x86_64-unknown-linux-musl", true)
			script, _ := json.Marshal(tr.caller.Command + " & wait")
			tr.node("wrapper.js", "require('child_process').spawn("+fmt.Sprintf("%q", native)+", ['-c', "+string(script)+"], {stdio: 'ignore'});\n"+
				"setInterval(() => {}, 1 << 30);\n", false)
			return tr.caller.Wait(tr.t)
		},
		kind: detect.Agent, agent: "codex", signal: "exe:codex",
	},
	{
		name: "node running a script named amp (an ordinary word, in program position)",
		build: func(tr *tree) int {
			tr.node("bin/amp", tr.spawnCaller(), false)
			return tr.caller.Wait(tr.t)
		},
		kind: detect.Agent, agent: "amp", signal: "argv:amp",
	},
	{
		name: "env -i inside an agent (the name in the ancestry still counts)",
		build: func(tr *tree) int {
			return tr.below(tr.install("bin/claude", true), proctreetest.Tool(tr.t, "env", "coreutils")+" -i ")
		},
		kind: detect.Agent, agent: "claude", signal: "comm:claude",
	},
	{
		name: "env -i below a shell that holds CLAUDECODE (an ancestor's environment counts)",
		build: func(tr *tree) int {
			env := proctreetest.Tool(tr.t, "env", "coreutils")
			cmd := sh("/bin/sh", env+" -i "+tr.caller.Command+" & wait")
			cmd.Env = tr.env("CLAUDECODE=1")
			tr.start(cmd, false)
			return tr.caller.Wait(tr.t)
		},
		kind: detect.Agent, agent: "claude", signal: "env:CLAUDECODE",
	},
	{
		name: "the caller's own environment holds GEMINI_CLI",
		build: func(tr *tree) int {
			cmd := sh("/bin/sh", tr.caller.Command)
			cmd.Env = tr.env("GEMINI_CLI=1")
			tr.start(cmd, false)
			return tr.caller.Wait(tr.t)
		},
		kind: detect.Agent, agent: "gemini", signal: "env:GEMINI_CLI",
	},
	{
		name: "( (x) & ) from an agent that keeps running: re-parented, same terminal session",
		build: func(tr *tree) int {
			agent := tr.start(sh(tr.install("bin/claude", true), "( "+tr.caller.Command+" & ); "+tr.keepAlive()), true)
			pid := tr.caller.Wait(tr.t)
			tr.orphaned(pid, agent.Process.Pid)
			return pid
		},
		kind: detect.Agent, agent: "claude", signal: "session:claude",
	},
	{
		name: "nohup … & and the parent shell exits, the agent keeps running",
		build: func(tr *tree) int {
			nohup := proctreetest.Tool(tr.t, "nohup", "coreutils")
			inner := nohup + " " + tr.caller.Command + " >/dev/null 2>&1 &"
			agent := tr.start(sh(tr.install("bin/claude", true), "/bin/sh -c "+proctreetest.Quote(inner)+"; "+tr.keepAlive()), true)
			pid := tr.caller.Wait(tr.t)
			tr.orphaned(pid, agent.Process.Pid)
			return pid
		},
		kind: detect.Agent, agent: "claude", signal: "session:claude",
	},
	{
		name: "a PR_SET_CHILD_SUBREAPER helper adopts the agent's orphan",
		build: func(tr *tree) int {
			agent := tr.install("bin/claude", true)
			reaper := tr.subreaper(agent, "-c", "/bin/sh -c "+proctreetest.Quote(tr.caller.Command+" &")+"; "+tr.keepAlive())
			pid := tr.caller.Wait(tr.t)
			proctreetest.Eventually(tr.t, "the subreaper to adopt the caller", func() bool {
				p, err := proctree.Read(pid)
				return err == nil && p.PPID == reaper.Process.Pid
			})
			return pid
		},
		kind: detect.Agent, agent: "claude", signal: "session:claude",
	},
	{
		name: "D3: setsid … & and the agent exits; the caller is re-parented to init",
		build: func(tr *tree) int {
			setsid := proctreetest.Tool(tr.t, "setsid", "util-linux")
			agent := tr.start(sh(tr.install("bin/claude", true), setsid+" "+tr.caller.Command+" & "+tr.awaitCaller()+"; exit 0"), true)
			if err := agent.Wait(); err != nil {
				tr.t.Fatalf("agent: %v", err)
			}
			pid := tr.caller.Wait(tr.t)
			tr.orphaned(pid, agent.Process.Pid)
			return pid
		},
		kind: detect.Unknown, signal: "no terminal, no agent signal",
	},
	{
		name: "D3 under a subreaper: setsid … & and the agent exits",
		build: func(tr *tree) int {
			setsid := proctreetest.Tool(tr.t, "setsid", "util-linux")
			reaper := tr.subreaper(tr.install("bin/claude", true), "-c", setsid+" "+tr.caller.Command+" & "+tr.awaitCaller()+"; exit 0")
			pid := tr.caller.Wait(tr.t)
			proctreetest.Eventually(tr.t, "the subreaper to adopt the caller", func() bool {
				p, err := proctree.Read(pid)
				return err == nil && p.PPID == reaper.Process.Pid
			})
			return pid
		},
		kind: detect.Unknown, signal: "no terminal, no agent signal",
	},
	{
		name: "a service with no terminal and no agent (cron, systemd)",
		build: func(tr *tree) int {
			tr.start(sh("/bin/sh", tr.caller.Command+"; true"), false)
			return tr.caller.Wait(tr.t)
		},
		kind: detect.Unknown, signal: "no terminal, no agent signal",
	},
	{
		name: "a person: interactive bash at a terminal",
		build: func(tr *tree) int {
			bash := proctreetest.Tool(tr.t, "bash", "bash")
			cmd := tr.start(exec.Command(bash, "--norc", "--noprofile", "-i"), true)
			return cmd.Process.Pid
		},
		kind: detect.Person, signal: "tty",
	},
	{
		name: "a person: a command run from a shell at a terminal",
		build: func(tr *tree) int {
			tr.start(sh("/bin/sh", tr.caller.Command+"; true"), true)
			return tr.caller.Wait(tr.t)
		},
		kind: detect.Person, signal: "tty",
	},
	{
		name: "a person: plain node server.js at a terminal",
		build: func(tr *tree) int {
			return tr.node("server.js", "setInterval(() => {}, 1 << 30);\n", true).Process.Pid
		},
		kind: detect.Person, signal: "tty",
	},
	{
		name: "a person: node server.js run from its project directory at a terminal",
		build: func(tr *tree) int {
			tr.write("src/app/server.js", "setInterval(() => {}, 1 << 30);\n")
			return tr.nodeIn("src/app", "server.js", true).Process.Pid
		},
		kind: detect.Person, signal: "tty",
	},
	{
		name: "a person: node server.js run from a project directory named claude at a terminal",
		build: func(tr *tree) int {
			tr.write("src/claude/server.js", "setInterval(() => {}, 1 << 30);\n")
			return tr.nodeIn("src/claude", "server.js", true).Process.Pid
		},
		kind: detect.Person, signal: "tty",
	},
	{
		name: "a person: vim ./cli.js at a terminal in an agent's package directory (a plain argument)",
		build: func(tr *tree) int {
			tr.write(claudeCode+"/cli.js", "")
			cmd := sh(tr.install("bin/vim", false), tr.caller.Command+"; true", "./cli.js")
			cmd.Dir = filepath.Join(tr.dir, claudeCode)
			tr.start(cmd, true)
			return tr.caller.Wait(tr.t)
		},
		kind: detect.Person, signal: "tty",
	},
	{
		name: "a person: a shell named mongoose given the words continue, goose, amp, crush",
		build: func(tr *tree) int {
			tr.start(sh(tr.install("bin/mongoose", false), tr.caller.Command+"; true", "continue", "goose", "amp", "crush"), true)
			return tr.caller.Wait(tr.t)
		},
		kind: detect.Person, signal: "tty",
	},
}

// TestRedTeamAttempts builds each attempt as a real process tree. With
// HUSH_DETECT_TABLE=path it also writes the attempt → verdict table there
// (docs/detection.md quotes it).
func TestRedTeamAttempts(t *testing.T) {
	var (
		mu   sync.Mutex
		rows = map[string]string{}
	)
	t.Run("attempts", func(t *testing.T) {
		for _, a := range attempts {
			t.Run(a.name, func(t *testing.T) {
				t.Parallel()
				tr := newTree(t)
				pid := a.build(tr)
				v, chain := classify(t, pid)
				if v.Kind != a.kind || v.Agent != a.agent || evidence(v.Signal) != a.signal {
					t.Errorf("verdict %s %q by %q, want %s %q by %q\nchain: %s",
						v.Kind, v.Agent, v.Signal, a.kind, a.agent, a.signal, describe(chain))
				}
				if !strings.Contains(v.Signal, "pid ") && v.Kind != detect.Unknown {
					t.Errorf("signal %q names no pid", v.Signal)
				}
				verdict := v.Kind.String()
				if v.Agent != "" {
					verdict += " (" + v.Agent + ")"
				}
				mu.Lock()
				rows[a.name] = fmt.Sprintf("| %s | %s | `%s` |", a.name, verdict, evidence(v.Signal))
				mu.Unlock()
			})
		}
	})
	if path := os.Getenv("HUSH_DETECT_TABLE"); path != "" && !t.Failed() {
		lines := []string{"| attempt | verdict | deciding signal |", "|---|---|---|"}
		for _, a := range attempts {
			lines = append(lines, rows[a.name])
		}
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func describe(chain []proctree.Process) string {
	var parts []string
	for _, p := range chain {
		parts = append(parts, fmt.Sprintf("%d %s %q sid %d tty %d", p.PID, p.Comm, p.Argv, p.SID, p.TTY))
	}
	return strings.Join(parts, " <- ")
}

func TestEveryBuiltinNameIsRecognised(t *testing.T) {
	for _, sig := range detect.BuiltinSignatures() {
		for _, name := range append(append([]string(nil), sig.Names...), sig.ProgramNames...) {
			t.Run(sig.Name+" runs as "+name, func(t *testing.T) {
				t.Parallel()
				tr := newTree(t)
				v, chain := classify(t, tr.below(tr.install("bin/"+name, false), ""))
				if v.Kind != detect.Agent || v.Agent != sig.Name || evidence(v.Signal) != "comm:"+name {
					t.Errorf("verdict %s %q by %q, want agent %q by comm:%s\nchain: %s", v.Kind, v.Agent, v.Signal, sig.Name, name, describe(chain))
				}
			})
		}
	}
}

func TestEveryBuiltinEnvironmentMarkerIsRecognised(t *testing.T) {
	for _, sig := range detect.BuiltinSignatures() {
		for _, marker := range sig.EnvMarkers {
			t.Run(sig.Name+" sets "+marker, func(t *testing.T) {
				t.Parallel()
				kv := marker
				if !strings.Contains(kv, "=") {
					kv += "=1"
				}
				tr := newTree(t)
				cmd := sh("/bin/sh", tr.caller.Command)
				cmd.Env = tr.env(kv)
				tr.start(cmd, false)
				v, _ := classify(t, tr.caller.Wait(t))
				if v.Kind != detect.Agent || v.Agent != sig.Name || evidence(v.Signal) != "env:"+marker {
					t.Errorf("verdict %s %q by %q, want agent %q by env:%s", v.Kind, v.Agent, v.Signal, sig.Name, marker)
				}
			})
		}
	}
}

func TestUserSignaturesAreRecognised(t *testing.T) {
	mine := detect.WithSignatures(detect.Signature{
		Name: "mybot", ProgramNames: []string{"mybot"}, EnvMarkers: []string{"MYBOT_SESSION"},
	})
	t.Run("by the name it runs as", func(t *testing.T) {
		tr := newTree(t)
		if v, _ := classify(t, tr.below(tr.install("bin/mybot", false), ""), mine); v.Kind != detect.Agent || v.Agent != "mybot" {
			t.Errorf("verdict %s %q by %q, want agent mybot", v.Kind, v.Agent, v.Signal)
		}
	})
	t.Run("by its environment marker", func(t *testing.T) {
		tr := newTree(t)
		cmd := sh("/bin/sh", tr.caller.Command)
		cmd.Env = tr.env("MYBOT_SESSION=x")
		tr.start(cmd, false)
		if v, _ := classify(t, tr.caller.Wait(t), mine); v.Kind != detect.Agent || v.Agent != "mybot" {
			t.Errorf("verdict %s %q by %q, want agent mybot", v.Kind, v.Agent, v.Signal)
		}
	})
}

func TestNothingAtOrAboveTheRootIsExamined(t *testing.T) {
	tr := newTree(t)
	// An agent by name, environment and session: but it is the root. The
	// caller does not inherit its marker.
	env := proctreetest.Tool(t, "env", "coreutils")
	cmd := sh(tr.install("bin/claude", true), env+" -i "+tr.caller.Command+" & wait")
	cmd.Env = tr.env("CLAUDECODE=1")
	agent := tr.start(cmd, false)
	pid := tr.caller.Wait(t)

	d := detect.New(detect.WithRoot(agent.Process.Pid))
	v, chain, err := d.Classify(context.Background(), pid)
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind != detect.Unknown {
		t.Errorf("verdict %s by %q, want unknown: the root was examined", v.Kind, v.Signal)
	}
	if len(chain) != 1 || chain[0].PID != pid {
		t.Errorf("chain = %s, want only the caller", describe(chain))
	}
}

func TestClassifyFailsClosed(t *testing.T) {
	gone := exec.Command("/bin/true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		pid  int
		is   error
	}{
		{"a caller that already exited", context.Background(), gone.Process.Pid, proctree.ErrVanished},
		{"an invalid PID", context.Background(), 0, nil},
		{"a canceled request", canceled, os.Getpid(), context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, _, err := detect.New(detect.WithRoot(os.Getpid())).Classify(tc.ctx, tc.pid)
			if err == nil {
				t.Fatalf("Classify = %+v, want an error", v)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Classify error %q, want %v", err, tc.is)
			}
			if v != (detect.Verdict{}) {
				t.Errorf("Classify returned verdict %+v alongside its error", v)
			}
		})
	}
}

func BenchmarkClassify(b *testing.B) {
	d := detect.New(detect.WithRoot(os.Getppid()))
	for b.Loop() {
		if _, _, err := d.Classify(context.Background(), os.Getpid()); err != nil {
			b.Fatal(err)
		}
	}
}
