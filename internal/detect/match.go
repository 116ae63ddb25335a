package detect

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/hush-dev/hush/internal/proctree"
)

// platformWords are the suffixes release builds append to a binary's name
// (codex-x86_64-unknown-linux-musl, opencode-linux-x64).
var platformWords = map[string]bool{
	"linux": true, "darwin": true, "macos": true, "mac": true, "osx": true,
	"windows": true, "win": true, "win32": true, "win64": true,
	"x64": true, "x86": true, "x86_64": true, "amd64": true, "arm64": true,
	"aarch64": true, "arm": true, "armv6l": true, "armv7": true, "armv7l": true,
	"i386": true, "i686": true, "musl": true, "gnu": true, "gnueabihf": true,
	"glibc": true, "unknown": true, "apple": true, "pc": true, "msvc": true,
	"universal": true, "baseline": true, "static": true, "alpine": true,
	"portable": true,
}

// isVersion reports whether s looks like a release version: 1.2.3, v20.1.0,
// 2025.09.18, 1.0.0rc1.
func isVersion(s string) bool {
	s = strings.TrimPrefix(s, "v")
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r == '.' || r == '_' || r == '+') {
			return false
		}
	}
	return true
}

// normalize turns an executable name into the form signatures are written
// in: lower case, without ".exe", "@version", or trailing version and
// platform segments. A name made only of a version is kept as it is.
func normalize(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimSuffix(s, " (deleted)")
	if i := strings.LastIndexByte(s, '@'); i > 0 && isVersion(s[i+1:]) {
		s = s[:i]
	}
	for _, ext := range []string{".exe", ".appimage"} {
		s = strings.TrimSuffix(s, ext)
	}
	segs := strings.Split(s, "-")
	for len(segs) > 1 {
		last := segs[len(segs)-1]
		if last != "" && !isVersion(last) && !platformWords[last] {
			break
		}
		segs = segs[:len(segs)-1]
	}
	return strings.Join(segs, "-")
}

// stem also drops a script extension: `node …/bin/codex.js` runs codex.
func stem(normalized string) string {
	for _, ext := range []string{".js", ".mjs", ".cjs", ".ts", ".py"} {
		if s, ok := strings.CutSuffix(normalized, ext); ok && s != "" {
			return normalize(s)
		}
	}
	return normalized
}

func base(p string) string {
	p = strings.TrimRight(p, "/")
	if p == "" {
		return ""
	}
	return path.Base(p)
}

// components splits a path into its lower-case components.
func components(p string) []string {
	var out []string
	for _, c := range strings.Split(strings.ToLower(p), "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// programDirs returns the directory components of a program's path,
// leaving out the account name in /home/NAME and /Users/NAME: a person
// called kiro or cline is not an agent.
func programDirs(p string) []string {
	if !strings.Contains(p, "/") {
		return nil
	}
	comps := components(p)
	if len(comps) > 0 {
		comps = comps[:len(comps)-1]
	}
	if len(comps) >= 2 && strings.HasPrefix(p, "/") && (comps[0] == "home" || comps[0] == "users") {
		comps = comps[2:]
	}
	return comps
}

// interpreter reports whether a program (normalised) runs a script given as
// its first operand.
func interpreter(name string) bool {
	switch name {
	case "node", "nodejs", "bun", "deno", "ruby", "perl", "sh", "bash", "dash", "zsh", "ksh", "fish", "env":
		return true
	}
	return strings.HasPrefix(name, "python") || strings.HasPrefix(name, "pypy")
}

// scriptOf returns what an interpreter in argv runs, or "": the script of
// `node /usr/local/bin/amp`, the module of `python3 -m aider`, the program
// of `env FOO=1 amp`. Inline code (-c, -e) has no script.
func scriptOf(argv []string) string {
	s, _ := interpreted(argv)
	return s
}

// scriptFile returns the file an interpreter in argv reads its program
// from, as given, or "": not a module (python -m), nor a program that env
// looks up in PATH.
func scriptFile(argv []string) string {
	if s, file := interpreted(argv); file {
		return s
	}
	return ""
}

// interpreted returns scriptOf's answer and whether it names a file the
// interpreter opens, relative to its working directory unless absolute.
func interpreted(argv []string) (script string, file bool) {
	if len(argv) < 2 {
		return "", false
	}
	prog := normalize(base(argv[0]))
	if !interpreter(prog) {
		return "", false
	}
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "-c" || a == "-e" || a == "--eval" || a == "-p" || a == "--print":
			return "", false
		case a == "-m" && strings.HasPrefix(prog, "python"):
			if i+1 < len(argv) {
				mod, _, _ := strings.Cut(argv[i+1], ".")
				return mod, false
			}
			return "", false
		case a == "--":
			if i+1 < len(argv) {
				return argv[i+1], prog != "env"
			}
			return "", false
		case strings.HasPrefix(a, "-"):
			continue
		case prog == "env" && strings.Contains(a, "="):
			continue
		}
		return a, prog != "env"
	}
	return "", false
}

