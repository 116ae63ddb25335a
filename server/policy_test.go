package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/hush-dev/hush/client"
	"github.com/hush-dev/hush/internal/approve"
	"github.com/hush-dev/hush/internal/approve/approvetest"
	"github.com/hush-dev/hush/internal/policy"
	"github.com/hush-dev/hush/internal/proctree/proctreetest"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
	"github.com/hush-dev/hush/server"
)

// The test binary is also the fake pinentry (see approvetest); it must
// become one before TestMain runs the tests.
func init() { approvetest.Main() }

// testPolicy is what the approval tests run under.
func testPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.New(policy.UnknownAsAgent,
		policy.Rule{Prefix: "org/prod", Agent: policy.Confirm, Unknown: policy.Deny},
		policy.Rule{Prefix: "org/secret", Agent: policy.Deny},
	)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// agentTree runs `claude -c 'helper; helper; …'`: a copy of sh named
// claude (one agent session) whose children each make one call, in
// order. Each step is an operation and its argument. It returns what each
// helper reported.
func agentTree(t *testing.T, d *daemon, steps ...[2]string) []helperResult {
	t.Helper()
	var out bytes.Buffer
	cmd := agentCommand(t, d, &out, steps...)
	if err := cmd.Run(); err != nil {
		t.Fatalf("agent tree: %v\n%s", err, out.Bytes())
	}
	return results(t, out.Bytes(), len(steps))
}

func agentCommand(t *testing.T, d *daemon, out *bytes.Buffer, steps ...[2]string) *exec.Cmd {
	t.Helper()
	dir := t.TempDir()
	agent := filepath.Join(dir, "claude")
	if out, err := exec.Command("cp", "/bin/sh", agent).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	var script []string
	for _, s := range steps {
		script = append(script, "HUSH_TEST_HELPER="+s[0]+" HUSH_TEST_ARG="+proctreetest.Quote(s[1])+" "+proctreetest.Quote(testBinary(t)))
	}
	cmd := exec.Command(agent, "-c", strings.Join(script, "; "))
	// A race-enabled helper otherwise sleeps a second on exit.
	cmd.Env = helperEnv("none", d.socket, "", "GORACE=atexit_sleep_ms=0")
	cmd.Dir = "/"
	cmd.Stdout = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}

func results(t *testing.T, out []byte, want int) []helperResult {
	t.Helper()
	var rs []helperResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "RESULT "); ok {
			var r helperResult
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				t.Fatalf("helper output %q: %v", rest, err)
			}
			rs = append(rs, r)
		}
	}
	if len(rs) != want {
		t.Fatalf("%d helpers reported, want %d:\n%s", len(rs), want, out)
	}
	return rs
}

func TestPolicyRefusesWithTheRule(t *testing.T) {
	d := startDaemon(t, daemonConfig{opts: []server.Option{server.WithPolicy(testPolicy(t))}})
	d.put(t, "org/secret/KEY", "sk_test_FAKE_policy_deny", "org/open/KEY", "sk_test_FAKE_policy_open")

	rs := agentTree(t, d, [2]string{"get", "org/secret/KEY"}, [2]string{"getprefix", "org"}, [2]string{"get", "org/open/KEY"})
	for i, want := range []struct{ code, message string }{
		{"PermissionDenied", `denied by policy rule "org/secret" (agent = deny)`},
		{"PermissionDenied", `denied by policy rule "org/secret" (agent = deny)`},
		{"OK", ""},
	} {
		if rs[i].Code != want.code || rs[i].Message != want.message {
			t.Errorf("call %d: %s %q, want %s %q", i, rs[i].Code, rs[i].Message, want.code, want.message)
		}
	}
	if rs[2].Delivery != "DELIVERY_HANDOFF" {
		t.Errorf("an agent's allowed call was delivered as %s", rs[2].Delivery)
	}
	d.assertLogClean(t, "sk_test_FAKE_policy_deny", "sk_test_FAKE_policy_open")
}

func TestPolicyDeniesBeforeReadingTheStore(t *testing.T) {
	d := startDaemon(t, daemonConfig{opts: []server.Option{server.WithPolicy(testPolicy(t))}})
	// The secret does not exist: a denial, not "not found", tells the
	// agent nothing about what is stored under a rule it may not read.
	rs := agentTree(t, d, [2]string{"get", "org/secret/NOPE"})
	if rs[0].Code != "PermissionDenied" {
		t.Errorf("got %s %q, want PermissionDenied", rs[0].Code, rs[0].Message)
	}
}

