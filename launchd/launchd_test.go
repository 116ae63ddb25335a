package launchd_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"howett.net/plist"

	"github.com/hush-dev/hush/internal/proctree/proctreetest"
	"github.com/hush-dev/hush/launchd"
)

func TestPlist(t *testing.T) {
	c := launchd.Config{
		Executable: "/Applications/Hush Tools/hush",
		Socket:     "/Users/ada/Library/Caches/hush & co/hush.sock",
		Home:       "/Users/ada",
		Env:        map[string]string{"HUSH_HOME": "/Users/ada/<hush>"},
	}
	out, err := launchd.Plist(c)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	format, err := plist.Unmarshal(out, &got)
	if err != nil {
		t.Fatalf("the plist does not parse: %v\n%s", err, out)
	}
	if format != plist.XMLFormat {
		t.Errorf("format = %d, want XML", format)
	}
	want := map[string]any{
		"Label":            "dev.hush.daemon",
		"ProgramArguments": []any{"/Applications/Hush Tools/hush", "daemon"},
		"RunAtLoad":        true,
		"KeepAlive":        map[string]any{"SuccessfulExit": false},
		"Sockets": map[string]any{"Listeners": map[string]any{
			"SockPathName": "/Users/ada/Library/Caches/hush & co/hush.sock",
			"SockPathMode": uint64(0o600),
			"SockType":     "stream",
			"SockFamily":   "Unix",
		}},
		"EnvironmentVariables": map[string]any{"HUSH_HOME": "/Users/ada/<hush>"},
		"StandardOutPath":      "/Users/ada/Library/Logs/hush/hush.log",
		"StandardErrorPath":    "/Users/ada/Library/Logs/hush/hush.log",
		"Umask":                uint64(0o077),
	}
	for k, w := range want {
		t.Run("the plist has "+k, func(t *testing.T) {
			if !reflect.DeepEqual(got[k], w) {
				t.Errorf("%s = %#v, want %#v", k, got[k], w)
			}
		})
	}
	t.Run("the plist has no other keys", func(t *testing.T) {
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected key %s", k)
			}
		}
	})
	if p := c.PlistPath(); p != "/Users/ada/Library/LaunchAgents/dev.hush.daemon.plist" {
		t.Errorf("PlistPath = %s", p)
	}
}

func TestConfigRefusals(t *testing.T) {
	ok := launchd.Config{Executable: "/bin/hush", Socket: "/run/hush.sock", Home: "/h"}
	with := func(f func(*launchd.Config)) launchd.Config { c := ok; f(&c); return c }
	cases := []struct {
		name    string
		c       launchd.Config
		plistOK bool // a plist can carry it; only a unit file cannot
	}{
		{"no socket path", with(func(c *launchd.Config) { c.Socket = "" }), false},
		{"a relative socket path", with(func(c *launchd.Config) { c.Socket = "run/hush.sock" }), false},
		{"a relative executable", with(func(c *launchd.Config) { c.Executable = "hush" }), false},
		{"a newline in the socket path", with(func(c *launchd.Config) { c.Socket = "/run/a\nb.sock" }), false},
		{"a newline in an environment value", with(func(c *launchd.Config) {
			c.Env = map[string]string{"HUSH_HOME": "a\nExecStartPre=/bin/evil"}
		}), false},
		{"a socket path ending in a backslash", with(func(c *launchd.Config) { c.Socket = `/run/hush\` }), true},
		{"an executable path with a quote", with(func(c *launchd.Config) { c.Executable = `/opt/it's/hush` }), true},
	}
	for _, c := range cases {
		t.Run(c.name+" is refused with one line", func(t *testing.T) {
			_, uerr := launchd.Units(c.c)
			if uerr == nil || strings.Contains(uerr.Error(), "\n") {
				t.Fatalf("Units = %v", uerr)
			}
			if _, perr := launchd.Plist(c.c); (perr == nil) != c.plistOK {
				t.Fatalf("Plist = %v", perr)
			}
		})
	}
	if _, err := launchd.Units(ok); err != nil {
		t.Fatalf("a plain config is refused: %v", err)
	}
}

// unitFile parses the subset of systemd's unit syntax hush writes:
// sections of key=value lines.
func unitFile(t *testing.T, data []byte) map[string][]string {
	t.Helper()
	kv := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("not key=value: %q", line)
			}
			kv[section+"."+k] = append(kv[section+"."+k], v)
		}
	}
	return kv
}

