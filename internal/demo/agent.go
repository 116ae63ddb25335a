package demo

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/hush-dev/hush/internal/handoff"
)

// AgentPackage is the name in the agent package's package.json, which is
// how FindAgentDir recognises it.
const AgentPackage = "hush-e2e"

// sdkPackage is the one direct dependency of the agent package.
const sdkPackage = "@modelcontextprotocol/sdk"

// MissingError names a program the agent needs and how to install it.
type MissingError struct {
	Program string
	Install string
}

func (e *MissingError) Error() string {
	return e.Program + ": " + e.Install
}

const installNode = "install Node.js 18 or later with npm (Debian/Ubuntu: apt-get install -y nodejs npm)"

// LookNode finds node (18 or later: the agent uses fetch) and npm.
func LookNode(ctx context.Context) (node, npm string, err error) {
	if node, err = exec.LookPath("node"); err != nil {
		return "", "", &MissingError{"node not found on PATH", installNode}
	}
	if npm, err = exec.LookPath("npm"); err != nil {
		return "", "", &MissingError{"npm not found on PATH", installNode}
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return "", "", fmt.Errorf("%s --version: %w", node, err)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	major, _, _ := strings.Cut(v, ".")
	if n, err := strconv.Atoi(major); err != nil || n < 18 {
		return "", "", &MissingError{"node " + v + " is too old", installNode}
	}
	return node, npm, nil
}

// FindAgentDir finds the agent package (the repository's e2e/ folder)
// from start upwards: start itself, or an e2e/ folder in start or one of
// its parents.
func FindAgentDir(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	for {
		for _, cand := range []string{dir, filepath.Join(dir, "e2e")} {
			if isAgentDir(cand) {
				return cand, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no %s package (the repository's e2e/ folder) in %s or above it; run from the hush repository or pass its e2e/ path", AgentPackage, start)
		}
		dir = parent
	}
}

func isAgentDir(dir string) bool {
	var pkg struct{ Name string }
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	return err == nil && json.Unmarshal(b, &pkg) == nil && pkg.Name == AgentPackage
}

// EnsureAgentDeps runs `npm ci` in dir unless node_modules already holds
// the SDK version package-lock.json pins. Concurrent callers (the e2e test
// and the demo's test run in parallel) wait for each other. npm's output
// goes to progress.
func EnsureAgentDeps(ctx context.Context, dir, npm string, progress io.Writer) error {
	if ok, err := depsInstalled(dir); err != nil || ok {
		return err
	}
	sum := sha256.Sum256([]byte(dir))
	lock := flock.New(filepath.Join(os.TempDir(), "hush-npm-ci-"+hex.EncodeToString(sum[:6])+".lock"))
	if _, err := lock.TryLockContext(ctx, 200*time.Millisecond); err != nil {
		return fmt.Errorf("waiting for another npm ci in %s: %w", dir, err)
	}
	defer lock.Unlock()
	if ok, err := depsInstalled(dir); err != nil || ok {
		return err
	}
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = progress, progress
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm ci in %s: %w", dir, err)
	}
	if ok, err := depsInstalled(dir); !ok {
		return fmt.Errorf("npm ci in %s left %s missing or at the wrong version (%v)", dir, sdkPackage, err)
	}
	return nil
}

func depsInstalled(dir string) (bool, error) {
	var lock struct {
		Packages map[string]struct{ Version string }
	}
	b, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return false, fmt.Errorf("the agent package has no lock file: %w", err)
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		return false, fmt.Errorf("%s: %w", filepath.Join(dir, "package-lock.json"), err)
	}
	want := lock.Packages["node_modules/"+sdkPackage].Version
	if want == "" {
		return false, fmt.Errorf("package-lock.json in %s does not pin %s", dir, sdkPackage)
	}
	var got struct{ Version string }
	b, err = os.ReadFile(filepath.Join(dir, "node_modules", sdkPackage, "package.json"))
	if err != nil || json.Unmarshal(b, &got) != nil {
		return false, nil
	}
	// npm writes its hidden lock file last, so its presence means the
	// install finished.
	_, err = os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	return got.Version == want && err == nil, nil
}

// Agent is the agent package and the node that runs it.
type Agent struct {
	Dir  string // the agent package (e2e/)
	Node string // the node binary
}

// AgentName is what the agent's process is called: the comm (and argv[0])
// of a Claude Code process.
const AgentName = "claude"

// Event is one line of the agent's transcript (see e2e/agent.mjs).
type Event struct {
	Kind    string          `json:"kind"` // send, recv, transport-error, shell, note
	Message json.RawMessage `json:"message,omitempty"`
	Error   string          `json:"error,omitempty"`
	Command string          `json:"command,omitempty"`
	Exit    int             `json:"exit"`
	Stdout  string          `json:"stdout,omitempty"`
	Stderr  string          `json:"stderr,omitempty"`
	Text    string          `json:"text,omitempty"`
}

// AgentRun is what one run of the agent left behind.
type AgentRun struct {
	Stdout     []byte // the readable transcript
	Stderr     []byte // the agent's and `hush mcp`'s stderr
	Transcript []byte // the transcript as JSON lines
	Events     []Event
	Err        error // the agent's exit status
}

// RunAgent runs the agent as `claude` against the stage: it starts `hush
// mcp`, lists the tools, calls hush_list and hush_get for account, and
// uses the variable against checkURL in a fresh bash, as an agent would.
func (s *Stage) RunAgent(ctx context.Context, a Agent, account, checkURL string) (*AgentRun, error) {
	bin := filepath.Join(s.Dir, "bin")
	if err := os.MkdirAll(bin, 0o700); err != nil {
		return nil, err
	}
	// A link, not a copy: the kernel names the process after the path it
	// executed, so comm and argv[0] are "claude" while the binary is node.
	link := filepath.Join(bin, AgentName)
	if err := os.Symlink(a.Node, link); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("linking %s to node: %w", AgentName, err)
	}
	transcript := filepath.Join(s.Dir, "transcript.jsonl")
	os.Remove(transcript)
	cmd := exec.CommandContext(ctx, link, filepath.Join(a.Dir, "agent.mjs"),
		"--hush", s.Hush,
		"--account", account,
		"--list-prefix", path.Dir(account),
		"--check-url", checkURL,
		"--transcript", transcript,
	)
	s.prepare(cmd)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	run := &AgentRun{Err: cmd.Run()}
	run.Stdout, run.Stderr = o.Bytes(), e.Bytes()
	b, err := os.ReadFile(transcript)
	if err != nil {
		return run, fmt.Errorf("the agent wrote no transcript (%v): %s", run.Err, firstLine(run.Stderr))
	}
	run.Transcript = b
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return run, fmt.Errorf("the agent's transcript has a line that is not JSON: %w", err)
		}
		run.Events = append(run.Events, ev)
	}
	return run, sc.Err()
}

// Shells returns the shell commands the agent ran, in order.
func (r *AgentRun) Shells() []Event {
	var out []Event
	for _, ev := range r.Events {
		if ev.Kind == "shell" {
			out = append(out, ev)
		}
	}
	return out
}

// ToolTexts returns the text of every tool result hush sent, in order.
func (r *AgentRun) ToolTexts() []string {
	var out []string
	for _, ev := range r.Events {
		if ev.Kind != "recv" {
			continue
		}
		var m struct {
			Result struct {
				Content []struct{ Type, Text string }
			}
		}
		if json.Unmarshal(ev.Message, &m) != nil {
			continue
		}
		for _, c := range m.Result.Content {
			if c.Type == "text" {
				out = append(out, c.Text)
			}
		}
	}
	return out
}

// SourceLine returns the first line hush sent that sources a handoff
// script (`source '…'` or `. '…'`).
func (r *AgentRun) SourceLine() (string, bool) {
	for _, t := range r.ToolTexts() {
		for line := range strings.SplitSeq(t, "\n") {
			if _, _, err := handoff.ParseSourceLine(line); err == nil {
				return line, true
			}
		}
	}
	return "", false
}