func TestApprovalThroughPinentry(t *testing.T) {
	fake := approvetest.Pinentry(t, t.TempDir(), approvetest.ByName)
	gate := approve.NewGate(&approve.Pinentry{Program: fake.Path, Env: []string{}}, approve.WithTimeout(20*time.Second))
	d := startDaemon(t, daemonConfig{opts: []server.Option{server.WithPolicy(testPolicy(t)), server.WithApproval(gate)}})
	d.put(t, "org/prod/DB", "sk_test_FAKE_prod_db", "org/prod/API", "sk_test_FAKE_prod_api", "org/prod/CANCEL", "sk_test_FAKE_prod_cancel")

	t.Run("a prefix load asks once; the agent session's later calls below it do not ask", func(t *testing.T) {
		before := fake.Asked(t)
		rs := agentTree(t, d, [2]string{"getprefix", "org/prod"}, [2]string{"get", "org/prod/DB"}, [2]string{"get", "org/prod/API"})
		for i, r := range rs {
			if r.Code != "OK" || r.Delivery != "DELIVERY_HANDOFF" {
				t.Errorf("call %d: %s %q %s", i, r.Code, r.Message, r.Delivery)
			}
		}
		if n := fake.Asked(t) - before; n != 1 {
			t.Errorf("the person was asked %d times, want once", n)
		}
		descs := fake.Descriptions(t)
		last := descs[len(descs)-1]
		for _, want := range []string{"claude", `the secrets under "org/prod"`, "comm:claude", `"org/prod" (agent = confirm)`, "server.test("} {
			if !strings.Contains(last, want) {
				t.Errorf("the question does not name %q:\n%s", want, last)
			}
		}
	})
	t.Run("a new agent session asks again", func(t *testing.T) {
		before := fake.Asked(t)
		rs := agentTree(t, d, [2]string{"get", "org/prod/DB"})
		if rs[0].Code != "OK" {
			t.Errorf("%s %q", rs[0].Code, rs[0].Message)
		}
		if n := fake.Asked(t) - before; n != 1 {
			t.Errorf("the person was asked %d times, want once", n)
		}
	})
	t.Run("a declined request is a one-line denial naming the rule", func(t *testing.T) {
		rs := agentTree(t, d, [2]string{"get", "org/prod/CANCEL"})
		want := `not approved: the secret "org/prod/CANCEL" needs a person's approval by policy rule "org/prod" (agent = confirm): approval denied: the person declined`
		if rs[0].Code != "PermissionDenied" || rs[0].Message != want {
			t.Errorf("got %s %q, want PermissionDenied %q", rs[0].Code, rs[0].Message, want)
		}
	})
	t.Run("an unknown caller under agent = confirm, unknown = deny is denied without asking", func(t *testing.T) {
		before := fake.Asked(t)
		r := runHelper(t, noTerminal, "", "get", d.socket, "org/prod/DB", nil)
		if r.Code != "PermissionDenied" || !strings.Contains(r.Message, `"org/prod" (unknown = deny)`) {
			t.Errorf("got %s %q", r.Code, r.Message)
		}
		if fake.Asked(t) != before {
			t.Error("the person was asked")
		}
	})
	for _, v := range []string{"sk_test_FAKE_prod_db", "sk_test_FAKE_prod_api", "sk_test_FAKE_prod_cancel"} {
		for _, desc := range fake.Commands(t) {
			if strings.Contains(desc, v) {
				t.Fatalf("the pinentry was sent a value")
			}
		}
	}
	d.assertLogClean(t, "sk_test_FAKE_prod_db", "sk_test_FAKE_prod_api", "sk_test_FAKE_prod_cancel")
}

func TestApprovalTimesOutAsOneLine(t *testing.T) {
	fake := approvetest.Pinentry(t, t.TempDir(), approvetest.Hang)
	gate := approve.NewGate(&approve.Pinentry{Program: fake.Path, Env: []string{}}, approve.WithTimeout(300*time.Millisecond))
	d := startDaemon(t, daemonConfig{opts: []server.Option{server.WithPolicy(testPolicy(t)), server.WithApproval(gate)}})
	d.put(t, "org/prod/DB", "sk_test_FAKE_timeout")
	rs := agentTree(t, d, [2]string{"get", "org/prod/DB"})
	want := `not approved: the secret "org/prod/DB" needs a person's approval by policy rule "org/prod" (agent = confirm): approval timed out: nobody answered the pinentry dialog`
	if rs[0].Code != "PermissionDenied" || rs[0].Message != want {
		t.Errorf("got %s %q, want %q", rs[0].Code, rs[0].Message, want)
	}
}

func TestConfirmWithoutAnApproverRefuses(t *testing.T) {
	d := startDaemon(t, daemonConfig{opts: []server.Option{server.WithPolicy(testPolicy(t))}})
	d.put(t, "org/prod/DB", "sk_test_FAKE_noapprover")
	rs := agentTree(t, d, [2]string{"get", "org/prod/DB"})
	if rs[0].Code != "PermissionDenied" || !strings.Contains(rs[0].Message, "no approver is configured") {
		t.Errorf("got %s %q", rs[0].Code, rs[0].Message)
	}
}