// An executable and socket whose names hold every character systemd would
// otherwise expand or split on: a space, a specifier, a variable.
func awkwardConfig(t *testing.T) launchd.Config {
	dir := filepath.Join(t.TempDir(), "my tools")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, `hu%sh$HOME`)
	if err := os.WriteFile(exe, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return launchd.Config{
		Executable: exe,
		Socket:     filepath.Join(t.TempDir(), "run %t", "hush.sock"),
		Home:       t.TempDir(),
		Env:        map[string]string{"HUSH_HOME": "/data/100% $HOME"},
	}
}

func TestUnitsParse(t *testing.T) {
	c := awkwardConfig(t)
	units, err := launchd.Units(c)
	if err != nil {
		t.Fatal(err)
	}
	sock := unitFile(t, units["hush.socket"])
	svc := unitFile(t, units["hush.service"])
	checks := []struct {
		name string
		got  []string
		want []string
	}{
		{"the socket listens on the socket path, % escaped", sock["Socket.ListenStream"], []string{strings.ReplaceAll(c.Socket, "%", "%%")}},
		{"the socket is 0600", sock["Socket.SocketMode"], []string{"0600"}},
		{"the socket's directory is 0700", sock["Socket.DirectoryMode"], []string{"0700"}},
		{"the socket starts with the session", sock["Install.WantedBy"], []string{"sockets.target"}},
		{"the service needs the socket", svc["Unit.Requires"], []string{"hush.socket"}},
		{"the service restarts only after a crash", svc["Service.Restart"], []string{"on-failure"}},
		{"the service runs hush daemon, quoted and escaped", svc["Service.ExecStart"], []string{`"` + strings.ReplaceAll(c.Executable, `%`, `%%`) + `" "daemon"`}},
		{"the environment is passed, % escaped, $ literal", svc["Service.Environment"], []string{`"HUSH_HOME=/data/100%% $HOME"`}},
	}
	for _, ch := range checks {
		t.Run(ch.name, func(t *testing.T) {
			if !slices.Equal(ch.got, ch.want) {
				t.Errorf("got %q, want %q", ch.got, ch.want)
			}
		})
	}
}

