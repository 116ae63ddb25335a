package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/hush-dev/hush/client"
	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/handoff"
	"github.com/hush-dev/hush/internal/proctree"
	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
	"github.com/hush-dev/hush/server"
)

// Values from the field cases (V1–V5): each must come back byte-exact.
var fieldValues = map[string]string{
	"org/api/DOLLAR_HASH": "data$extra#tail_FAKE",
	"org/api/QUOTE":       "it's a key :( FAKE",
	"org/api/SHELLY":      "foo$bar`baz\"b\\c!*~FAKE",
	"org/api/PEM":         "-----BEGIN KEY-----\nAAAAFAKE\n-----END KEY-----",
	"org/api/TRAILING":    "sk_test_FAKE_nl\n\n",
	"org/api/SPACES":      "sk_test_FAKE_sp  ",
}

func TestSecretServiceStoresAndDeliversByteExact(t *testing.T) {
	d := startDaemon(t, daemonConfig{})
	c := d.dial(t)
	ctx := context.Background()

	for name, v := range fieldValues {
		warning, err := c.Set(ctx, name, []byte(v))
		if err != nil {
			t.Fatalf("Set %s: %v", name, err)
		}
		if warning != "" {
			t.Errorf("Set %s warned about a long value: %s", name, warning)
		}
	}
	d.put(t, "org/apix/OTHER_KEY", "sk_test_FAKE_outside", "org/api/sub/not-exportable", "sk_test_FAKE_deep")

	t.Run("Get returns each value byte-exact", func(t *testing.T) {
		for name, v := range fieldValues {
			r, err := c.Get(ctx, name)
			if err != nil {
				t.Fatalf("Get %s: %v", name, err)
			}
			if len(r.Secrets) != 1 || r.Secrets[0].Name != name || string(r.Secrets[0].Value) != v {
				t.Errorf("Get %s returned a different secret or value", name)
			}
			if r.Caller.GetPid() != int32(os.Getpid()) {
				t.Errorf("Get reports caller pid %d, want %d", r.Caller.GetPid(), os.Getpid())
			}
		}
	})
	t.Run("GetPrefix returns everything below the prefix, sorted", func(t *testing.T) {
		r, err := c.GetPrefix(ctx, "org/api")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range r.Secrets {
			names = append(names, s.Name)
			if want, ok := fieldValues[s.Name]; ok && string(s.Value) != want {
				t.Errorf("GetPrefix: %s has a different value", s.Name)
			}
		}
		want := append(slices.Collect(maps.Keys(fieldValues)), "org/api/sub/not-exportable")
		slices.Sort(want)
		if !slices.Equal(names, want) {
			t.Errorf("GetPrefix(org/api) = %v, want %v", names, want)
		}
	})
	t.Run("List returns names and variable names, never values", func(t *testing.T) {
		infos, err := c.List(ctx, "org/api/sub")
		if err != nil {
			t.Fatal(err)
		}
		if len(infos) != 1 || infos[0].GetName() != "org/api/sub/not-exportable" || infos[0].GetEnvName() != "" {
			t.Errorf("List(org/api/sub) = %v", infos)
		}
		all, err := c.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(fieldValues)+2 {
			t.Errorf("List() has %d entries, want %d", len(all), len(fieldValues)+2)
		}
		for _, info := range all {
			if info.GetName() == "org/api/PEM" && info.GetEnvName() != "PEM" {
				t.Errorf("org/api/PEM exports as %q, want PEM", info.GetEnvName())
			}
		}
	})
	t.Run("Set warns when a value is too short to mask", func(t *testing.T) {
		warning, err := c.Set(ctx, "org/short/DOCKER", []byte("docker"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(warning, "org/short/DOCKER") || strings.Contains(warning, "docker\n") {
			t.Errorf("warning %q does not name the secret", warning)
		}
	})
	t.Run("Delete removes a secret", func(t *testing.T) {
		if err := c.Delete(ctx, "org/apix/OTHER_KEY"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(ctx, "org/apix/OTHER_KEY"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get after Delete = %v, want ErrNotFound", err)
		}
	})
	d.assertLogClean(t, append(slices.Collect(maps.Values(fieldValues)), "sk_test_FAKE_outside", "sk_test_FAKE_deep")...)
}

func TestErrorsComeBackAsOneLineAndTheirSentinel(t *testing.T) {
	d := startDaemon(t, daemonConfig{})
	c := d.dial(t)
	ctx := context.Background()
	d.put(t, "org/api/KEY", "sk_test_FAKE_present")
	const bad = "sk_test_FAKE_\x00_nul"

	tests := []struct {
		name     string
		call     func() error
		sentinel error
		code     codes.Code
		says     string
	}{
		{"an unknown name is not found", func() error { _, err := c.Get(ctx, "org/api/NOPE"); return err }, store.ErrNotFound, codes.NotFound, "org/api/NOPE"},
		{"an empty prefix match is not found", func() error { _, err := c.GetPrefix(ctx, "org/none"); return err }, store.ErrNotFound, codes.NotFound, "org/none"},
		{"deleting an unknown name is not found", func() error { return c.Delete(ctx, "org/api/NOPE") }, store.ErrNotFound, codes.NotFound, "org/api/NOPE"},
		{"getting an invalid name is refused", func() error { _, err := c.Get(ctx, "org//KEY"); return err }, secret.ErrInvalidName, codes.InvalidArgument, "org//KEY"},
		{"setting an invalid name is refused", func() error { _, err := c.Set(ctx, "/abs", []byte("x")); return err }, secret.ErrInvalidName, codes.InvalidArgument, "/abs"},
		{"listing an invalid prefix is refused", func() error { _, err := c.List(ctx, "a//b"); return err }, secret.ErrInvalidName, codes.InvalidArgument, "a//b"},
		{"a value with NUL is refused naming the key", func() error { _, err := c.Set(ctx, "org/api/NUL", []byte(bad)); return err }, secret.ErrInvalidValue, codes.InvalidArgument, "org/api/NUL"},
		{"a value over the size limit is refused naming the key", func() error {
			_, err := c.Set(ctx, "org/api/BIG", bytes.Repeat([]byte("x"), secret.MaxValueSize+1))
			return err
		}, secret.ErrInvalidValue, codes.InvalidArgument, "org/api/BIG"},
		{"an empty value is refused naming the key", func() error { _, err := c.Set(ctx, "org/api/KEY", nil); return err }, secret.ErrInvalidValue, codes.InvalidArgument, "org/api/KEY"},
		{"locking a vault without a passphrase is a plain precondition", func() error { return c.Lock(ctx) }, nil, codes.FailedPrecondition, "passphrase"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ce *client.Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v (%T), want a *client.Error", err, err)
			}
			if ce.Code != tc.code {
				t.Errorf("code %v, want %v", ce.Code, tc.code)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("error %q is not %v", err, tc.sentinel)
			}
			if tc.sentinel == nil && errors.Is(err, store.ErrLocked) {
				t.Errorf("error %q claims the store is locked", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.says) || strings.Contains(msg, "\n") {
				t.Errorf("message %q is not one line naming %q", msg, tc.says)
			}
			if strings.Contains(msg, "sk_test_FAKE") {
				t.Errorf("message %q holds a value", msg)
			}
		})
	}
	if _, err := d.vault.Get(ctx, "org/api/NUL"); !errors.Is(err, store.ErrNotFound) {
		t.Error("the refused value was stored anyway")
	}
	if v, err := d.vault.Get(ctx, "org/api/KEY"); err != nil || string(v) != "sk_test_FAKE_present" {
		t.Errorf("after a refused empty set, org/api/KEY = %q, %v; want the value it had", v, err)
	}
	d.assertLogClean(t, "sk_test_FAKE_present", bad)
}

func TestALockedVaultSaysLockedAndOnlyAPersonMayUnlock(t *testing.T) {
	t.Parallel()
	pass := "correct horse FAKE"
	d := startDaemon(t, daemonConfig{passphrase: []byte(pass)})
	c := d.dial(t)
	ctx := context.Background()

	if _, err := c.Get(ctx, "org/api/KEY"); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("Get on a locked vault = %v, want ErrLocked", err)
	}
	if _, err := c.List(ctx, ""); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("List on a locked vault = %v, want ErrLocked", err)
	}
	st, err := c.Status(ctx)
	if err != nil || !st.GetLocked() {
		t.Fatalf("Status = %v, %v; want locked", st, err)
	}

	tests := []struct {
		name string
		kind callerKind
		pass string
		code string
		says string
	}{
		{"a caller without a terminal may not unlock", noTerminal, pass, "PermissionDenied", "only a person at a terminal may unlock"},
		{"an agent may not unlock", agentMarked, pass, "PermissionDenied", "only a person at a terminal may unlock"},
		{"a person with the wrong passphrase is unauthenticated", atTerminal, "wrong FAKE", "Unauthenticated", "passphrase"},
		{"a person with the passphrase unlocks", atTerminal, pass, "OK", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runHelper(t, tc.kind, "", "unlock", d.socket, tc.pass, nil)
			if res.Code != tc.code || !strings.Contains(res.Message, tc.says) {
				t.Fatalf("unlock as %v = %s %q, want %s %q", tc.kind, res.Code, res.Message, tc.code, tc.says)
			}
			if strings.Contains(res.Message, pass) || strings.Contains(res.Message, "wrong FAKE") {
				t.Errorf("message %q holds the passphrase", res.Message)
			}
		})
	}
	if _, err := c.Set(ctx, "org/api/KEY", []byte("sk_test_FAKE_unlocked")); err != nil {
		t.Fatalf("Set after unlock: %v", err)
	}
	if err := c.Lock(ctx); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if _, err := c.Get(ctx, "org/api/KEY"); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("Get after Lock = %v, want ErrLocked", err)
	}
	d.assertLogClean(t, pass, "wrong FAKE", "sk_test_FAKE_unlocked")
}