// resolvedScript returns where the script an interpreter runs really is, or
// "" when that is no more than argv already says: a relative path joined to
// the process's working directory (`cd …/claude-code && node cli.js`), then
// symlinks followed (`node ~/bin/helper` → …/claude-code/cli.js). When the
// links cannot be followed (the file is gone, a directory is not ours to
// search), the joined path is what there is. Only the script is resolved,
// never a plain argument: `vim cli.js` says nothing about vim.
func resolvedScript(p proctree.Process, argv []string) string {
	given := scriptFile(argv)
	if given == "" {
		return ""
	}
	s := given
	if !filepath.IsAbs(s) {
		cwd := strings.TrimSuffix(p.Cwd, " (deleted)")
		if !filepath.IsAbs(cwd) {
			return ""
		}
		s = filepath.Join(cwd, s)
	}
	// Lstat and readlink only: nothing is opened, so a FIFO or device
	// named in argv is never read from.
	if r, err := filepath.EvalSymlinks(s); err == nil {
		s = r
	}
	if s == filepath.Clean(given) {
		return ""
	}
	return s
}

type envMarker struct {
	name, value string
	hasValue    bool
}

func (e envMarker) String() string {
	if e.hasValue {
		return e.name + "=" + e.value
	}
	return e.name
}

type compiled struct {
	name     string
	names    map[string]bool // distinctive: match anywhere
	programs map[string]bool // ordinary words: only what the process runs as
	patterns [][]string
	env      []envMarker
}

// named reports whether a normalised name is one of the signature's: a
// distinctive name, also without a script extension, or, where the name is
// what the process runs as, an ordinary-word program name.
func (c compiled) named(n string, runsAs bool) (string, bool) {
	switch {
	case c.names[n], runsAs && c.programs[n]:
		return n, true
	case c.names[stem(n)]:
		return stem(n), true
	}
	return "", false
}

// matcher holds signatures in a form cheap to test against many processes.
type matcher struct{ sigs []compiled }

func newMatcher(sigs []Signature) *matcher {
	m := &matcher{}
	for _, s := range sigs {
		c := compiled{name: strings.TrimSpace(s.Name), names: map[string]bool{}, programs: map[string]bool{}}
		for _, n := range s.Names {
			if n = normalize(n); n != "" {
				c.names[n] = true
			}
		}
		for _, n := range s.ProgramNames {
			if n = normalize(n); n != "" {
				c.programs[n] = true
			}
		}
		for _, p := range s.ArgvPatterns {
			if comps := components(p); len(comps) > 0 {
				c.patterns = append(c.patterns, comps)
			}
		}
		for _, e := range s.EnvMarkers {
			name, value, hasValue := strings.Cut(strings.TrimSpace(e), "=")
			if name != "" {
				c.env = append(c.env, envMarker{name: name, value: value, hasValue: hasValue})
			}
		}
		if c.name == "" {
			c.name = "agent"
		}
		m.sigs = append(m.sigs, c)
	}
	return m
}

