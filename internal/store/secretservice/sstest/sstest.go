// Package sstest runs a real, private Secret Service for tests: its own
// dbus-daemon (no desktop session, no D-Bus activation) with
// gnome-keyring-daemon or KeePassXC on it, its keyrings in a temporary home.
//
// Needs the apt packages dbus and gnome-keyring (keepassxc for the KeePassXC
// provider, libsecret-tools for secret-tool). Outside CI a test whose tools
// are missing is skipped naming the package; in CI (CI=true) it fails.
package sstest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keybase/dbus"

	"github.com/hush-dev/hush/internal/proctree/proctreetest"
)

// Password protects the default collection of every Keyring this package
// starts (gnome-keyring's login keyring, KeePassXC's database).
const Password = "hush-test-keyring"

// aptPackage names the Debian package that provides each tool.
var aptPackage = map[string]string{
	"dbus-daemon":          "dbus",
	"gnome-keyring-daemon": "gnome-keyring",
	"secret-tool":          "libsecret-tools",
	"keepassxc":            "keepassxc",
	"keepassxc-cli":        "keepassxc",
}

// Need skips t (or fails it in CI) unless every tool is on PATH.
func Need(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		proctreetest.Tool(t, tool, aptPackage[tool])
	}
}

// Bus is a private session bus.
type Bus struct {
	Addr string
	Dir  string // short private dir holding the socket and config
}