func TestDeliveryFollowsWhoIsAsking(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, daemonConfig{})
	value := "sk_test_FAKE_delivery_value"
	d.put(t, "org/api/KEY", value, "org/api/OTHER", "sk_test_FAKE_other")

	tests := []struct {
		name     string
		kind     callerKind
		op, arg  string
		delivery hushv1.Delivery
		verdict  hushv1.Verdict
	}{
		{"a person at a terminal gets plaintext", atTerminal, "get", "org/api/KEY", hushv1.Delivery_DELIVERY_PLAINTEXT, hushv1.Verdict_VERDICT_PERSON},
		{"a person's prefix get is plaintext", atTerminal, "getprefix", "org/api", hushv1.Delivery_DELIVERY_PLAINTEXT, hushv1.Verdict_VERDICT_PERSON},
		{"a caller without a terminal gets a handoff", noTerminal, "get", "org/api/KEY", hushv1.Delivery_DELIVERY_HANDOFF, hushv1.Verdict_VERDICT_UNKNOWN},
		{"an agent gets a handoff", agentMarked, "get", "org/api/KEY", hushv1.Delivery_DELIVERY_HANDOFF, hushv1.Verdict_VERDICT_AGENT},
		{"an agent's prefix get is a handoff", agentMarked, "getprefix", "org/api", hushv1.Delivery_DELIVERY_HANDOFF, hushv1.Verdict_VERDICT_AGENT},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runHelper(t, tc.kind, "", tc.op, d.socket, tc.arg, nil)
			if res.Code != "OK" {
				t.Fatalf("%s: %s %s", tc.op, res.Code, res.Message)
			}
			if res.Delivery != tc.delivery.String() || res.Verdict != tc.verdict.String() {
				t.Errorf("delivery %s verdict %s (signal %q), want %s %s", res.Delivery, res.Verdict, res.Signal, tc.delivery, tc.verdict)
			}
			if len(res.Digests) == 0 || res.Digests[0] != digest([]byte(value)) {
				t.Errorf("the caller opened %d values, not the stored one", len(res.Digests))
			}
		})
	}
	d.assertLogClean(t, value, "sk_test_FAKE_other")
}