func TestAnApprovalInProgressBlocksNobodyElse(t *testing.T) {
	fake := approvetest.Pinentry(t, t.TempDir(), approvetest.ByName)
	gate := approve.NewGate(&approve.Pinentry{Program: fake.Path, Env: []string{}}, approve.WithTimeout(time.Minute))
	d := startDaemon(t, daemonConfig{opts: []server.Option{server.WithPolicy(testPolicy(t)), server.WithApproval(gate)}})
	d.put(t, "org/prod/HANG", "sk_test_FAKE_hang", "org/prod/DB", "sk_test_FAKE_db", "org/open/KEY", "sk_test_FAKE_open")

	// One agent's question stays open for the whole test.
	var stuckOut bytes.Buffer
	stuck := agentCommand(t, d, &stuckOut, [2]string{"get", "org/prod/HANG"})
	proctreetest.Start(t, stuck)
	proctreetest.Eventually(t, "the first question to be asked", func() bool { return fake.Asked(t) == 1 })

	// Meanwhile another agent session is asked and answered, and a call
	// that needs no approval goes straight through.
	rs := agentTree(t, d, [2]string{"get", "org/prod/DB"}, [2]string{"get", "org/open/KEY"})
	for i, r := range rs {
		if r.Code != "OK" {
			t.Errorf("call %d waited on another's question or failed: %s %q", i, r.Code, r.Message)
		}
	}
	if fake.Asked(t) != 2 {
		t.Errorf("the person was asked %d times, want 2", fake.Asked(t))
	}
	if err := syscall.Kill(stuck.Process.Pid, 0); err != nil {
		t.Errorf("the agent waiting for its answer is gone: %v", err)
	}
}

func TestClassify(t *testing.T) {
	d := startDaemon(t, daemonConfig{opts: []server.Option{server.WithPolicy(testPolicy(t))}})
	d.put(t, "org/secret/KEY", "sk_test_FAKE_classify", "org/open/KEY", "sk_test_FAKE_classify2")
	c := d.dial(t)
	ctx := context.Background()

	sleeper := exec.Command("sleep", "600")
	sleeper.Env = []string{"PATH=/usr/bin:/bin", "CLAUDECODE=1"}
	proctreetest.Start(t, sleeper)

	for _, tc := range []struct {
		name           string
		pid            int
		target         string
		verdict        hushv1.Verdict
		rule, outcome  string
		callerPIDIsOwn bool
	}{
		{"pid 0 is the caller itself", 0, "", hushv1.Verdict_VERDICT_UNKNOWN, "built-in default (unknown = handoff, as agent)", "handoff", true},
		{"a name reports its rule", 0, "org/secret/KEY", hushv1.Verdict_VERDICT_UNKNOWN, `"org/secret" (unknown = deny, as agent)`, "deny", true},
		{"a prefix reports the strictest rule below it", 0, "org", hushv1.Verdict_VERDICT_UNKNOWN, `"org/secret" (unknown = deny, as agent)`, "deny", true},
		{"another process of ours is classified", sleeper.Process.Pid, "org/prod/X", hushv1.Verdict_VERDICT_AGENT, `"org/prod" (agent = confirm)`, "confirm", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.Classify(ctx, tc.pid, tc.target)
			if err != nil {
				t.Fatal(err)
			}
			got := resp.GetCaller()
			if got.GetVerdict() != tc.verdict || resp.GetRule() != tc.rule || resp.GetOutcome() != tc.outcome {
				t.Errorf("Classify = %s by %q, %s by %s; want %s, %s by %s", got.GetVerdict(), got.GetSignal(), resp.GetOutcome(), resp.GetRule(), tc.verdict, tc.outcome, tc.rule)
			}
			wantPID := tc.pid
			if tc.callerPIDIsOwn {
				wantPID = os.Getpid()
			}
			if int(got.GetPid()) != wantPID || len(got.GetChain()) == 0 || int(got.GetChain()[0].GetPid()) != wantPID {
				t.Errorf("Classify reports pid %d with chain %v, want %d first", got.GetPid(), got.GetChain(), wantPID)
			}
		})
	}
	for _, tc := range []struct {
		name string
		pid  int
		code codes.Code
	}{
		{"a negative pid is refused", -1, codes.InvalidArgument},
		{"a pid nobody has is not found", 1 << 30, codes.NotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Classify(ctx, tc.pid, "")
			if ce, ok := err.(*client.Error); !ok || ce.Code != tc.code {
				t.Errorf("Classify(%d) = %v, want %s", tc.pid, err, tc.code)
			}
		})
	}
	t.Run("a process of another user is refused", func(t *testing.T) {
		cred := peerUser(t)
		other := exec.Command("sleep", "600")
		other.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		proctreetest.Start(t, other)
		_, err := c.Classify(ctx, other.Process.Pid, "")
		if ce, ok := err.(*client.Error); !ok || ce.Code != codes.PermissionDenied {
			t.Errorf("Classify(another user's pid) = %v, want PermissionDenied", err)
		}
	})
}
