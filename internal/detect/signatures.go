package detect

// Signature describes one agent: how its processes are named and launched,
// and what it leaves in the environment of the commands it runs. Config adds
// user signatures of the same shape (WithSignatures).
type Signature struct {
	// Name is the agent's name in a verdict.
	Name string
	// Names are distinctive executable names. They match, exactly and after
	// normalisation (lower case, ".exe", version and platform suffixes
	// stripped), a process's comm, the basename of its exe, the basename of
	// any argv element, and any path component of its exe or of an argv
	// element (so ~/.local/share/claude/versions/1.2.3 counts).
	Names []string
	// ProgramNames are names that are also ordinary words ("amp", "goose",
	// "continue"). They match only what a process runs as: its comm, its exe
	// basename, its argv[0] basename, or the script an interpreter runs
	// (`node /usr/local/bin/amp`). Never an argument, never a substring.
	ProgramNames []string
	// ArgvPatterns are path fragments that an install leaves in argv or in
	// the exe path, matched as whole consecutive components:
	// "@anthropic-ai/claude-code" matches
	// /usr/lib/node_modules/@anthropic-ai/claude-code/cli.js. The script an
	// interpreter runs is also matched where it really is, resolved against
	// the working directory and through symlinks (`node cli.js`).
	ArgvPatterns []string
	// EnvMarkers are environment variables the agent sets for the commands
	// it runs: "NAME" (present, whatever its value) or "NAME=VALUE".
	EnvMarkers []string
}

// builtinSignatures: see docs/detection.md for where each marker comes from.
// Order matters: the first signature that matches names the agent, so the
// generic markers come last.
var builtinSignatures = []Signature{
	{
		Name:         "claude",
		Names:        []string{"claude"},
		ArgvPatterns: []string{"@anthropic-ai/claude-code"},
		EnvMarkers:   []string{"CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT"},
	},
	{
		Name:         "codex",
		Names:        []string{"codex"},
		ArgvPatterns: []string{"@openai/codex"},
		EnvMarkers:   []string{"CODEX_SANDBOX", "CODEX_SANDBOX_NETWORK_DISABLED", "CODEX_THREAD_ID", "CODEX_CI", "CODEX_MANAGED_BY_NPM", "CODEX_MANAGED_BY_BUN"},
	},
	{
		Name:       "cursor",
		Names:      []string{"cursor-agent", "cursor"},
		EnvMarkers: []string{"CURSOR_AGENT", "CURSOR_TRACE_ID"},
	},
	{
		Name:         "copilot",
		Names:        []string{"copilot"},
		ArgvPatterns: []string{"@github/copilot"},
		EnvMarkers:   []string{"COPILOT_CLI", "COPILOT_AGENT_SESSION_ID"},
	},
	{
		Name:         "gemini",
		Names:        []string{"gemini"},
		ArgvPatterns: []string{"@google/gemini-cli"},
		EnvMarkers:   []string{"GEMINI_CLI"},
	},
	{
		Name:  "aider",
		Names: []string{"aider"},
	},
	{
		Name:         "opencode",
		Names:        []string{"opencode"},
		ArgvPatterns: []string{"opencode-ai"},
		EnvMarkers:   []string{"OPENCODE", "OPENCODE_PID", "OPENCODE_CLIENT"},
	},
	{
		Name:         "goose",
		ProgramNames: []string{"goose", "goosed"},
		EnvMarkers:   []string{"GOOSE_TERMINAL", "AGENT=goose"},
	},
	{
		Name:         "amp",
		ProgramNames: []string{"amp"},
		ArgvPatterns: []string{"@sourcegraph/amp", "@ampcode/cli"},
		EnvMarkers:   []string{"AMP_CURRENT_THREAD_ID", "AGENT=amp"},
	},
	{
		Name:       "windsurf",
		Names:      []string{"windsurf"},
		EnvMarkers: []string{"CODEIUM_EDITOR_APP_ROOT"},
	},
	{
		Name:         "crush",
		ProgramNames: []string{"crush"},
		ArgvPatterns: []string{"@charmland/crush"},
		EnvMarkers:   []string{"CRUSH", "AI_AGENT=crush", "AGENT=crush"},
	},
	{
		Name:         "qwen",
		Names:        []string{"qwen"},
		ArgvPatterns: []string{"@qwen-code/qwen-code"},
		EnvMarkers:   []string{"QWEN_CODE"},
	},
	{
		Name:  "kiro",
		Names: []string{"kiro", "kiro-cli", "kiro-cli-chat"},
	},
	{
		Name:       "cline",
		Names:      []string{"cline"},
		EnvMarkers: []string{"CLINE_ACTIVE"},
	},
	{
		Name:         "continue",
		ProgramNames: []string{"continue", "cn"},
		ArgvPatterns: []string{"@continuedev/cli"},
	},
	{
		// The cross-tool convention: any agent may set these.
		Name:       "agent",
		EnvMarkers: []string{"AI_AGENT", "AGENT"},
	},
}

// BuiltinSignatures returns a copy of the signatures hush ships with.
func BuiltinSignatures() []Signature {
	out := make([]Signature, len(builtinSignatures))
	for i, s := range builtinSignatures {
		out[i] = Signature{
			Name:         s.Name,
			Names:        append([]string(nil), s.Names...),
			ProgramNames: append([]string(nil), s.ProgramNames...),
			ArgvPatterns: append([]string(nil), s.ArgvPatterns...),
			EnvMarkers:   append([]string(nil), s.EnvMarkers...),
		}
	}
	return out
}