// TestUnitsVerify has systemd itself load the units. verify fails when
// ExecStart's path does not resolve to the executable, so the escaping is
// checked by systemd's own parser, not by ours.
func TestUnitsVerify(t *testing.T) {
	analyze := proctreetest.Tool(t, "systemd-analyze", "systemd")
	c := awkwardConfig(t)
	units, err := launchd.Units(c)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var files []string
	for name, data := range units {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	sort.Strings(files)
	runtimeDir := t.TempDir()
	cmd := exec.Command(analyze, append([]string{"--user", "verify"}, files...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + c.Home, "XDG_RUNTIME_DIR=" + runtimeDir}
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s\n--- hush.service\n%s", err, out, units["hush.service"])
	}
	t.Run("a unit that names a missing executable fails the same check", func(t *testing.T) {
		bad := strings.Replace(string(units["hush.service"]), "my tools", "no tools", 1)
		if err := os.WriteFile(filepath.Join(dir, "hush.service"), []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(analyze, append([]string{"--user", "verify"}, files...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + c.Home, "XDG_RUNTIME_DIR=" + runtimeDir}
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Fatalf("verify accepted a missing executable:\n%s", out)
		}
	})
}

// noUserManager points systemctl at a runtime dir without a manager, so
// the test never touches a real session's units even on a desktop.
func noUserManager(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
}

func TestInstallWithoutAUserManager(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("systemd units are installed on Linux")
	}
	proctreetest.Tool(t, "systemctl", "systemd")
	noUserManager(t)
	c := awkwardConfig(t)
	c.UnitDir = filepath.Join(t.TempDir(), "systemd", "user")
	ctx := context.Background()
	var out strings.Builder
	if err := launchd.Install(ctx, c, &out); err != nil {
		t.Fatalf("Install: %v", err)
	}
	t.Run("the units are written", func(t *testing.T) {
		for _, name := range []string{"hush.socket", "hush.service"} {
			fi, err := os.Stat(filepath.Join(c.UnitDir, name))
			if err != nil || fi.Mode().Perm() != 0o644 {
				t.Errorf("%s: %v %v", name, fi, err)
			}
		}
	})
	t.Run("the output says what to run where a manager exists", func(t *testing.T) {
		if !strings.Contains(out.String(), "systemctl --user enable --now hush.socket") || !strings.Contains(out.String(), "no systemd user manager") {
			t.Errorf("output:\n%s", out.String())
		}
	})
	t.Run("status reports installed but not running", func(t *testing.T) {
		st, err := launchd.Status(ctx, c)
		if err != nil || !st.Installed || st.Running || st.Daemon || st.Socket != c.Socket || st.Manager != "systemd" || len(st.Files) != 2 {
			t.Fatalf("Status = %+v, %v", st, err)
		}
		if !strings.Contains(st.String(), "installed: yes") {
			t.Errorf("String:\n%s", st)
		}
	})
	t.Run("status sees a daemon listening on the socket", func(t *testing.T) {
		os.MkdirAll(filepath.Dir(c.Socket), 0o700)
		l, err := net.Listen("unix", c.Socket)
		if err != nil {
			t.Skipf("socket path too long for this system: %v", err)
		}
		defer l.Close()
		st, _ := launchd.Status(ctx, c)
		if !st.Daemon {
			t.Fatalf("Status = %+v", st)
		}
	})
	t.Run("uninstall removes the units", func(t *testing.T) {
		out.Reset()
		if err := launchd.Uninstall(ctx, c, &out); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"hush.socket", "hush.service"} {
			if _, err := os.Stat(filepath.Join(c.UnitDir, name)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s still there: %v", name, err)
			}
		}
		st, _ := launchd.Status(ctx, c)
		if st.Installed {
			t.Errorf("Status after uninstall = %+v", st)
		}
	})
	t.Run("uninstalling twice says it is not installed", func(t *testing.T) {
		out.Reset()
		if err := launchd.Uninstall(ctx, c, &out); err != nil || !strings.Contains(out.String(), "not installed") {
			t.Fatalf("Uninstall = %v, %q", err, out.String())
		}
	})
}

// TestInstallWithAUserManager stands a recording systemctl in for a user
// manager, which cannot run in a container, to check the commands hush
// gives it and the order they come in.
func TestInstallWithAUserManager(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("systemd units are installed on Linux")
	}
	dir := t.TempDir()
	logFile := filepath.Join(dir, "calls")
	stub := filepath.Join(dir, "systemctl")
	script := `#!/bin/sh
echo "$*" >> '` + logFile + `'
case "$*" in
"--user is-active hush.socket") echo active ;;
"--user is-active hush.service") echo inactive; exit 3 ;;
esac
`
	if err := os.WriteFile(stub, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	c := awkwardConfig(t)
	c.UnitDir = filepath.Join(dir, "units")
	c.Systemctl = stub
	ctx := context.Background()
	calls := func() []string {
		b, _ := os.ReadFile(logFile)
		os.Remove(logFile)
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	var out strings.Builder
	if err := launchd.Install(ctx, c, &out); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		got  []string
		want []string
	}{
		{"install reloads and enables the socket", calls(), []string{"--user show-environment", "--user daemon-reload", "--user enable --now hush.socket"}},
	}
	st, err := launchd.Status(ctx, c)
	if err != nil || !st.Running || st.Daemon || !st.Installed {
		t.Errorf("Status = %+v, %v", st, err)
	}
	steps = append(steps, struct {
		name string
		got  []string
		want []string
	}{"status asks whether socket and service are active", calls(), []string{"--user show-environment", "--user is-active hush.socket", "--user is-active hush.service"}})
	if err := launchd.Uninstall(ctx, c, &out); err != nil {
		t.Fatal(err)
	}
	steps = append(steps, struct {
		name string
		got  []string
		want []string
	}{"uninstall disables before removing, then reloads", calls(), []string{"--user show-environment", "--user disable --now hush.socket hush.service", "--user daemon-reload"}})
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if !slices.Equal(s.got, s.want) {
				t.Errorf("calls = %q, want %q", s.got, s.want)
			}
		})
	}
	if !strings.Contains(out.String(), "enabled and started hush.socket") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestInstallReportsAFailingManager(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("systemd units are installed on Linux")
	}
	dir := t.TempDir()
	stub := filepath.Join(dir, "systemctl")
	script := "#!/bin/sh\ncase \"$*\" in *enable*) echo 'Failed to enable unit: Unit file hush.socket is masked.' >&2; exit 1;; esac\n"
	if err := os.WriteFile(stub, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	c := awkwardConfig(t)
	c.UnitDir, c.Systemctl = filepath.Join(dir, "units"), stub
	err := launchd.Install(context.Background(), c, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "masked") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Install = %v", err)
	}
}

