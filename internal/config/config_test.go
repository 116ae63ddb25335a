package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPaths(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	home := func() (string, error) { return "/home/u", nil }
	noHome := func() (string, error) { return "", errors.New("$HOME is not defined") }
	tests := []struct {
		name string
		env  map[string]string
		home func() (string, error)
		want Paths
	}{
		{
			name: "HUSH_HOME places every file under it",
			env:  map[string]string{"HUSH_HOME": "/h", "XDG_RUNTIME_DIR": "/run/user/1000", "XDG_CONFIG_HOME": "/c"},
			home: home,
			want: Paths{
				RuntimeDir: "/h/run", Socket: "/h/run/hush.sock", ConfigFile: "/h/config.toml",
				DataDir: "/h/data", Vault: "/h/data/vault.age",
				StateDir: "/h/state", AuditLog: "/h/state/audit.jsonl", LogFile: "/h/state/daemon.log",
			},
		},
		{
			name: "a relative HUSH_HOME is made absolute for the autostarted daemon",
			env:  map[string]string{"HUSH_HOME": "rel"},
			home: home,
			want: Paths{
				RuntimeDir: cwd + "/rel/run", Socket: cwd + "/rel/run/hush.sock", ConfigFile: cwd + "/rel/config.toml",
				DataDir: cwd + "/rel/data", Vault: cwd + "/rel/data/vault.age",
				StateDir: cwd + "/rel/state", AuditLog: cwd + "/rel/state/audit.jsonl", LogFile: cwd + "/rel/state/daemon.log",
			},
		},
		{
			name: "the XDG variables are followed when set",
			env: map[string]string{
				"XDG_RUNTIME_DIR": "/run/user/1000", "XDG_CONFIG_HOME": "/c",
				"XDG_DATA_HOME": "/d", "XDG_STATE_HOME": "/s",
			},
			home: home,
			want: Paths{
				RuntimeDir: "/run/user/1000/hush", Socket: "/run/user/1000/hush/hush.sock", ConfigFile: "/c/hush/config.toml",
				DataDir: "/d/hush", Vault: "/d/hush/vault.age",
				StateDir: "/s/hush", AuditLog: "/s/hush/audit.jsonl", LogFile: "/s/hush/daemon.log",
			},
		},
		{
			name: "without XDG variables the home directory defaults and /tmp/hush-UID are used",
			env:  map[string]string{},
			home: home,
			want: Paths{
				RuntimeDir: "/tmp/hush-1000", Socket: "/tmp/hush-1000/hush.sock", ConfigFile: "/home/u/.config/hush/config.toml",
				DataDir: "/home/u/.local/share/hush", Vault: "/home/u/.local/share/hush/vault.age",
				StateDir: "/home/u/.local/state/hush", AuditLog: "/home/u/.local/state/hush/audit.jsonl", LogFile: "/home/u/.local/state/hush/daemon.log",
			},
		},
		{
			name: "relative XDG variables are ignored, as the spec says",
			env:  map[string]string{"XDG_RUNTIME_DIR": "run", "XDG_CONFIG_HOME": "c", "XDG_DATA_HOME": "d", "XDG_STATE_HOME": "s"},
			home: home,
			want: Paths{
				RuntimeDir: "/tmp/hush-1000", Socket: "/tmp/hush-1000/hush.sock", ConfigFile: "/home/u/.config/hush/config.toml",
				DataDir: "/home/u/.local/share/hush", Vault: "/home/u/.local/share/hush/vault.age",
				StateDir: "/home/u/.local/state/hush", AuditLog: "/home/u/.local/state/hush/audit.jsonl", LogFile: "/home/u/.local/state/hush/daemon.log",
			},
		},
		{
			name: "HUSH_SOCKET and HUSH_CONFIG override even HUSH_HOME",
			env:  map[string]string{"HUSH_HOME": "/h", "HUSH_SOCKET": "/elsewhere/s.sock", "HUSH_CONFIG": "/etc/hush.toml"},
			home: noHome,
			want: Paths{
				RuntimeDir: "/h/run", Socket: "/elsewhere/s.sock", ConfigFile: "/etc/hush.toml",
				DataDir: "/h/data", Vault: "/h/data/vault.age",
				StateDir: "/h/state", AuditLog: "/h/state/audit.jsonl", LogFile: "/h/state/daemon.log",
			},
		},
		{
			name: "full XDG needs no home directory",
			env: map[string]string{
				"XDG_RUNTIME_DIR": "/r", "XDG_CONFIG_HOME": "/c", "XDG_DATA_HOME": "/d", "XDG_STATE_HOME": "/s",
			},
			home: noHome,
			want: Paths{
				RuntimeDir: "/r/hush", Socket: "/r/hush/hush.sock", ConfigFile: "/c/hush/config.toml",
				DataDir: "/d/hush", Vault: "/d/hush/vault.age",
				StateDir: "/s/hush", AuditLog: "/s/hush/audit.jsonl", LogFile: "/s/hush/daemon.log",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pathsFrom(func(k string) string { return tt.env[k] }, tt.home, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestPathsWithoutAnyHome(t *testing.T) {
	_, err := pathsFrom(func(string) string { return "" }, func() (string, error) { return "", errors.New("no HOME") }, 1000)
	if err == nil || !strings.Contains(err.Error(), "XDG_CONFIG_HOME") {
		t.Fatalf("pathsFrom without HOME or XDG = %v, want an error naming what to set", err)
	}
}

func TestDefaultPathsReadsTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HUSH_HOME", dir)
	t.Setenv("HUSH_SOCKET", "")
	t.Setenv("HUSH_CONFIG", "")
	p, err := DefaultPaths()
	if err != nil {
		t.Fatal(err)
	}
	if p.Vault != filepath.Join(dir, "data", "vault.age") {
		t.Fatalf("Vault = %q", p.Vault)
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    *Config
		errHas  []string
	}{
		{
			name:    "an empty file gives the defaults",
			content: "",
			want:    Default(),
		},
		{
			name:    "both keys are read",
			content: "backend = \"secretservice\"\nhandoff_ttl = \"5m\"\n",
			want: func() *Config {
				c := Default()
				c.Backend, c.HandoffTTL = "secretservice", 5*time.Minute
				return c
			}(),
		},
		{
			name:    "an unknown key is an error naming it",
			content: "backend = \"file\"\nhandoff_tll = \"5m\"\n",
			errHas:  []string{`"handoff_tll"`},
		},
		{
			name:    "an unknown table is an error naming it",
			content: "[detcet]\nagents = [\"x\"]\n",
			errHas:  []string{`unknown key "detcet"`},
		},
		{
			name:    "an unknown backend is refused with the choices",
			content: "backend = \"vault\"\n",
			errHas:  []string{`"vault"`, "secretservice"},
		},
		{
			name:    "a bare number for handoff_ttl is refused",
			content: "handoff_ttl = 120\n",
			errHas:  []string{"handoff_ttl", `"120s"`},
		},
		{
			name:    "a duration that does not parse is refused",
			content: "handoff_ttl = \"two minutes\"\n",
			errHas:  []string{"two minutes"},
		},
		{
			name:    "a zero handoff_ttl is refused",
			content: "handoff_ttl = \"0s\"\n",
			errHas:  []string{"handoff_ttl"},
		},
		{
			name:    "a day-long handoff_ttl is refused",
			content: "handoff_ttl = \"24h\"\n",
			errHas:  []string{"handoff_ttl"},
		},
		{
			name:    "a syntax error gives its line",
			content: "backend = \"file\"\nhandoff_ttl = \n",
			errHas:  []string{"line 2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.toml")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := Load(path)
			if tt.errHas == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("Load = %+v, want %+v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load = %+v, want an error", got)
			}
			msg := err.Error()
			for _, s := range append(tt.errHas, path) {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not mention %s", msg, s)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one line", msg)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if c.Backend != "file" || c.HandoffTTL != 120*time.Second {
		t.Fatalf("Default = %+v, want the file backend and a 120s handoff TTL", c)
	}
}

func TestLoadMissingFileGivesDefaults(t *testing.T) {
	got, err := Load(filepath.Join(t.TempDir(), "none.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, Default()) {
		t.Fatalf("Load = %+v, want defaults", got)
	}
}

func TestLoadUnreadableIsAnError(t *testing.T) {
	if _, err := Load(t.TempDir()); err == nil {
		t.Fatal("Load of a directory succeeded")
	}
}

func TestEnsurePrivateDir(t *testing.T) {
	t.Run("a missing directory is created with mode 0700", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "run")
		if err := EnsurePrivateDir(dir); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(dir)
		if err != nil || st.Mode().Perm() != 0o700 {
			t.Fatalf("stat = %v, %v", st, err)
		}
		if err := EnsurePrivateDir(dir); err != nil {
			t.Fatalf("second call: %v", err)
		}
	})
	t.Run("a directory others can enter is refused with a fix", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "run")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := EnsurePrivateDir(dir); err == nil || !strings.Contains(err.Error(), "chmod 700") {
			t.Fatalf("EnsurePrivateDir = %v", err)
		}
	})
	t.Run("a symlink in place of the directory is refused", func(t *testing.T) {
		base := t.TempDir()
		target := filepath.Join(base, "attacker")
		if err := os.Mkdir(target, 0o700); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(base, "hush-1000")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if err := EnsurePrivateDir(link); err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Fatalf("EnsurePrivateDir = %v", err)
		}
	})
	t.Run("a directory someone else owns is refused", func(t *testing.T) {
		dir := "/" // owned by root: someone else, unless we are root
		if os.Geteuid() == 0 {
			dir = filepath.Join(t.TempDir(), "run")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}
		if err := EnsurePrivateDir(dir); err == nil || !strings.Contains(err.Error(), "belongs to uid") {
			t.Fatalf("EnsurePrivateDir = %v", err)
		}
	})
}
