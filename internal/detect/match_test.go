package detect

import (
	"testing"

	"github.com/hush-dev/hush/internal/proctree"
)

func TestNormalizeStripsWhatReleasesAppend(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Claude", "claude"},
		{"claude.exe", "claude"},
		{"claude-1.2.3", "claude"},
		{"claude@1.0.3", "claude"},
		{"claude (deleted)", "claude"},
		{"codex-x86_64-unknown-linux-musl", "codex"},
		{"codex-aarch64-apple-darwin", "codex"},
		{"opencode-linux-x64", "opencode"},
		{"opencode-linux-", "opencode"}, // comm cut at 15 bytes
		{"Cursor-1.5.11-x86_64.AppImage", "cursor"},
		{"gemini-v0.9.0", "gemini"},
		{"cursor-agent", "cursor-agent"},
		{"kiro-cli-chat", "kiro-cli-chat"},
		{"2.0.14", "2.0.14"},
		{"node", "node"},
		{"", ""},
	} {
		if got := normalize(tc.in); got != tc.want {
			t.Errorf("normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestScriptOfFindsWhatAnInterpreterRuns(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"node", "/usr/local/bin/amp"}, "/usr/local/bin/amp"},
		{[]string{"/usr/bin/node", "--max-old-space-size=4096", "cli.js", "x"}, "cli.js"},
		{[]string{"python3.12", "-m", "aider.main"}, "aider"},
		{[]string{"env", "A=1", "goose", "session"}, "goose"},
		{[]string{"bash", "--", "./amp"}, "./amp"},
		{[]string{"sh", "-c", "goose"}, ""},
		{[]string{"node", "-e", "1"}, ""},
		{[]string{"vim", "amp"}, ""},
		{[]string{"node"}, ""},
		{nil, ""},
	} {
		if got := scriptOf(tc.argv); got != tc.want {
			t.Errorf("scriptOf(%q) = %q, want %q", tc.argv, got, tc.want)
		}
	}
}

// pkgDir is an npm install of Claude Code; it need not exist.
const pkgDir = "/nonexistent/lib/node_modules/@anthropic-ai/claude-code"

func TestByNameMatchesWhatAProcessRunsAsNotWhatItMentions(t *testing.T) {
	m := newMatcher(builtinSignatures)
	for _, tc := range []struct {
		name     string
		p        proctree.Process
		agent    string
		evidence string
	}{
		{"comm decides first", proctree.Process{Comm: "claude", Exe: "/x/claude"}, "claude", "comm:claude"},
		{"a renamed exe still counts", proctree.Process{Comm: "sh", Exe: "/opt/codex-x86_64-unknown-linux-musl"}, "codex", "exe:codex"},
		{"a process title counts", proctree.Process{Comm: "node", Exe: "/usr/bin/node", Argv: []string{"claude"}}, "claude", "argv:claude"},
		{"a setproctitle-style title counts", proctree.Process{Comm: "node", Argv: []string{"claude --resume x"}}, "claude", "argv:claude"},
		{"a node script package path counts", proctree.Process{Comm: "node", Argv: []string{"node", "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js"}}, "claude", "argv:@anthropic-ai/claude-code"},
		{"a js entry point named like the agent counts", proctree.Process{Comm: "node", Argv: []string{"node", "/x/@openai/codex/bin/codex.js"}}, "codex", "argv:codex"},
		{"a versioned install path counts", proctree.Process{Comm: "2.0.14", Exe: "/home/u/.local/share/claude/versions/2.0.14"}, "claude", "exe:claude"},
		{"an interpreter's script named amp counts", proctree.Process{Comm: "node", Argv: []string{"node", "/usr/local/bin/amp"}}, "amp", "argv:amp"},
		{"goose the binary counts", proctree.Process{Comm: "goose", Argv: []string{"goose", "session"}}, "goose", "comm:goose"},
		{"an option value path counts", proctree.Process{Comm: "node", Argv: []string{"node", "--require=/l/@sourcegraph/amp/x.js", "y"}}, "amp", "argv:@sourcegraph/amp"},
		{"a distinctive name as an argument counts", proctree.Process{Comm: "gh", Argv: []string{"gh", "copilot", "suggest"}}, "copilot", "argv:copilot"},
		{"python -m aider counts", proctree.Process{Comm: "python3", Argv: []string{"python3", "-m", "aider"}}, "aider", "argv:aider"},

		{"mongoose is not goose", proctree.Process{Comm: "mongoose", Argv: []string{"mongoose"}}, "", ""},
		{"example is not amp", proctree.Process{Comm: "example", Argv: []string{"./example", "--amp"}}, "", ""},
		{"continue as an argument is not an agent", proctree.Process{Comm: "vim", Argv: []string{"vim", "continue"}}, "", ""},
		{"a commit message is not an agent", proctree.Process{Comm: "git", Argv: []string{"git", "commit", "-m", "amp"}}, "", ""},
		{"a directory named amp is not an agent", proctree.Process{Comm: "node", Argv: []string{"node", "/home/u/amp/server.js"}}, "", ""},
		{"goose migrations are not an agent", proctree.Process{Comm: "node", Argv: []string{"node", "/srv/goose-migrations/run.js"}}, "", ""},
		{"a home directory named after an agent is not an agent", proctree.Process{Comm: "node", Exe: "/usr/bin/node", Argv: []string{"node", "/home/kiro/app/server.js"}}, "", ""},
		{"an argument inside a directory named codex is not an agent", proctree.Process{Comm: "vim", Argv: []string{"vim", "/src/codex/notes.md"}}, "", ""},
		{"a versioned install path in argv[0] counts", proctree.Process{Comm: "2.0.14", Argv: []string{"/home/u/.local/share/claude/versions/2.0.14"}}, "claude", "argv:claude"},
		{"a script inside an agent's install directory counts", proctree.Process{Comm: "node", Argv: []string{"node", "/home/u/.local/share/cursor-agent/versions/2025.09.18/index.js"}}, "cursor", "argv:cursor-agent"},
		{"a plain node server is not an agent", proctree.Process{Comm: "node", Exe: "/usr/bin/node", Argv: []string{"node", "server.js"}}, "", ""},
		{"a plain bash is not an agent", proctree.Process{Comm: "bash", Exe: "/usr/bin/bash", Argv: []string{"-bash"}}, "", ""},
		{"claude-squad is another tool", proctree.Process{Comm: "claude-squad", Argv: []string{"claude-squad"}}, "", ""},

		{"a relative script in an agent's package directory counts", proctree.Process{Comm: "node", Cwd: pkgDir, Argv: []string{"node", "cli.js"}}, "claude", "script:@anthropic-ai/claude-code"},
		{"a relative script counts when the directory was deleted", proctree.Process{Comm: "node", Cwd: pkgDir + " (deleted)", Argv: []string{"node", "./cli.js"}}, "claude", "script:@anthropic-ai/claude-code"},
		{"a relative script with an unreadable working directory is not resolved", proctree.Process{Comm: "node", Argv: []string{"node", "cli.js"}}, "", ""},
		{"a relative script in a project named after an agent is not an agent", proctree.Process{Comm: "node", Cwd: "/srv/claude", Argv: []string{"node", "server.js"}}, "", ""},
		{"a plain argument is not resolved", proctree.Process{Comm: "vim", Cwd: pkgDir, Argv: []string{"vim", "cli.js"}}, "", ""},
		{"a python module is not a path", proctree.Process{Comm: "python3", Cwd: pkgDir, Argv: []string{"python3", "-m", "http.server"}}, "", ""},
		{"env's program is looked up in PATH, not the working directory", proctree.Process{Comm: "env", Cwd: pkgDir, Argv: []string{"env", "A=1", "cli.js"}}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			agent, evidence := m.byName(tc.p)
			if agent != tc.agent || evidence != tc.evidence {
				t.Errorf("byName = %q %q, want %q %q", agent, evidence, tc.agent, tc.evidence)
			}
		})
	}
}