// brokenSignal cannot read its evidence, as when /proc is unreadable.
type brokenSignal struct{}

func (brokenSignal) Detect(context.Context, []proctree.Process) (string, string, error) {
	return "", "", errors.New("evidence unreadable")
}

func TestAFailedClassificationCountsAsAnAgent(t *testing.T) {
	t.Parallel()
	det := detect.New(detect.WithRoot(os.Getpid()), detect.WithSignal(brokenSignal{}))
	d := startDaemon(t, daemonConfig{opts: []server.Option{server.WithDetector(det)}})
	d.put(t, "org/api/KEY", "sk_test_FAKE_failclosed")

	// A person at a terminal, who would get plaintext if the detector worked.
	res := runHelper(t, atTerminal, "", "get", d.socket, "org/api/KEY", nil)
	if res.Code != "OK" || res.Delivery != hushv1.Delivery_DELIVERY_HANDOFF.String() || res.Verdict != hushv1.Verdict_VERDICT_AGENT.String() {
		t.Errorf("get = %s %s %s (signal %q), want a handoff to an agent", res.Code, res.Delivery, res.Verdict, res.Signal)
	}
	if !strings.Contains(res.Signal, "classification failed") {
		t.Errorf("signal %q does not say classification failed", res.Signal)
	}
	if res := runHelper(t, atTerminal, "", "unlock", d.socket, "x", nil); res.Code != "PermissionDenied" {
		t.Errorf("unlock = %s %q, want PermissionDenied", res.Code, res.Message)
	}
	if !strings.Contains(d.log.String(), "classification failed") {
		t.Error("the failure is not in the daemon log")
	}
	d.assertLogClean(t, "sk_test_FAKE_failclosed")
}

