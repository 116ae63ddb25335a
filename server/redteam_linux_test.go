package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/hush-dev/hush/internal/approve/approvetest"
	"github.com/hush-dev/hush/internal/proctree"
	"github.com/hush-dev/hush/internal/proctree/proctreetest"
)

// The test binary also plays a PR_SET_CHILD_SUBREAPER process (the role
// systemd --user or tini play): it runs the command in
// HUSH_REDTEAM_SUBREAPER as its child and reaps whatever is re-parented to
// it. The command comes through the environment so that the subreaper's
// own argv, like systemd's, names no agent.
func init() {
	if os.Getenv("HUSH_REDTEAM_SUBREAPER") == "" {
		return
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "subreaper:", err)
		os.Exit(2)
	}
	var argv []string
	if err := json.Unmarshal([]byte(os.Getenv("HUSH_REDTEAM_SUBREAPER")), &argv); err != nil || len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "subreaper: bad HUSH_REDTEAM_SUBREAPER")
		os.Exit(2)
	}
	child := exec.Command(argv[0], argv[1:]...)
	child.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "HUSH_REDTEAM_") })
	child.Stdin, child.Stdout, child.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := child.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "subreaper:", err)
		os.Exit(2)
	}
	for {
		var ws unix.WaitStatus
		if _, err := unix.Wait4(-1, &ws, 0, nil); err == unix.ECHILD {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// hushBinary builds the real hush command once per test run.
func hushBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	exe := filepath.Join(dir, "hush")
	cmd := exec.Command(goCommand(), "build", "-o", exe, "./cmd/hush")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/hush: %v\n%s", err, out)
	}
	return exe
}

// realDaemon is `hush daemon` as a user runs it, with a config.toml, its
// own HUSH_HOME and a clean environment, told that the test process is the
// top of every tree it classifies.
type realDaemon struct {
	hush, home string
	log        string
}