func TestScriptFileIsOnlyAFileTheInterpreterOpens(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"node", "cli.js"}, "cli.js"},
		{[]string{"bash", "--", "./amp"}, "./amp"},
		{[]string{"python3", "-m", "aider"}, ""},
		{[]string{"env", "A=1", "goose"}, ""},
		{[]string{"env", "--", "goose"}, ""},
		{[]string{"node", "-e", "1"}, ""},
		{[]string{"vim", "cli.js"}, ""},
	} {
		if got := scriptFile(tc.argv); got != tc.want {
			t.Errorf("scriptFile(%q) = %q, want %q", tc.argv, got, tc.want)
		}
	}
}

func TestByEnvReportsTheMarkerNeverItsValue(t *testing.T) {
	m := newMatcher(builtinSignatures)
	for _, tc := range []struct {
		name     string
		env      []string
		agent    string
		evidence string
	}{
		{"a bare marker counts whatever its value", []string{"CLAUDECODE="}, "claude", "env:CLAUDECODE"},
		{"a valued marker needs its value", []string{"AGENT=amp"}, "amp", "env:AGENT=amp"},
		{"a specific agent beats the generic marker", []string{"AI_AGENT=crush", "CRUSH=1"}, "crush", "env:CRUSH"},
		{"an unknown AGENT value is the generic agent", []string{"AGENT=somebot"}, "agent", "env:AGENT"},
		{"a value that is not the marker's is no marker", []string{"CURSOR_EXTENSION_HOST_ROLE=user"}, "", ""},
		{"configuration variables are not markers", []string{"CLAUDE_CONFIG_DIR=/x", "OPENAI_API_KEY=sk-FAKE", "HOME=/h"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			agent, evidence := m.byEnv(tc.env)
			if agent != tc.agent || evidence != tc.evidence {
				t.Errorf("byEnv = %q %q, want %q %q", agent, evidence, tc.agent, tc.evidence)
			}
		})
	}
}

func TestUserSignaturesAreNormalisedAndNamed(t *testing.T) {
	m := newMatcher([]Signature{{Names: []string{" MyBot.EXE "}, EnvMarkers: []string{"", "=x", "MYBOT"}}})
	if agent, ev := m.byName(proctree.Process{Comm: "mybot"}); agent != "agent" || ev != "comm:mybot" {
		t.Errorf("byName = %q %q", agent, ev)
	}
	if agent, ev := m.byEnv([]string{"MYBOT=1"}); agent != "agent" || ev != "env:MYBOT" {
		t.Errorf("byEnv = %q %q", agent, ev)
	}
}
