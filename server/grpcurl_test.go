package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
)

var grpcurlBuild struct {
	once sync.Once
	path string
	err  error
}

// grpcurlBinary builds the grpcurl pinned in tools/go.mod once per version
// of the pins, into the user's cache, and returns its path.
func grpcurlBinary(t *testing.T) string {
	t.Helper()
	b := &grpcurlBuild
	b.once.Do(func() {
		root, err := filepath.Abs("..")
		if err != nil {
			b.err = err
			return
		}
		sum, err := os.ReadFile(filepath.Join(root, "tools", "go.sum"))
		if err != nil {
			b.err = err
			return
		}
		h := sha256.Sum256(append(sum, runtime.Version()...))
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir := filepath.Join(cache, "hush-test", "grpcurl-"+hex.EncodeToString(h[:6]))
		b.path = filepath.Join(dir, "grpcurl")
		if fi, err := os.Stat(b.path); err == nil && fi.Mode().IsRegular() {
			return
		}
		// Whatever else sits at the cache path (a file left by an older
		// layout, a half-written build) is ours to replace.
		if fi, err := os.Lstat(dir); err == nil && !fi.IsDir() {
			os.Remove(dir)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			b.err = err
			return
		}
		// Build under a temporary name so a parallel test binary never runs
		// a half-written file.
		tmp := fmt.Sprintf("%s.%d", b.path, os.Getpid())
		cmd := exec.Command(goCommand(), "build", "-modfile=tools/go.mod", "-o", tmp, "github.com/fullstorydev/grpcurl/cmd/grpcurl")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build grpcurl: %v\n%s", err, out)
			return
		}
		b.err = os.Rename(tmp, b.path)
	})
	if b.err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("cannot build grpcurl from tools/go.mod (needs the Go module proxy or a filled module cache): %v", b.err)
		}
		t.Fatal(b.err)
	}
	return b.path
}

func goCommand() string {
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}

// grpcurl runs the real grpcurl over a Unix socket, as a process of its
// own with no terminal and none of the test's environment, and returns its
// combined output and whether it succeeded.
func grpcurl(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(grpcurlBinary(t), append([]string{"-plaintext", "-unix"}, args...)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("grpcurl %v: %v", args, err)
	}
	return out.String(), err == nil
}

// The README's grpcurl commands, run for real: a person can inspect the
// daemon with the gRPC ecosystem's tools, and none of them yields a value.
func TestGrpcurlInspectsTheDaemon(t *testing.T) {
	t.Parallel()
	d := startAudited(t, daemonConfig{})
	value := "sk_test_FAKE_grpcurl_value"
	c := d.dial(t)
	if _, err := c.Set(context.Background(), "org/api/KEY", []byte(value)); err != nil {
		t.Fatal(err)
	}
	sock := d.socket

	tests := []struct {
		name string
		args []string
		ok   bool
		want []string
	}{
		{"list names every service", []string{sock, "list"}, true,
			[]string{"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "hush.v1.AdminService", "hush.v1.SecretService"}},
		{"describe shows the admin methods", []string{sock, "describe", "hush.v1.AdminService"}, true,
			[]string{"rpc Status", "rpc Classify", "rpc Audit", "returns ( stream .hush.v1.AuditResponse )", "rpc VerifyAudit"}},
		{"describe shows a message", []string{sock, "describe", "hush.v1.AuditRecord"}, true,
			[]string{"string mac = 12;", "string prefix = 13;"}},
		{"Status reports the daemon", []string{"-d", "{}", sock, "hush.v1.AdminService/Status"}, true,
			[]string{`"backend": "file"`, `"secretCount": 1`, `"socket": "` + sock + `"`}},
		{"Classify explains the caller", []string{"-d", `{"pid": 0, "name": "org/api/KEY"}`, sock, "hush.v1.AdminService/Classify"}, true,
			[]string{`"verdict": "VERDICT_UNKNOWN"`, `"comm": "grpcurl"`, `"outcome": "handoff"`}},
		{"the health service answers for the daemon", []string{"-d", "{}", sock, "grpc.health.v1.Health/Check"}, true,
			[]string{`"status": "SERVING"`}},
		{"the health service answers per service", []string{"-d", `{"service": "hush.v1.SecretService"}`, sock, "grpc.health.v1.Health/Check"}, true,
			[]string{`"status": "SERVING"`}},
		{"Audit streams records by name", []string{"-d", `{"limit": 5}`, sock, "hush.v1.AdminService/Audit"}, true,
			[]string{`"operation": "Set"`, `"org/api/KEY"`, `"mac": "`}},
		{"VerifyAudit checks the chain", []string{"-d", "{}", sock, "hush.v1.AdminService/VerifyAudit"}, true,
			[]string{`"ok": true`}},
		{"Unlock is refused to a caller without a terminal", []string{"-d", `{"passphrase": "eA=="}`, sock, "hush.v1.AdminService/Unlock"}, false,
			[]string{"PermissionDenied", "only a person at a terminal may unlock"}},
		{"Get without a key to seal to yields no value", []string{"-d", `{"name": "org/api/KEY"}`, sock, "hush.v1.SecretService/Get"}, false,
			[]string{"InvalidArgument"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, ok := grpcurl(t, tt.args...)
			if ok != tt.ok {
				t.Fatalf("grpcurl %v: success %v, want %v\n%s", tt.args, ok, tt.ok, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("grpcurl %v output lacks %q:\n%s", tt.args, w, out)
				}
			}
			if strings.Contains(out, value) {
				t.Errorf("grpcurl %v printed a secret value", tt.args)
			}
		})
	}
	d.assertFileClean(t, value)
	d.assertLogClean(t, value)
}