func startRealDaemon(t *testing.T, hush, config string) *realDaemon {
	t.Helper()
	d := &realDaemon{hush: hush, home: shortDir(t)}
	d.log = filepath.Join(d.home, "daemon.log")
	if err := os.WriteFile(filepath.Join(d.home, "config.toml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	d.run(t, "", "init", "--no-passphrase")
	logf, err := os.Create(d.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(hush, "daemon", "--test-tree-root", strconv.Itoa(os.Getpid()))
	cmd.Env = d.env()
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
	sock := filepath.Join(d.home, "run", "hush.sock")
	proctreetest.Eventually(t, "the daemon to answer on "+sock, func() bool {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return d
}

// env is the whole environment of every hush process the test runs.
func (d *realDaemon) env(extra ...string) []string {
	return append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + d.home, "HUSH_HOME=" + d.home, "HUSH_NO_AUTOSTART=1", "LANG=C.UTF-8"}, extra...)
}

// run runs hush with stdin and fails the test if it fails.
func (d *realDaemon) run(t *testing.T, stdin string, args ...string) {
	t.Helper()
	cmd := exec.Command(d.hush, args...)
	cmd.Env = d.env()
	cmd.Dir = "/"
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hush %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// verdict finds the daemon's record of the call that asked for name: the
// verdict, the agent and the deciding signal.
func (d *realDaemon) verdict(t *testing.T, name string) (verdict, agent, signal string) {
	t.Helper()
	b, err := os.ReadFile(d.log)
	if err != nil {
		t.Fatal(err)
	}
	field := func(line, key string) string {
		m := regexp.MustCompile(` ` + key + `=("(?:[^"\\]|\\.)*"|\S*)`).FindStringSubmatch(line)
		if m == nil {
			return ""
		}
		if v, err := strconv.Unquote(m[1]); err == nil {
			return v
		}
		return m[1]
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "names=["+name+"]") || strings.Contains(line, "target="+name+" ") {
			return field(line, "verdict"), field(line, "agent"), field(line, "signal")
		}
	}
	t.Fatalf("the daemon log has no call for %s:\n%s", name, b)
	return
}

// attemptTree is one process tree whose innermost caller runs `hush get`.
// The caller records its PID, then waits for the test's go-ahead, so that
// the re-parenting an attempt relies on has happened before hush asks.
type attemptTree struct {
	t         *testing.T
	d         *realDaemon
	dir, name string
	// callerStart is a shell command that starts the caller.
	callerStart string
}

func newAttemptTree(t *testing.T, d *realDaemon, name string) *attemptTree {
	dir := t.TempDir()
	tr := &attemptTree{t: t, d: d, dir: dir, name: name}
	sleep := proctreetest.Tool(t, "sleep", "coreutils")
	q := func(rel string) string { return proctreetest.Quote(filepath.Join(dir, rel)) }
	// Absolute paths and an explicit HUSH_HOME: the caller also runs under
	// env -i, as an agent trying to shed its markers would.
	script := fmt.Sprintf(`echo $$ > %[1]s.tmp && /bin/mv %[1]s.tmp %[1]s
while [ ! -e %[2]s ]; do %[3]s 0.01; done
HUSH_HOME=%[4]s HUSH_NO_AUTOSTART=1 %[5]s get %[6]s > %[7]s 2> %[8]s
echo $? > %[9]s.tmp && /bin/mv %[9]s.tmp %[9]s
`, q("pid"), q("go"), sleep, proctreetest.Quote(d.home), proctreetest.Quote(d.hush), proctreetest.Quote(name),
		q("stdout"), q("stderr"), q("done"))
	path := filepath.Join(dir, "caller.sh")
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	tr.callerStart = "/bin/sh " + proctreetest.Quote(path)
	return tr
}

// ask waits for the caller to start and for ready (when not nil) to hold
// for it; then it lets hush ask and returns hush's exit code, stdout and
// stderr.
func (tr *attemptTree) ask(ready func(t *testing.T, caller int)) (int, string, string) {
	tr.t.Helper()
	pid := proctreetest.WaitPIDFile(tr.t, filepath.Join(tr.dir, "pid"))
	if ready != nil {
		ready(tr.t, pid)
	}
	if err := os.WriteFile(filepath.Join(tr.dir, "go"), nil, 0o600); err != nil {
		tr.t.Fatal(err)
	}
	var rc int
	done := filepath.Join(tr.dir, "done")
	proctreetest.Eventually(tr.t, "hush get to finish in the tree", func() bool {
		b, err := os.ReadFile(done)
		if err != nil {
			return false
		}
		rc, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	out, _ := os.ReadFile(filepath.Join(tr.dir, "stdout"))
	errOut, _ := os.ReadFile(filepath.Join(tr.dir, "stderr"))
	return rc, string(out), string(errOut)
}

// orphanedFrom is ready once the caller has left from's subtree:
// re-parented to init or a subreaper.
func orphanedFrom(from int) func(*testing.T, int) {
	return func(t *testing.T, pid int) {
		t.Helper()
		proctreetest.Eventually(t, fmt.Sprintf("pid %d to leave pid %d's subtree", pid, from), func() bool {
			p, err := proctree.Read(pid)
			if err != nil || p.PPID == from {
				return false
			}
			up, err := proctree.Chain(p.PPID, 0)
			return err == nil && !slices.ContainsFunc(up, func(a proctree.Process) bool { return a.PID == from })
		})
	}
}

// adoptedBy is ready once reaper is the caller's parent.
func adoptedBy(reaper int) func(*testing.T, int) {
	return func(t *testing.T, pid int) {
		t.Helper()
		proctreetest.Eventually(t, fmt.Sprintf("pid %d to adopt pid %d", reaper, pid), func() bool {
			p, err := proctree.Read(pid)
			return err == nil && p.PPID == reaper
		})
	}
}

// install puts a copy of /bin/sh at rel: an agent binary by its name.
func (tr *attemptTree) install(rel string) string {
	tr.t.Helper()
	dst := filepath.Join(tr.dir, rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		tr.t.Fatal(err)
	}
	if out, err := exec.Command("cp", "/bin/sh", dst).CombinedOutput(); err != nil {
		tr.t.Fatalf("cp: %v: %s", err, out)
	}
	return dst
}

func (tr *attemptTree) write(rel, body string) string {
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

// start runs cmd in a session of its own, at a fresh pseudo-terminal or
// with none, with the clean environment unless cmd has one. It returns
// the terminal's master side (nil without one).
func (tr *attemptTree) start(cmd *exec.Cmd, terminal bool) *os.File {
	tr.t.Helper()
	if cmd.Env == nil {
		cmd.Env = proctreetest.CleanEnv(tr.dir)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var ptmx *os.File
	if terminal {
		var tty *os.File
		var err error
		ptmx, tty, err = pty.Open()
		if err != nil {
			tr.t.Fatal(err)
		}
		tr.t.Cleanup(func() { _ = ptmx.Close() })
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		cmd.SysProcAttr.Setctty = true
		defer tty.Close()
	}
	proctreetest.Start(tr.t, cmd)
	if ptmx != nil {
		go func() { _, _ = io.Copy(io.Discard, ptmx) }()
	}
	return ptmx
}

// node runs a node script, at a terminal or not.
func (tr *attemptTree) node(rel, js string, terminal bool) {
	tr.t.Helper()
	node := proctreetest.Tool(tr.t, "node", "nodejs")
	tr.start(exec.Command(node, tr.write(rel, js)), terminal)
}

// agent starts `prog -c script` without a terminal or, with terminal, at
// one, and returns its PID.
func (tr *attemptTree) agent(prog, script string, terminal bool) int {
	tr.t.Helper()
	cmd := exec.Command(prog, "-c", script)
	tr.start(cmd, terminal)
	return cmd.Process.Pid
}

// spawnCaller is node code that starts the caller and stays alive.
func (tr *attemptTree) spawnCaller() string {
	cmd, _ := json.Marshal(tr.callerStart)
	return "require('child_process').spawn('/bin/sh', ['-c', " + string(cmd) + "], {stdio: 'ignore'});\n" +
		"setInterval(() => {}, 1 << 30);\n"
}

func (tr *attemptTree) keepAlive() string {
	return proctreetest.Tool(tr.t, "sleep", "coreutils") + " 600 & wait"
}

// subreaper starts the test binary as a subreaper running argv at a
// terminal, and returns its PID.
func (tr *attemptTree) subreaper(argv ...string) int {
	tr.t.Helper()
	encoded, err := json.Marshal(argv)
	if err != nil {
		tr.t.Fatal(err)
	}
	cmd := exec.Command(testBinary(tr.t))
	cmd.Env = proctreetest.CleanEnv(tr.dir, "HUSH_REDTEAM_SUBREAPER="+string(encoded))
	tr.start(cmd, true)
	return cmd.Process.Pid
}

// attemptThroughDaemon is one tree that asks the real daemon for a secret.
type attemptThroughDaemon struct {
	name string
	// build starts the tree and says when its caller is ready to ask.
	build func(tr *attemptTree) func(*testing.T, int)
	// plaintext: the caller is a person and must get the value; otherwise
	// it must get a handoff line and never the value.
	plaintext bool
	kind      string // verdict: person, agent, unknown
	agent     string
	signal    string // the deciding evidence, without PIDs
}

// escape is `( setsid caller & ); exit 0` run by a renamed agent at a
// terminal: a double fork into a new session, and the agent exits. It
// waits for the caller to start: a session leader's exit hangs up its
// terminal's foreground group, which could otherwise kill the caller
// before it is in a session of its own.
func escape(tr *attemptTree) func(*testing.T, int) {
	setsid := proctreetest.Tool(tr.t, "setsid", "util-linux")
	sleep := proctreetest.Tool(tr.t, "sleep", "coreutils")
	started := "while [ ! -e " + proctreetest.Quote(filepath.Join(tr.dir, "pid")) + " ]; do " + sleep + " 0.01; done"
	return orphanedFrom(tr.agent(tr.install("bin/claude"), "( "+setsid+" "+tr.callerStart+" & ); "+started+"; exit 0", true))
}

var daemonAttempts = []attemptThroughDaemon{
	{
		name: "renamed agent binary (a copy of sh named claude)",
		build: func(tr *attemptTree) func(*testing.T, int) {
			tr.agent(tr.install("bin/claude"), tr.callerStart+"; "+tr.keepAlive(), false)
			return nil
		},
		kind: "agent", agent: "claude", signal: "comm:claude",
	},
	{
		name: "node-script agent: node …/node_modules/@anthropic-ai/claude-code/cli.js",
		build: func(tr *attemptTree) func(*testing.T, int) {
			tr.node("lib/node_modules/@anthropic-ai/claude-code/cli.js", tr.spawnCaller(), false)
			return nil
		},
		kind: "agent", agent: "claude", signal: "argv:@anthropic-ai/claude-code",
	},
	{
		name: "process.title = 'claude' in node, comm put back to node",
		build: func(tr *attemptTree) func(*testing.T, int) {
			tr.node("agent.js", "process.title = 'claude';\nrequire('fs').writeFileSync('/proc/self/comm', 'node');\n"+tr.spawnCaller(), false)
			return nil
		},
		kind: "agent", agent: "claude", signal: "argv:claude",
	},
	{
		name: "env -i inside an agent",
		build: func(tr *attemptTree) func(*testing.T, int) {
			env := proctreetest.Tool(tr.t, "env", "coreutils")
			tr.agent(tr.install("bin/claude"), env+" -i "+tr.callerStart+"; "+tr.keepAlive(), false)
			return nil
		},
		kind: "agent", agent: "claude", signal: "comm:claude",
	},
	{
		name: "( (hush get X) & ) from an agent that keeps running: re-parented, same terminal session",
		build: func(tr *attemptTree) func(*testing.T, int) {
			return orphanedFrom(tr.agent(tr.install("bin/claude"), "( "+tr.callerStart+" & ); "+tr.keepAlive(), true))
		},
		kind: "agent", agent: "claude", signal: "session:claude",
	},
	{
		name: "nohup … & and its parent shell exits; the agent keeps running",
		build: func(tr *attemptTree) func(*testing.T, int) {
			nohup := proctreetest.Tool(tr.t, "nohup", "coreutils")
			inner := nohup + " " + tr.callerStart + " >/dev/null 2>&1 &"
			return orphanedFrom(tr.agent(tr.install("bin/claude"), "/bin/sh -c "+proctreetest.Quote(inner)+"; "+tr.keepAlive(), true))
		},
		kind: "agent", agent: "claude", signal: "session:claude",
	},
	{
		name: "a PR_SET_CHILD_SUBREAPER process adopts the agent's orphan",
		build: func(tr *attemptTree) func(*testing.T, int) {
			return adoptedBy(tr.subreaper(tr.install("bin/claude"), "-c", "/bin/sh -c "+proctreetest.Quote(tr.callerStart+" &")+"; "+tr.keepAlive()))
		},
		kind: "agent", agent: "claude", signal: "session:claude",
	},
	{
		name:  "double fork + setsid, and the agent exits: no terminal, no agent left",
		build: escape,
		kind:  "unknown", signal: "no terminal, no agent signal",
	},
	{
		name: "a person: plain node server.js at a terminal",
		build: func(tr *attemptTree) func(*testing.T, int) {
			tr.node("server.js", tr.spawnCaller(), true)
			return nil
		},
		plaintext: true, kind: "person", signal: "tty",
	},
	{
		name: "a person: interactive bash at a terminal",
		build: func(tr *attemptTree) func(*testing.T, int) {
			bash := proctreetest.Tool(tr.t, "bash", "bash")
			ptmx := tr.start(exec.Command(bash, "--norc", "--noprofile", "-i"), true)
			// The person types the command.
			if _, err := io.WriteString(ptmx, tr.callerStart+"\n"); err != nil {
				tr.t.Fatal(err)
			}
			return nil
		},
		plaintext: true, kind: "person", signal: "tty",
	},
}

// TestThroughARealDaemon runs the built hush binary: `hush daemon` with a
// config.toml, and `hush get` from real process trees.
func TestThroughARealDaemon(t *testing.T) {
	hush := hushBinary(t)

	t.Run("red team attempts", func(t *testing.T) {
		d := startRealDaemon(t, hush, "")
		var (
			mu   sync.Mutex
			rows = map[string]string{}
		)
		t.Run("attempt", func(t *testing.T) {
			for i, a := range daemonAttempts {
				name := fmt.Sprintf("redteam/A%02d/API_KEY", i)
				value := fmt.Sprintf("sk_test_FAKE_redteam_%02d_value", i)
				d.run(t, value, "set", name)
				t.Run(a.name, func(t *testing.T) {
					t.Parallel()
					tr := newAttemptTree(t, d, name)
					rc, out, errOut := tr.ask(a.build(tr))
					verdict, agent, signal := d.verdict(t, name)
					signal, _, _ = strings.Cut(signal, " (")
					if verdict != a.kind || agent != a.agent || signal != a.signal {
						t.Errorf("verdict %s %q by %q, want %s %q by %q", verdict, agent, signal, a.kind, a.agent, a.signal)
					}
					switch {
					case rc != 0:
						t.Errorf("hush get exited %d: %s", rc, errOut)
					case a.plaintext && out != value:
						t.Errorf("a person got %q, want the value", out)
					case !a.plaintext && !regexp.MustCompile(`^(source|\.) '[^']+'\n$`).MatchString(out):
						t.Errorf("hush get printed %q, want only a source line", out)
					}
					if !a.plaintext && (strings.Contains(out, value) || strings.Contains(errOut, value)) {
						t.Errorf("PLAINTEXT LEAKED to a %s caller", verdict)
					}
					shown := verdict
					if agent != "" {
						shown += " (" + agent + ")"
					}
					got := "a handoff line"
					if a.plaintext {
						got = "the value"
					}
					mu.Lock()
					rows[a.name] = fmt.Sprintf("| %s | %s | `%s` | %s |", a.name, shown, signal, got)
					mu.Unlock()
				})
			}
		})
		for i := range daemonAttempts {
			assertFileLacks(t, d.log, fmt.Sprintf("sk_test_FAKE_redteam_%02d_value", i))
		}
		if path := os.Getenv("HUSH_REDTEAM_TABLE"); path != "" && !t.Failed() {
			lines := []string{"| attempt | verdict | deciding signal | `hush get` yields |", "|---|---|---|---|"}
			for _, a := range daemonAttempts {
				lines = append(lines, rows[a.name])
			}
			if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("config reaches the daemon: the unknown switch, rules, user signatures, approval", func(t *testing.T) {
		fake := approvetest.Pinentry(t, t.TempDir(), approvetest.OK)
		d := startRealDaemon(t, hush, `
[policy]
unknown = "person"

[[policy.rule]]
prefix = "ci/prod"
agent = "deny"
unknown = "deny"

[[policy.rule]]
prefix = "ci/confirm"
agent = "confirm"

[approval]
pinentry = "`+fake.Path+`"

[[detect.agent]]
name = "mybot"
programs = ["mybot"]
`)
		d.run(t, "sk_test_FAKE_ci_token", "set", "ci/TOKEN")
		// A rule that denies a caller covers changes too: the secret is
		// not stored, and the get below is refused by the rule before any
		// lookup.
		set := exec.Command(d.hush, "set", "ci/prod/TOKEN")
		set.Env, set.Dir, set.Stdin = d.env(), "/", strings.NewReader("sk_test_FAKE_ci_prod")
		set.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if out, err := set.CombinedOutput(); err == nil || !strings.Contains(string(out), `denied by policy rule "ci/prod"`) {
			t.Fatalf("set under a denying rule: err %v, output %s", err, out)
		}
		d.run(t, "sk_test_FAKE_ci_confirm", "set", "ci/confirm/TOKEN")

		for _, tc := range []struct {
			name, secret string
			build        func(tr *attemptTree) func(*testing.T, int)
			rc           int
			out, errHas  string
		}{
			{
				"a setsid escape with unknown = person gets the value (the CI trade-off)", "ci/TOKEN",
				escape, 0, "sk_test_FAKE_ci_token", "",
			},
			{
				"an agent is still an agent with unknown = person", "ci/TOKEN",
				func(tr *attemptTree) func(*testing.T, int) {
					tr.agent(tr.install("bin/claude"), tr.callerStart+"; "+tr.keepAlive(), false)
					return nil
				},
				0, ". '", "",
			},
			{
				"a rule's own unknown = deny holds under the switch", "ci/prod/TOKEN",
				func(tr *attemptTree) func(*testing.T, int) {
					tr.agent("/bin/sh", tr.callerStart, false)
					return nil
				},
				7, "", `hush: denied by policy rule "ci/prod" (unknown = deny)`,
			},
			{
				"a user signature from [detect] names the agent a rule denies", "ci/prod/TOKEN",
				func(tr *attemptTree) func(*testing.T, int) {
					tr.agent(tr.install("bin/mybot"), tr.callerStart+"; "+tr.keepAlive(), false)
					return nil
				},
				7, "", `hush: denied by policy rule "ci/prod" (agent = deny)`,
			},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tr := newAttemptTree(t, d, tc.secret)
				rc, out, errOut := tr.ask(tc.build(tr))
				if rc != tc.rc || !strings.HasPrefix(out, tc.out) || !strings.Contains(errOut, tc.errHas) {
					t.Errorf("hush get: exit %d, stdout %q, stderr %q; want exit %d, stdout %q…, stderr with %q", rc, out, errOut, tc.rc, tc.out, tc.errHas)
				}
			})
		}
		t.Run("confirm asks the configured pinentry once per agent session", func(t *testing.T) {
			first, second := newAttemptTree(t, d, "ci/confirm/TOKEN"), newAttemptTree(t, d, "ci/confirm/TOKEN")
			first.agent(first.install("bin/claude"), first.callerStart+"; "+second.callerStart+"; "+first.keepAlive(), false)
			for _, tr := range []*attemptTree{first, second} {
				if rc, out, errOut := tr.ask(nil); rc != 0 || !strings.HasPrefix(out, ". '") {
					t.Errorf("hush get: exit %d, stdout %q, stderr %q", rc, out, errOut)
				}
			}
			if n := fake.Asked(t); n != 1 {
				t.Errorf("the pinentry was asked %d times, want once for the one agent session", n)
			}
		})
		assertFileLacks(t, d.log, "sk_test_FAKE_ci_token", "sk_test_FAKE_ci_prod", "sk_test_FAKE_ci_confirm")
	})
}

func assertFileLacks(t *testing.T, path string, values ...string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if strings.Contains(string(b), v) {
			t.Errorf("%s holds a secret value", filepath.Base(path))
		}
	}
}
