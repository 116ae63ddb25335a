package server_test

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
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/hush-dev/hush/client"
	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store/filevault"
	"github.com/hush-dev/hush/server"
)

// The test binary doubles as the caller processes the tests need: a person
// at a terminal, a process with no terminal, an agent, a peer of another
// user. HUSH_TEST_HELPER selects the part it plays.
func TestMain(m *testing.M) {
	if os.Getenv("HUSH_TEST_HELPER") != "" {
		os.Exit(helperMain())
	}
	os.Exit(m.Run())
}

// helperResult is what a helper reports; never a value, only its digest.
type helperResult struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Delivery string `json:"delivery"`
	Verdict  string `json:"verdict"`
	Signal   string `json:"signal"`
	Digests  []string
}

func helperMain() int {
	var res helperResult
	err := helperCall(&res)
	var ce *client.Error
	switch {
	case err == nil:
		res.Code = "OK"
	case errors.As(err, &ce):
		res.Code = ce.Code.String()
	case errors.Is(err, client.ErrUnreachable):
		res.Code = "Unreachable"
	default:
		res.Code = "Error"
	}
	if err != nil {
		res.Message = err.Error()
	}
	out, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", out)
	return 0
}

func helperCall(res *helperResult) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.WithSocket(os.Getenv("HUSH_TEST_SOCKET")))
	if err != nil {
		return err
	}
	defer c.Close()
	arg := os.Getenv("HUSH_TEST_ARG")
	var r *client.Result
	switch op := os.Getenv("HUSH_TEST_HELPER"); op {
	case "get":
		r, err = c.Get(ctx, arg)
	case "getprefix":
		r, err = c.GetPrefix(ctx, arg)
	case "unlock":
		return c.Unlock(ctx, []byte(arg))
	case "list":
		_, err = c.List(ctx, arg)
		return err
	case "setmany":
		// Names separated by commas; each value names its secret.
		var secrets []secret.Secret
		for _, name := range strings.Split(arg, ",") {
			secrets = append(secrets, secret.Secret{Name: name, Value: []byte("sk_test_FAKE_setmany_" + name)})
		}
		_, err = c.SetMany(ctx, secrets)
		return err
	default:
		return fmt.Errorf("unknown helper %q", op)
	}
	if err != nil {
		return err
	}
	res.Delivery = r.Delivery.String()
	res.Verdict = r.Caller.GetVerdict().String()
	res.Signal = r.Caller.GetSignal()
	for _, s := range r.Secrets {
		res.Digests = append(res.Digests, digest(s.Value))
	}
	return nil
}

func digest(v []byte) string {
	sum := sha256.Sum256(v)
	return hex.EncodeToString(sum[:])
}

// callerKind is the process tree a helper runs in.
type callerKind int

const (
	// noTerminal: its own session, no controlling terminal, no agent marker.
	noTerminal callerKind = iota
	// atTerminal: its own session with a pty as controlling terminal.
	atTerminal
	// agentMarked: no terminal, and an agent's environment marker.
	agentMarked
)

// helperEnv is all a helper inherits: nothing of the test's own
// environment, which may hold a real agent's markers.
func helperEnv(op, socket, arg string, extra ...string) []string {
	return append([]string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HUSH_TEST_HELPER=" + op,
		"HUSH_TEST_SOCKET=" + socket,
		"HUSH_TEST_ARG=" + arg,
	}, extra...)
}

// runHelper runs one call from a child process of the given kind and
// returns what it reported.
func runHelper(t *testing.T, kind callerKind, exe, op, socket, arg string, cred *syscall.Credential) helperResult {
	t.Helper()
	if exe == "" {
		exe = testBinary(t)
	}
	var extra []string
	if kind == agentMarked {
		extra = append(extra, "AI_AGENT=hush-test")
	}
	cmd := exec.Command(exe)
	cmd.Env = helperEnv(op, socket, arg, extra...)
	cmd.Dir = "/"
	var out []byte
	var err error
	switch kind {
	case atTerminal:
		// pty.Start puts the child in its own session with the pty as its
		// controlling terminal.
		var ptmx *os.File
		ptmx, err = pty.Start(cmd)
		if err != nil {
			t.Fatalf("start helper at a pty: %v", err)
		}
		out, _ = io.ReadAll(ptmx) // EIO once the child exits
		ptmx.Close()
		err = cmd.Wait()
	default:
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: cred}
		out, err = cmd.Output()
	}
	if err != nil {
		t.Fatalf("helper %s: %v\n%s", op, err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "RESULT "); ok {
			var res helperResult
			if err := json.Unmarshal([]byte(rest), &res); err != nil {
				t.Fatalf("helper output %q: %v", rest, err)
			}
			return res
		}
	}
	t.Fatalf("helper %s reported nothing:\n%s", op, out)
	return helperResult{}
}

func testBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// shortDir is a temp dir with a short path: a Unix socket path holds at
// most 107 bytes, and t.TempDir() includes the test's whole name.
func shortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hush")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// syncBuffer collects the daemon's log from concurrent calls.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemon is a server on a real socket over a real file vault.
type daemon struct {
	dir, socket, handoffDir string
	vault                   *filevault.Vault
	log                     *syncBuffer
	cancel                  context.CancelFunc
	done                    chan error
}

type daemonConfig struct {
	passphrase []byte
	handoffTTL time.Duration
	// beforeListen runs once the runtime dir exists (0700), before the
	// daemon listens and purges it.
	beforeListen func(runDir string)
	opts         []server.Option
}

func startDaemon(t testing.TB, cfg daemonConfig) *daemon {
	t.Helper()
	d := &daemon{dir: shortDir(t), log: &syncBuffer{}}
	d.socket = filepath.Join(d.dir, "run", "hush.sock")
	d.handoffDir = filepath.Join(d.dir, "run")
	vaultPath := filepath.Join(d.dir, "vault.age")
	init := filevault.InitOptions{NoPassphrase: true}
	if cfg.passphrase != nil {
		init = filevault.InitOptions{Passphrase: cfg.passphrase, ScryptWorkFactor: 10}
	}
	if err := filevault.Init(vaultPath, init); err != nil {
		t.Fatal(err)
	}
	v, err := filevault.Open(vaultPath)
	if err != nil {
		t.Fatal(err)
	}
	d.vault = v
	if cfg.beforeListen != nil {
		if err := os.Mkdir(d.handoffDir, 0o700); err != nil {
			t.Fatal(err)
		}
		cfg.beforeListen(d.handoffDir)
	}
	l, err := server.Listen(d.socket)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(d.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts := append([]server.Option{
		server.WithLogger(logger),
		server.WithDetector(detect.New(detect.WithRoot(os.Getpid()))),
		server.WithSocketPath(d.socket),
	}, cfg.opts...)
	if cfg.handoffTTL > 0 {
		opts = append(opts, server.WithHandoffDir(d.handoffDir, cfg.handoffTTL))
	}
	srv := server.New(v, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	d.done = make(chan error, 1)
	go func() { d.done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		d.stop(t)
		v.Close()
	})
	return d
}

// stop ends the daemon and waits for Serve to return.
func (d *daemon) stop(t testing.TB) {
	t.Helper()
	d.cancel()
	select {
	case err, ok := <-d.done:
		if ok && err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}

func (d *daemon) dial(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.Dial(context.Background(), client.WithSocket(d.socket))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// put stores values straight into the vault, bypassing the daemon.
func (d *daemon) put(t testing.TB, kv ...string) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		if err := d.vault.Put(context.Background(), kv[i], []byte(kv[i+1])); err != nil {
			t.Fatal(err)
		}
	}
}

// assertLogClean fails if any value appears in the daemon's log.
func (d *daemon) assertLogClean(t testing.TB, values ...string) {
	t.Helper()
	log := d.log.String()
	for _, v := range values {
		if strings.Contains(log, v) {
			t.Errorf("the daemon log contains a secret value")
		}
	}
}

// peerUser returns a user other than us to connect as, creating it when
// running as root. Outside root this cannot be done for real: the test is
// skipped, except in CI where it must run.
func peerUser(t *testing.T) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI must run this test as root: it creates the user hushpeer and connects as it")
		}
		t.Skip("needs root to create the user hushpeer (useradd, package passwd) and run a process as it")
	}
	u, err := user.Lookup("hushpeer")
	if err != nil {
		if out, err := exec.Command("useradd", "-M", "-s", "/usr/sbin/nologin", "hushpeer").CombinedOutput(); err != nil {
			// Another test binary may have created it meanwhile.
			if u, err = user.Lookup("hushpeer"); err != nil {
				t.Fatalf("useradd hushpeer (package passwd): %v\n%s", err, out)
			}
		}
		if u, err = user.Lookup("hushpeer"); err != nil {
			t.Fatal(err)
		}
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
}

// publicCopy puts a copy of the test binary where another user can run it:
// the build dir is private to us.
func publicCopy(t *testing.T) string {
	t.Helper()
	dir := shortDir(t)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(testBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "helper")
	if err := os.WriteFile(exe, src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(exe, 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}
