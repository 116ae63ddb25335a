package run_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hush-dev/hush/internal/run"
	"github.com/hush-dev/hush/internal/secret"
)

// All keys are fake.
const (
	stripe  = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
	pem     = "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END KEY-----"
	keyMark = "<hush:org/p/STRIPE_KEY>"
	pemMark = "<hush:org/p/TLS_KEY>"
)

var (
	stripeVar = run.Var{Name: "STRIPE_KEY", Secret: secret.Secret{Name: "org/p/STRIPE_KEY", Value: []byte(stripe)}}
	pemVar    = run.Var{Name: "TLS_KEY", Secret: secret.Secret{Name: "org/p/TLS_KEY", Value: []byte(pem)}}
)

// cleanEnv is the child's whole inherited environment: nothing from the
// agent or developer running the tests leaks in.
func cleanEnv(t *testing.T, extra ...string) []string {
	return append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + t.TempDir(), "LC_ALL=C"}, extra...)
}

// need skips when a command the test runs is missing, except in CI where
// that is a broken setup.
func need(t *testing.T, cmd, aptPackage string) {
	t.Helper()
	if _, err := exec.LookPath(cmd); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (apt package %s)", cmd, aptPackage)
		}
		t.Skipf("%s not installed (apt package %s)", cmd, aptPackage)
	}
}

// syncBuffer can be read while the child's output is still coming in.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func runSh(t *testing.T, script string, vars ...run.Var) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code, err := run.Run(context.Background(), run.Options{
		Argv: []string{"sh", "-c", script}, Vars: vars, Environ: cleanEnv(t), Mask: true,
		Stdout: &out, Stderr: &errOut,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return out.String(), errOut.String(), code
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// R1: an inherited variable of the same name loses to the stored secret.
func TestInjectedBeatsInherited(t *testing.T) {
	for _, tc := range []struct {
		name     string
		preserve bool
		want     string
	}{
		{"the stored value wins and is masked", false, keyMark + "\n"},
		{"--preserve-env keeps the inherited value", true, "old\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			code, err := run.Run(context.Background(), run.Options{
				Argv: []string{"printenv", "STRIPE_KEY"}, Vars: []run.Var{stripeVar},
				Environ: cleanEnv(t, "STRIPE_KEY=old"), PreserveEnv: tc.preserve, Mask: true,
				Stdout: &out, Stderr: &out,
			})
			if err != nil || code != 0 {
				t.Fatalf("Run = %d, %v", code, err)
			}
			if out.String() != tc.want {
				t.Errorf("output %q, want %q", out.String(), tc.want)
			}
		})
	}
	t.Run("the child gets the stored value byte for byte", func(t *testing.T) {
		out, _, _ := runSh(t, `printf %s "$STRIPE_KEY" | sha256sum; printenv | grep -c '^STRIPE_KEY='`, stripeVar)
		if want := sha(stripe) + "  -\n1\n"; out != want {
			t.Errorf("got %q, want %q", out, want)
		}
	})
}