// byName matches a process by what it is called and how it was launched.
// It returns the agent and the evidence, e.g. "comm:claude".
func (m *matcher) byName(p proctree.Process) (agent, evidence string) {
	argv := p.Argv
	// A process that retitled itself setproctitle-style may leave one
	// space-separated string where argv was.
	if len(argv) == 1 && strings.ContainsAny(argv[0], " \t") {
		argv = strings.Fields(argv[0])
	}
	exe := strings.TrimSuffix(p.Exe, " (deleted)")
	var argv0 string
	if len(argv) > 0 {
		argv0 = argv[0]
	}

	type token struct{ where, text string }
	programs := []token{{"comm", p.Comm}, {"exe", base(exe)}, {"argv", base(argv0)}, {"argv", base(scriptOf(argv))}}
	for _, t := range programs {
		n := normalize(t.text)
		if n == "" {
			continue
		}
		for _, sig := range m.sigs {
			if term, ok := sig.named(n, true); ok {
				return sig.name, t.where + ":" + term
			}
		}
	}

	var args []string
	if len(argv) > 1 {
		args = argv[1:]
	}
	for _, a := range args {
		n := normalize(base(a))
		if n == "" {
			continue
		}
		for _, sig := range m.sigs {
			if term, ok := sig.named(n, false); ok {
				return sig.name, "argv:" + term
			}
		}
	}

	// The directories a program runs from say what it is
	// (…/claude/versions/2.0.14); the directories of its arguments only say
	// what it works on, so they are not read.
	script := scriptOf(argv)
	for _, t := range []token{{"exe", exe}, {"argv", argv0}, {"argv", script}} {
		for _, c := range programDirs(t.text) {
			n := normalize(c)
			for _, sig := range m.sigs {
				if sig.names[n] {
					return sig.name, t.where + ":" + n
				}
			}
		}
	}

	paths := []token{{"exe", exe}}
	for _, a := range argv {
		if strings.HasPrefix(a, "-") {
			// --require=/x/@scope/pkg/file.js
			if _, v, ok := strings.Cut(a, "="); ok {
				a = v
			}
		}
		if strings.Contains(a, "/") {
			paths = append(paths, token{"argv", a})
		}
	}
	for _, t := range paths {
		if sig, pat := m.installPath(t.text); sig != "" {
			return sig, t.where + ":" + pat
		}
	}

	// The script where it really is: its own name (a symlink's target) and
	// its install path. Not its directories' names: for a relative script
	// those come from the working directory, and a person's project called
	// claude is where they work, not an agent.
	if r := resolvedScript(p, argv); r != "" {
		n := normalize(base(r))
		for _, sig := range m.sigs {
			if term, ok := sig.named(n, true); ok {
				return sig.name, "script:" + term
			}
		}
		if sig, pat := m.installPath(r); sig != "" {
			return sig, "script:" + pat
		}
	}
	return "", ""
}

// installPath returns the agent whose install path (ArgvPatterns) occurs in
// path, and the pattern.
func (m *matcher) installPath(path string) (agent, pattern string) {
	comps := components(path)
	for _, sig := range m.sigs {
		for _, pat := range sig.patterns {
			if containsRun(comps, pat) {
				return sig.name, strings.Join(pat, "/")
			}
		}
	}
	return "", ""
}

// containsRun reports whether pat occurs in comps as consecutive elements.
func containsRun(comps, pat []string) bool {
	for i := 0; i+len(pat) <= len(comps); i++ {
		match := true
		for j := range pat {
			if comps[i+j] != pat[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// byEnv matches an environment against the signatures' markers and returns
// the agent and the marker, e.g. "env:CLAUDECODE".
func (m *matcher) byEnv(env []string) (agent, evidence string) {
	vars := make(map[string][]string, len(env))
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		vars[name] = append(vars[name], value)
	}
	for _, sig := range m.sigs {
		for _, mk := range sig.env {
			values, present := vars[mk.name]
			if !present {
				continue
			}
			if !mk.hasValue {
				return sig.name, "env:" + mk.name
			}
			for _, v := range values {
				if strings.EqualFold(v, mk.value) {
					return sig.name, "env:" + mk.String()
				}
			}
		}
	}
	return "", ""
}

func pidSignal(evidence string, pid int) string {
	return fmt.Sprintf("%s (pid %d)", evidence, pid)
}