func TestAPeerOfAnotherUserIsRefused(t *testing.T) {
	t.Parallel()
	cred := peerUser(t)
	exe := publicCopy(t)

	t.Run("a socket others could reach still refuses their calls", func(t *testing.T) {
		// Only the interceptor stands between the peer and the secrets
		// here: the dir and the socket are open to everyone.
		dir := shortDir(t)
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "open.sock")
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o666); err != nil {
			t.Fatal(err)
		}
		d := startDaemon(t, daemonConfig{})
		d.put(t, "org/api/KEY", "sk_test_FAKE_peer")
		srv := server.New(d.vault, server.WithDetector(detect.New(detect.WithRoot(os.Getpid()))))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx, l) }()
		defer func() { cancel(); <-done }()

		for _, op := range []string{"list", "get"} {
			res := runHelper(t, noTerminal, exe, op, path, "org/api/KEY", cred)
			if res.Code != "PermissionDenied" || !strings.Contains(res.Message, fmt.Sprintf("uid %d", cred.Uid)) {
				t.Errorf("%s as uid %d = %s %q, want PermissionDenied naming the uid", op, cred.Uid, res.Code, res.Message)
			}
			if len(res.Digests) > 0 {
				t.Error("the peer received a value")
			}
		}
	})
	t.Run("the daemon's own socket is closed to them", func(t *testing.T) {
		d := startDaemon(t, daemonConfig{})
		res := runHelper(t, noTerminal, exe, "list", d.socket, "", cred)
		if res.Code != "Unreachable" || !strings.Contains(res.Message, "permission denied") {
			t.Errorf("list as uid %d = %s %q, want unreachable: permission denied", cred.Uid, res.Code, res.Message)
		}
	})
}

// teeProxy forwards one socket to another and keeps a copy of every byte,
// as an eavesdropper on the socket would.
type teeProxy struct {
	path    string
	traffic syncBuffer
}

func startTeeProxy(t *testing.T, target string) *teeProxy {
	t.Helper()
	p := &teeProxy{path: filepath.Join(shortDir(t), "tee.sock")}
	l, err := net.Listen("unix", p.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("unix", target)
			if err != nil {
				in.Close()
				return
			}
			go func() { io.Copy(out, io.TeeReader(in, &p.traffic)); out.Close() }()
			go func() { io.Copy(in, io.TeeReader(out, &p.traffic)); in.Close() }()
		}
	}()
	return p
}

func TestTheSocketTrafficCarriesNoValue(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, daemonConfig{})
	values := map[string]string{
		"org/api/STRIPE_KEY": "sk_test_FAKE_stripe_4242424242",
		"org/api/PEM":        "-----BEGIN KEY-----\nAAAAFAKEFAKEFAKE\n-----END KEY-----",
	}
	for k, v := range values {
		d.put(t, k, v)
	}
	p := startTeeProxy(t, d.socket)
	c, err := client.Dial(context.Background(), client.WithSocket(p.path))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	one, err := c.Get(ctx, "org/api/STRIPE_KEY")
	if err != nil {
		t.Fatal(err)
	}
	all, err := c.GetPrefix(ctx, "org/api")
	if err != nil {
		t.Fatal(err)
	}
	if string(one.Secrets[0].Value) != values["org/api/STRIPE_KEY"] || len(all.Secrets) != 2 {
		t.Fatal("the client did not open the replies")
	}

	traffic := []byte(p.traffic.String())
	if !bytes.Contains(traffic, []byte("org/api/STRIPE_KEY")) {
		t.Fatal("the capture missed the calls; it proves nothing")
	}
	for name, v := range values {
		for _, part := range []string{v, v[:16], v[len(v)-16:]} {
			if bytes.Contains(traffic, []byte(part)) {
				t.Errorf("the socket traffic holds (part of) the value of %s", name)
			}
		}
	}
}