// The child's output is masked however it prints the value.
func TestOutputIsMasked(t *testing.T) {
	need(t, "xxd", "xxd")
	need(t, "basenc", "coreutils")
	cases := []struct {
		name, script, wantOut, wantErr string
	}{
		{"printenv of the variable", `printenv STRIPE_KEY`, keyMark + "\n", ""},
		{"the value on stderr", `echo "key: $STRIPE_KEY" >&2`, "", "key: " + keyMark + "\n"},
		{"base64 of the value", `printf %s "$STRIPE_KEY" | base64`, keyMark + "\n", ""},
		{"URL-safe base64 without padding", `printf %s "$STRIPE_KEY" | basenc --base64url | tr -d =`, keyMark + "\n", ""},
		{"xxd -p of the value", `printf %s "$STRIPE_KEY" | xxd -p`, keyMark + "\n", ""},
		{"od hex dump of the value", `printf %s "$STRIPE_KEY" | od -An -tx1 | tr -s ' \n' '  '; echo`, " " + keyMark + " \n", ""},
		{"the value printed in two writes with a pause", `printf %s "$STRIPE_KEY" | head -c 12; sleep 0.2; printf %s "$STRIPE_KEY" | tail -c +13; echo`, keyMark + "\n", ""},
		{"the value folded over lines", `printf %s "$STRIPE_KEY" | fold -w 7; echo`, keyMark + "\n", ""},
		{"a three-line PEM printed with cat (R2)", `printf '%s\n' "$TLS_KEY" > "$HOME/k.pem"; cat "$HOME/k.pem"`, pemMark + "\n", ""},
		{"one line of the PEM grepped (R2)", `printf '%s\n' "$TLS_KEY" | sed -n 2p`, pemMark + "\n", ""},
		{"a wrapped base64 of the PEM", `printf '%s' "$TLS_KEY" | base64`, pemMark + "\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runSh(t, tc.script, stripeVar, pemVar)
			if code != 0 {
				t.Fatalf("exit code %d, stderr %q", code, errOut)
			}
			if out != tc.wantOut || errOut != tc.wantErr {
				t.Errorf("stdout %q, stderr %q\nwant %q, %q", out, errOut, tc.wantOut, tc.wantErr)
			}
		})
	}
	t.Run("the value and a newline through base64 leaves only the edge", func(t *testing.T) {
		out, _, _ := runSh(t, `echo "$STRIPE_KEY" | base64`, stripeVar)
		rest, ok := strings.CutPrefix(out, keyMark)
		if !ok || len(rest) > 3 {
			t.Errorf("got %q", out)
		}
	})
	t.Run("the value inside a longer base64 stream, at each offset", func(t *testing.T) {
		for _, pre := range []string{"", "x", "xy", "xyz"} {
			out, _, _ := runSh(t, `{ printf %s '`+pre+`'; printf %s "$STRIPE_KEY"; printf 'tail'; } | base64 -w0`, stripeVar)
			if !strings.Contains(out, keyMark) || len(out) > len(keyMark)+12 {
				t.Errorf("prefix %q: got %q", pre, out)
			}
		}
	})
}

// One writer for both streams gets both, masked, without a data race.
func TestStdoutAndStderrToOneWriter(t *testing.T) {
	var out bytes.Buffer
	code, err := run.Run(context.Background(), run.Options{
		Argv: []string{"sh", "-c", `for i in 1 2 3 4 5 6 7 8; do echo "out $STRIPE_KEY"; echo "err $STRIPE_KEY" >&2; done`},
		Vars: []run.Var{stripeVar}, Environ: cleanEnv(t), Mask: true, Stdout: &out, Stderr: &out,
	})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v", code, err)
	}
	if n := strings.Count(out.String(), keyMark); n != 16 || strings.Contains(out.String(), stripe) {
		t.Errorf("got %d markers in %q, want 16 and no value", n, out.String())
	}
}

func TestMaskingOff(t *testing.T) {
	var out bytes.Buffer
	code, err := run.Run(context.Background(), run.Options{
		Argv: []string{"printenv", "STRIPE_KEY"}, Vars: []run.Var{stripeVar}, Environ: cleanEnv(t),
		Stdout: &out,
	})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v", code, err)
	}
	if out.String() != stripe+"\n" {
		t.Errorf("with masking off got %q", out.String())
	}
}