// The activation tests run this binary again as the daemon would be run:
// sh -c 'LISTEN_PID=$$ exec …' gives the child systemd's LISTEN_PID for
// its own pid, and ExtraFiles puts the socket at fd 3.
func TestMain(m *testing.M) {
	if os.Getenv("HUSH_ACTIVATION_CHILD") == "1" {
		os.Exit(activationChild())
	}
	os.Exit(m.Run())
}

func activationChild() int {
	ls, err := launchd.Listeners()
	if err != nil {
		fmt.Println("error:", err)
		return 0
	}
	fmt.Printf("listeners: %d; LISTEN_FDS left: %q\n", len(ls), os.Getenv("LISTEN_FDS"))
	for _, l := range ls {
		conn, err := l.Accept()
		if err != nil {
			fmt.Println("accept:", err)
			return 1
		}
		fmt.Fprintf(conn, "hello from pid %d\n", os.Getpid())
		conn.Close()
	}
	return 0
}

func TestActivation(t *testing.T) {
	proctreetest.Tool(t, "sh", "dash")
	sockDir, err := os.MkdirTemp("", "hush-act-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	cases := []struct {
		name      string
		listener  func(t *testing.T) (net.Listener, string)
		listenPID string // "self" for the child's own pid
		want      string
	}{
		{"a Unix socket passed the systemd way is returned", unixListener(sockDir), "self", "listeners: 1; LISTEN_FDS left: \"\""},
		{"a LISTEN_PID naming another process is ignored", unixListener(sockDir), "1", "listeners: 0"},
		{"no activation environment means no listeners", nil, "", "listeners: 0"},
		{"a TCP socket is refused", tcpListener, "self", "error: hush service: socket 0 handed over by the service manager is not a Unix stream socket"},
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			script := `exec "$0"`
			env := []string{"PATH=" + os.Getenv("PATH"), "HUSH_ACTIVATION_CHILD=1"}
			var files []*os.File
			var addr string
			if c.listener != nil {
				l, a := c.listener(t)
				addr = a
				f, err := l.(interface{ File() (*os.File, error) }).File()
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				l.Close() // the child holds the socket now
				files = append(files, f)
				env = append(env, "LISTEN_FDS=1", fmt.Sprintf("LISTEN_FDNAMES=hush%d", i))
				if c.listenPID == "self" {
					script = `LISTEN_PID=$$ exec "$0"`
				} else {
					env = append(env, "LISTEN_PID="+c.listenPID)
				}
			}
			cmd := exec.Command("sh", "-c", script, exe)
			cmd.Env = env
			cmd.ExtraFiles = files
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(stdout).ReadString('\n')
			if !strings.HasPrefix(line, c.want) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("child said %q, want %q", line, c.want)
			}
			if strings.HasPrefix(c.want, "listeners: 1") {
				conn, err := net.Dial("unix", addr)
				if err != nil {
					t.Fatal(err)
				}
				reply, _ := bufio.NewReader(conn).ReadString('\n')
				conn.Close()
				if want := fmt.Sprintf("hello from pid %d\n", cmd.Process.Pid); reply != want {
					t.Fatalf("reply = %q, want %q", reply, want)
				}
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("child: %v", err)
			}
		})
	}
}

func unixListener(dir string) func(t *testing.T) (net.Listener, string) {
	return func(t *testing.T) (net.Listener, string) {
		sub, err := os.MkdirTemp(dir, "s")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(sub, "h.sock")
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		// The child owns the path from here; the parent's Close must not
		// unlink it.
		l.(*net.UnixListener).SetUnlinkOnClose(false)
		return l, path
	}
}

func tcpListener(t *testing.T) (net.Listener, string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l, l.Addr().String()
}