func TestStatusReportsTheDaemonsState(t *testing.T) {
	d := startDaemon(t, daemonConfig{handoffTTL: time.Hour})
	d.put(t, "org/api/A", "sk_test_FAKE_a", "org/api/B", "sk_test_FAKE_b")
	if _, err := handoff.Write(d.handoffDir, handoff.POSIX, []secret.Secret{{Name: "A", Value: []byte("sk_test_FAKE_a")}}); err != nil {
		t.Fatal(err)
	}
	st, err := d.dial(t).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.GetVersion() == "" || st.GetBackend() != "file" || st.GetLocked() || st.GetSecretCount() != 2 ||
		st.GetHandoffsPending() != 1 || st.GetSocket() != d.socket || st.GetPid() != int32(os.Getpid()) || st.GetUptimeSeconds() < 0 {
		t.Errorf("Status = %v", st)
	}
}

func TestTheReaperRemovesLeftoverAndExpiredScripts(t *testing.T) {
	var leftover string
	d := startDaemon(t, daemonConfig{
		handoffTTL: 300 * time.Millisecond,
		beforeListen: func(run string) {
			var err error
			leftover, err = handoff.Write(run, handoff.POSIX, []secret.Secret{{Name: "A", Value: []byte("sk_test_FAKE_old")}})
			if err != nil {
				t.Fatal(err)
			}
		},
	})
	waitGone(t, leftover, "a script left from before the start")
	fresh, err := handoff.Write(d.handoffDir, handoff.POSIX, []secret.Secret{{Name: "A", Value: []byte("sk_test_FAKE_new")}})
	if err != nil {
		t.Fatal(err)
	}
	waitGone(t, fresh, "a script past its TTL")
}

func waitGone(t *testing.T, path, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
			return
		}
	}
	t.Fatalf("%s was never removed", what)
}

func TestHealthAndReflectionAnswer(t *testing.T) {
	d := startDaemon(t, daemonConfig{})
	conn, err := grpc.NewClient("unix://"+d.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for _, svc := range []string{"", "hush.v1.SecretService", "hush.v1.AdminService"} {
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %q = %v, %v", svc, resp, err)
		}
	}

	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"hush.v1.SecretService", "hush.v1.AdminService", "grpc.health.v1.Health"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}
}

func TestManyClientsAtOnce(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, daemonConfig{})
	const clients, rounds = 32, 8
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			c, err := client.Dial(context.Background(), client.WithSocket(d.socket))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			errs <- clientRounds(c, i, rounds)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	infos, err := d.dial(t).List(context.Background(), "conc")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != clients/2 {
		t.Errorf("%d secrets left, want one per even client (%d)", len(infos), clients/2)
	}
	d.assertLogClean(t, "sk_test_FAKE_conc_")
}

// clientRounds writes one secret, reads it back in every way many times
// while the other clients do the same, and odd clients delete theirs.
func clientRounds(c *client.Client, i, rounds int) error {
	ctx := context.Background()
	prefix := fmt.Sprintf("conc/c%02d", i)
	name := prefix + "/KEY"
	value := fmt.Sprintf("sk_test_FAKE_conc_%02d", i)
	if _, err := c.Set(ctx, name, []byte(value)); err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	for range rounds {
		got, err := c.Get(ctx, name)
		if err != nil {
			return fmt.Errorf("get %s: %w", name, err)
		}
		if string(got.Secrets[0].Value) != value {
			return fmt.Errorf("get %s: another value came back", name)
		}
		all, err := c.GetPrefix(ctx, prefix)
		if err != nil {
			return fmt.Errorf("getprefix %s: %w", prefix, err)
		}
		if len(all.Secrets) != 1 || string(all.Secrets[0].Value) != value {
			return fmt.Errorf("getprefix %s: %d secrets, want exactly its own", prefix, len(all.Secrets))
		}
		if _, err := c.List(ctx, "conc"); err != nil {
			return fmt.Errorf("list: %w", err)
		}
		if _, err := c.Status(ctx); err != nil {
			return fmt.Errorf("status: %w", err)
		}
	}
	if i%2 == 1 {
		if err := c.Delete(ctx, name); err != nil {
			return fmt.Errorf("delete %s: %w", name, err)
		}
	}
	return nil
}