func TestShortSecretIsNotMasked(t *testing.T) {
	short := run.Var{Name: "USER_NAME", Secret: secret.Secret{Name: "org/p/USER_NAME", Value: []byte("docker")}}
	out, _, _ := runSh(t, `echo "$USER_NAME ps"`, short)
	if out != "docker ps\n" {
		t.Errorf("got %q, want the short value left alone (R3)", out)
	}
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		want   int
	}{
		{"success is 0", `exit 0`, 0},
		{"an exit code passes through", `exit 3`, 3},
		{"a high exit code passes through", `exit 200`, 200},
		{"death by SIGTERM is 143", `kill -TERM $$`, 143},
		{"death by SIGKILL is 137", `kill -KILL $$`, 137},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, code := runSh(t, tc.script); code != tc.want {
				t.Errorf("exit code %d, want %d", code, tc.want)
			}
		})
	}
	t.Run("a missing command is 127 with ErrNotFound", func(t *testing.T) {
		for _, argv0 := range []string{"hush-no-such-command", "/hush/no/such/command"} {
			code, err := run.Run(context.Background(), run.Options{Argv: []string{argv0}, Environ: cleanEnv(t)})
			if code != run.ExitNotFound || !errors.Is(err, run.ErrNotFound) || !strings.Contains(err.Error(), argv0) {
				t.Errorf("Run(%s) = %d, %v", argv0, code, err)
			}
		}
	})
	t.Run("a file that is not executable is 126 with ErrCannotExecute", func(t *testing.T) {
		dir := t.TempDir()
		noExec := filepath.Join(dir, "script")
		if err := os.WriteFile(noExec, []byte("#!/bin/sh\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		// Executable by its mode, but neither a program nor a script.
		garbage := filepath.Join(dir, "garbage")
		if err := os.WriteFile(garbage, []byte("not a program\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		for _, argv0 := range []string{noExec, dir, garbage} {
			code, err := run.Run(context.Background(), run.Options{Argv: []string{argv0}, Environ: cleanEnv(t)})
			if code != run.ExitCannotRun || !errors.Is(err, run.ErrCannotExecute) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Run(%s) = %d, %v", argv0, code, err)
			}
		}
	})
	t.Run("an empty command is refused", func(t *testing.T) {
		if _, err := run.Run(context.Background(), run.Options{}); !errors.Is(err, run.ErrNoCommand) {
			t.Errorf("err = %v, want ErrNoCommand", err)
		}
	})
}

func TestRefusedBeforeStarting(t *testing.T) {
	v := func(name string) run.Var {
		return run.Var{Name: name, Secret: secret.Secret{Name: "org/p/X", Value: []byte("value-1234")}}
	}
	cases := []struct {
		name  string
		vars  []run.Var
		allow []string
		want  error
	}{
		{"LD_PRELOAD is dangerous", []run.Var{v("LD_PRELOAD")}, nil, secret.ErrDangerous},
		{"any DYLD_ variable is dangerous", []run.Var{v("DYLD_INSERT_LIBRARIES")}, nil, secret.ErrDangerous},
		{"PATH is dangerous", []run.Var{v("PATH")}, nil, secret.ErrDangerous},
		{"BASH_ENV is dangerous", []run.Var{v("BASH_ENV")}, nil, secret.ErrDangerous},
		{"allowing another name does not help", []run.Var{v("NODE_OPTIONS")}, []string{"LD_PRELOAD"}, secret.ErrDangerous},
		{"a name with = is not a variable", []run.Var{v("A=B")}, nil, secret.ErrNotExportable},
		{"a name starting with a digit is not a variable", []run.Var{v("1KEY")}, nil, secret.ErrNotExportable},
		{"two secrets for one variable collide", []run.Var{v("KEY"), {Name: "KEY", Secret: secret.Secret{Name: "org/q/KEY", Value: []byte("other-1234")}}}, nil, secret.ErrCollision},
		{"a value with NUL cannot be exported", []run.Var{{Name: "KEY", Secret: secret.Secret{Name: "org/p/KEY", Value: []byte("a\x00b-long-value")}}}, nil, secret.ErrInvalidValue},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "ran")
			_, err := run.Run(context.Background(), run.Options{
				Argv: []string{"touch", marker}, Vars: tc.vars, AllowDangerous: tc.allow, Environ: cleanEnv(t),
			})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "value-1234") {
				t.Errorf("error shows the value: %v", err)
			}
			if _, statErr := os.Stat(marker); statErr == nil {
				t.Error("the command ran although it was refused")
			}
		})
	}
	t.Run("an allowed dangerous name is injected", func(t *testing.T) {
		var out bytes.Buffer
		code, err := run.Run(context.Background(), run.Options{
			Argv: []string{"printenv", "BASH_ENV"}, Vars: []run.Var{v("BASH_ENV")}, AllowDangerous: []string{"BASH_ENV"},
			Environ: cleanEnv(t), Mask: true, Stdout: &out,
		})
		if err != nil || code != 0 || out.String() != "<hush:org/p/X>\n" {
			t.Errorf("Run = %d, %v, output %q", code, err, out.String())
		}
	})
}