// StartBus starts a dbus-daemon that knows no activatable services, so a
// name is on it only if a test put it there. It stops with the test.
func StartBus(t testing.TB) *Bus {
	t.Helper()
	Need(t, "dbus-daemon")
	// Unix socket paths are limited to 108 bytes; t.TempDir can be longer.
	dir, err := os.MkdirTemp("", "hush-bus-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	conf := filepath.Join(dir, "bus.conf")
	err = os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=`+filepath.Join(dir, "bus")+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dbus-daemon: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v; stderr: %s", err, stderr.String())
	}
	return &Bus{Addr: strings.TrimSpace(line), Dir: dir}
}

// HasOwner reports whether name is owned on the bus.
func (b *Bus) HasOwner(t testing.TB, name string) bool {
	t.Helper()
	conn, err := dbus.Connect(b.Addr)
	if err != nil {
		t.Fatalf("connect to test bus: %v", err)
	}
	defer conn.Close()
	var has bool
	if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has); err != nil {
		t.Fatalf("NameHasOwner: %v", err)
	}
	return has
}

// Keyring is a Secret Service provider on its own Bus, whose default
// collection is protected by Password.
type Keyring struct {
	*Bus
	// Name says which provider this is ("gnome-keyring", "KeePassXC").
	Name string
	// PassphraseUnlock says whether the provider can be unlocked with a
	// passphrase over D-Bus (gnome-keyring can; KeePassXC only by prompt).
	PassphraseUnlock bool
	Home             string

	t     testing.TB
	cmd   *exec.Cmd
	log   *strings.Builder
	start func(unlock bool) *exec.Cmd
}

// Providers lists the constructors of every provider, for tests that run
// against each.
var Providers = []struct {
	Name  string
	Start func(testing.TB) *Keyring
}{
	{"gnome-keyring", StartGnomeKeyring},
	{"KeePassXC", StartKeePassXC},
}

func newKeyring(t testing.TB, name string) *Keyring {
	k := &Keyring{Bus: StartBus(t), Name: name, Home: t.TempDir(), t: t}
	for _, d := range []string{"run", "data", "config", "cache"} {
		if err := os.MkdirAll(filepath.Join(k.Home, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

// env is a clean environment for a provider: its own home and bus, no
// display (KeePassXC draws offscreen), nothing inherited from a desktop.
func (k *Keyring) env(extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + k.Home,
		"XDG_DATA_HOME=" + filepath.Join(k.Home, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(k.Home, "config"),
		"XDG_CACHE_HOME=" + filepath.Join(k.Home, "cache"),
		"XDG_RUNTIME_DIR=" + filepath.Join(k.Home, "run"),
		"DBUS_SESSION_BUS_ADDRESS=" + k.Addr,
	}, extra...)
}

// use points the test process at the keyring's bus and starts it.
func (k *Keyring) use() *Keyring {
	t := k.t
	k.Start(true)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s output:\n%s", k.Name, k.Log())
		}
		k.Stop()
	})
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", k.Addr)
	// A desktop session's display would let the store try prompts that
	// the private bus cannot show.
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	return k
}

// StartGnomeKeyring starts a bus and gnome-keyring-daemon on it, its login
// keyring created (first start) and unlocked, and points the test process
// at that bus through DBUS_SESSION_BUS_ADDRESS (so t must not be parallel).
func StartGnomeKeyring(t testing.TB) *Keyring {
	t.Helper()
	Need(t, "dbus-daemon", "gnome-keyring-daemon")
	k := newKeyring(t, "gnome-keyring")
	k.PassphraseUnlock = true
	k.start = func(unlock bool) *exec.Cmd {
		args := []string{"--foreground", "--components=secrets"}
		if unlock {
			// Fed the password the way a login manager (PAM) does, which
			// creates and unlocks the login keyring.
			args = append(args, "--unlock")
		}
		cmd := exec.Command("gnome-keyring-daemon", args...)
		cmd.Env = k.env()
		if unlock {
			cmd.Stdin = strings.NewReader(Password)
		}
		return cmd
	}
	return k.use()
}

// StartKeePassXC starts a bus and KeePassXC on it (Qt's offscreen platform,
// no X server needed) with Secret Service integration on and a fresh
// database whose root group is exposed, and points the test process at the
// bus. Without unlock the database opens locked, waiting for its password.
func StartKeePassXC(t testing.TB) *Keyring {
	t.Helper()
	Need(t, "dbus-daemon", "keepassxc", "keepassxc-cli")
	k := newKeyring(t, "KeePassXC")
	db := filepath.Join(k.Home, "hush-test.kdbx")
	xml := filepath.Join(k.Home, "db.xml")
	// The exposed group lives in the database's custom data, which only
	// the GUI or an XML import can set.
	err := os.WriteFile(xml, []byte(`<?xml version="1.0" encoding="UTF-8"?>
<KeePassFile>
  <Meta>
    <DatabaseName>hush-test</DatabaseName>
    <CustomData><Item>
      <Key>FDO_SECRETS_EXPOSED_GROUP</Key>
      <Value>{00000000-0000-0000-0000-000000000001}</Value>
    </Item></CustomData>
  </Meta>
  <Root><Group>
    <UUID>AAAAAAAAAAAAAAAAAAAAAQ==</UUID>
    <Name>hush-test</Name>
  </Group></Root>
</KeePassFile>
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ini := filepath.Join(k.Home, "keepassxc.ini")
	err = os.WriteFile(ini, []byte(`[General]
ConfigVersion=2
SingleInstance=false
OpenPreviousDatabasesOnStartup=false
AutoSaveAfterEveryChange=false
AutoSaveOnExit=true
[FdoSecrets]
Enabled=true
ShowNotification=false
ConfirmAccessItem=false
ConfirmDeleteItem=false
NoConfirmDeleteItem=true
[GUI]
ShowTrayIcon=false
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	// A short key derivation keeps each start well under a second.
	imp := exec.Command("keepassxc-cli", "import", "--set-password", "--decryption-time", "100", xml, db)
	imp.Env = k.env()
	imp.Stdin = strings.NewReader(Password + "\n" + Password + "\n")
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("keepassxc-cli import: %v: %s", err, out)
	}
	k.start = func(unlock bool) *exec.Cmd {
		args := []string{"--config", ini, "--localconfig", filepath.Join(k.Home, "local.ini")}
		if unlock {
			args = append(args, "--pw-stdin")
		}
		cmd := exec.Command("keepassxc", append(args, db)...)
		cmd.Env = k.env("QT_QPA_PLATFORM=offscreen")
		if unlock {
			cmd.Stdin = strings.NewReader(Password + "\n")
		}
		return cmd
	}
	return k.use()
}

// Start runs the provider and waits until its default collection answers.
// With unlock it opens unlocked; without, locked, as after a restart.
func (k *Keyring) Start(unlock bool) {
	t := k.t
	t.Helper()
	cmd := k.start(unlock)
	k.log = &strings.Builder{}
	cmd.Stdout = k.log
	cmd.Stderr = k.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", k.Name, err)
	}
	k.cmd = cmd
	deadline := time.Now().Add(20 * time.Second)
	for !k.ready(unlock) {
		if time.Now().After(deadline) {
			log := k.log.String()
			k.Stop()
			t.Fatalf("%s did not serve a default collection: %s", k.Name, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ready reports whether the default collection exists and, with unlock,
// is unlocked: KeePassXC shows a locked collection while it still derives
// the database key.
func (k *Keyring) ready(unlock bool) bool {
	conn, err := dbus.Connect(k.Addr)
	if err != nil {
		k.t.Fatalf("connect to test bus: %v", err)
	}
	defer conn.Close()
	var path dbus.ObjectPath
	err = conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").
		Call("org.freedesktop.Secret.Service.ReadAlias", dbus.FlagNoAutoStart, "default").Store(&path)
	if err != nil || path == "/" || path == "" {
		return false
	}
	if !unlock {
		return true
	}
	locked, err := conn.Object("org.freedesktop.secrets", path).GetProperty("org.freedesktop.Secret.Collection.Locked")
	return err == nil && locked.Value() == false
}

// Log returns what the provider printed since it last started.
func (k *Keyring) Log() string {
	if k.log == nil {
		return ""
	}
	return k.log.String()
}

// Stop ends the provider as a logout would (SIGTERM, then SIGKILL after
// five seconds) and waits until its name is gone. KeePassXC saves its
// database on a timer after each change, so a SIGKILL right after a write
// can lose it.
func (k *Keyring) Stop() {
	if k.cmd == nil {
		return
	}
	k.cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan struct{})
	go func() { k.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		k.cmd.Process.Kill()
		<-exited
	}
	k.cmd = nil
	for i := 0; i < 500 && k.HasOwner(k.t, "org.freedesktop.secrets"); i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

// SecretTool runs secret-tool against the keyring with args and stdin,
// returning its stdout and stderr together (`search` prints attributes
// on stderr).
func (k *Keyring) SecretTool(t testing.TB, stdin string, args ...string) (string, error) {
	t.Helper()
	Need(t, "secret-tool")
	cmd := exec.Command("secret-tool", args...)
	cmd.Env = k.env()
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("secret-tool %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
