package secret

import (
	"errors"
	"slices"
	"strings"
)

// ErrDangerous is returned when a secret would be exported (by `hush run` or
// a handoff script) into a variable that makes programs load code, run a
// command, or find commands elsewhere. A value in such a variable is code
// execution, not a credential; `--allow-dangerous NAME` lets it through.
var ErrDangerous = errors.New("refusing to inject into a dangerous variable")

// Dangerous lists the variables refused as export targets unless allowed by
// name. A trailing '*' matches any suffix. The list cannot be complete (any
// program may run a command named by some variable); it covers the shells,
// the loaders, the common language runtimes and git, and grows as more are
// found.
var Dangerous = []string{
	// Dynamic loaders.
	"LD_*", "DYLD_*", "GCONV_PATH", "HOSTALIASES", "LOCPATH", "NLSPATH", "RESOLV_HOST_CONF", "MALLOC_*", "GLIBC_TUNABLES",
	// Shells: startup files, hooks and parsing.
	"BASH_ENV", "ENV", "BASH_FUNC_*", "BASHOPTS", "SHELLOPTS", "PROMPT_COMMAND", "PS0", "PS1", "PS2", "PS3", "PS4", "IFS", "CDPATH", "GLOBIGNORE", "SHELL",
	"ZDOTDIR", "FPATH", "PROMPT", "PROMPT2", "PROMPT3", "PROMPT4", "RPROMPT", "RPROMPT2", "RPS1", "RPS2", "SPROMPT", "FCEDIT",
	// fish: where commands and functions come from, and tracing that would
	// print the exports that follow.
	"fish_user_paths", "fish_function_path", "fish_complete_path", "fish_trace",
	// Where commands are found.
	"PATH",
	// Language runtimes that load code or options from the environment.
	"NODE_OPTIONS", "NODE_PATH", "NODE_REPL_EXTERNAL_MODULE",
	"PYTHONSTARTUP", "PYTHONPATH", "PYTHONHOME", "PYTHONINSPECT", "PYTHONWARNINGS", "PYTHONBREAKPOINT", "PYTHONUSERBASE",
	"PERL5OPT", "PERL5LIB", "PERLLIB", "PERL5DB", "RUBYOPT", "RUBYLIB",
	"JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH", "DOTNET_STARTUP_HOOKS",
	"LUA_INIT", "LUA_INIT_*", "LUA_PATH", "LUA_CPATH", "PHPRC", "PHP_INI_SCAN_DIR", "R_PROFILE", "R_PROFILE_USER", "TCLLIBPATH",
	"GOFLAGS",
	// Commands that other programs run for you.
	"GIT_SSH", "GIT_SSH_COMMAND", "GIT_EXEC_PATH", "GIT_ASKPASS", "GIT_EDITOR", "GIT_SEQUENCE_EDITOR", "GIT_PAGER",
	"GIT_PROXY_COMMAND", "GIT_EXTERNAL_DIFF", "GIT_CONFIG", "GIT_CONFIG_*", "GIT_DIR", "GIT_TEMPLATE_DIR",
	"SSH_ASKPASS", "SUDO_ASKPASS", "EDITOR", "VISUAL", "PAGER", "MANPAGER", "BROWSER", "LESSOPEN", "LESSCLOSE",
}

// IsDangerous reports whether name is in Dangerous.
func IsDangerous(name string) bool {
	return slices.ContainsFunc(Dangerous, func(p string) bool {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			return strings.HasPrefix(name, prefix)
		}
		return name == p
	})
}