func TestExported(t *testing.T) {
	sec := func(name string) secret.Secret { return secret.Secret{Name: name, Value: []byte("value-1234")} }
	t.Run("each secret gets its last segment", func(t *testing.T) {
		vars, err := run.Exported([]secret.Secret{sec("org/p/STRIPE_KEY"), sec("org/p/DB_URL")})
		if err != nil || len(vars) != 2 || vars[0].Name != "STRIPE_KEY" || vars[1].Name != "DB_URL" {
			t.Errorf("Exported = %+v, %v", vars, err)
		}
	})
	t.Run("two secrets for one variable name both (N3)", func(t *testing.T) {
		_, err := run.Exported([]secret.Secret{sec("org/a/KEY"), sec("org/b/KEY")})
		if !errors.Is(err, secret.ErrCollision) || !strings.Contains(err.Error(), "org/a/KEY") || !strings.Contains(err.Error(), "org/b/KEY") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("a name that is not a variable is refused (N1)", func(t *testing.T) {
		if _, err := run.Exported([]secret.Secret{sec("org/api.access.token")}); !errors.Is(err, secret.ErrNotExportable) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestEnviron(t *testing.T) {
	got, err := run.Environ([]string{"A=1", "STRIPE_KEY=old", "B=2", "STRIPE_KEY=older"}, []run.Var{stripeVar, stripeVar}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A=1", "B=2", "STRIPE_KEY=" + stripe}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("every inherited entry of the name is replaced, once: got %d entries", len(got))
	}
}

func TestStdinPassesThrough(t *testing.T) {
	var out bytes.Buffer
	code, err := run.Run(context.Background(), run.Options{
		Argv: []string{"cat"}, Vars: []run.Var{stripeVar}, Environ: cleanEnv(t), Mask: true,
		Stdin: strings.NewReader("line one\nkey " + stripe + "\n"), Stdout: &out,
	})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v", code, err)
	}
	if want := "line one\nkey " + keyMark + "\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// A partial line (a prompt) shows up while the child is still running.
func TestPartialLineAppearsWhileRunning(t *testing.T) {
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	result := make(chan int, 1)
	go func() {
		code, _ := run.Run(ctx, run.Options{
			Argv: []string{"sh", "-c", `printf 'Password: '; exec sleep 30`}, Vars: []run.Var{stripeVar},
			Environ: cleanEnv(t), Mask: true, Stdout: &out,
		})
		result <- code
	}()
	waitFor(t, "the prompt", func() bool { return out.String() == "Password: " })
	cancel()
	select {
	case code := <-result:
		if code != 128+int(syscall.SIGTERM) {
			t.Errorf("after cancel exit code %d, want %d", code, 128+int(syscall.SIGTERM))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after ctx was cancelled")
	}
}

// A child that leaves a background process holding its output does not
// keep hush waiting.
func TestBackgroundGrandchildDoesNotBlock(t *testing.T) {
	done := make(chan int, 1)
	go func() {
		_, _, code := runSh(t, `sleep 5 & echo started`)
		done <- code
	}()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run waited for the background process")
	}
}

func TestSignalsAreForwarded(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String()+" reaches the child", func(t *testing.T) {
			var out syncBuffer
			result := make(chan int, 1)
			go func() {
				code, err := run.Run(context.Background(), run.Options{
					Argv:    []string{"sh", "-c", `trap 'echo caught; exit 7' INT TERM HUP; echo ready; while :; do sleep 0.01; done`},
					Environ: cleanEnv(t), Mask: true, Stdout: &out,
				})
				if err != nil {
					t.Error(err)
				}
				result <- code
			}()
			waitFor(t, "the child to start", func() bool { return strings.Contains(out.String(), "ready") })
			// The signal goes to this test process, as it would to hush.
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			select {
			case code := <-result:
				if code != 7 || !strings.Contains(out.String(), "caught") {
					t.Errorf("exit code %d, output %q; want 7 and the trap's message", code, out.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the child did not react to the signal")
			}
		})
	}
}
