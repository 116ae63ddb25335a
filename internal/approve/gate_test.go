package approve_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hush-dev/hush/internal/approve"
	"github.com/hush-dev/hush/internal/approve/approvetest"
)

// person is an Approver a test answers for: each question arrives on
// asked and waits for its own answer.
type person struct {
	asked chan question
}

type question struct {
	r      approve.Request
	answer chan error
}

func newPerson() *person { return &person{asked: make(chan question, 16)} }

func (p *person) Approve(ctx context.Context, r approve.Request) error {
	q := question{r: r, answer: make(chan error, 1)}
	p.asked <- q
	select {
	case err := <-q.answer:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// next returns the next question once it has been asked.
func (p *person) next(t *testing.T) question {
	t.Helper()
	select {
	case q := <-p.asked:
		return q
	case <-time.After(20 * time.Second):
		t.Fatal("nobody was asked")
		return question{}
	}
}

// says answers the next question with err.
func (p *person) says(t *testing.T, err error) approve.Request {
	t.Helper()
	q := p.next(t)
	q.answer <- err
	return q.r
}

// notAsked fails if a question is pending.
func (p *person) notAsked(t *testing.T) {
	t.Helper()
	select {
	case q := <-p.asked:
		t.Fatalf("asked again for %s", q.r.What())
	default:
	}
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func req(s approve.Session, target string, prefix bool) approve.Request {
	return approve.Request{Session: s, Target: target, Prefix: prefix, Who: "agent claude"}
}

// check runs Gate.Check in the background, answering through p.
func check(g *approve.Gate, r approve.Request) chan error {
	out := make(chan error, 1)
	go func() {
		_, err := g.Check(context.Background(), r)
		out <- err
	}()
	return out
}

func wait(t *testing.T, c chan error) error {
	t.Helper()
	select {
	case err := <-c:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Check did not return")
		return nil
	}
}

var (
	sessionA = approve.Session{PID: 100, Start: 5000}
	sessionB = approve.Session{PID: 200, Start: 6000}
	// The same PID as A, reused by a later process.
	sessionAReused = approve.Session{PID: 100, Start: 9000}
)

func TestGateGrants(t *testing.T) {
	p := newPerson()
	clk := &clock{t: time.Unix(1_000_000, 0)}
	g := approve.NewGate(p, approve.WithClock(clk.now), approve.WithTTL(30*time.Minute, 4*time.Hour))
	ctx := context.Background()

	c := check(g, req(sessionA, "org/prod", true))
	if r := p.says(t, nil); r.Target != "org/prod" || !r.Prefix {
		t.Fatalf("asked about %s", r.What())
	}
	if err := wait(t, c); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		r    approve.Request
		want approve.Result
	}{
		{"the same prefix again is granted without asking", req(sessionA, "org/prod", true), approve.Granted},
		{"a secret below the granted prefix is granted", req(sessionA, "org/prod/DB", false), approve.Granted},
		{"a narrower prefix is granted", req(sessionA, "org/prod/eu", true), approve.Granted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := g.Check(ctx, tc.r)
			if err != nil || res != tc.want {
				t.Errorf("Check = %v, %v; want %v", res, err, tc.want)
			}
			p.notAsked(t)
		})
	}
	for _, tc := range []struct {
		name string
		r    approve.Request
	}{
		{"another agent session asks again", req(sessionB, "org/prod", true)},
		{"a reused PID is another session", req(sessionAReused, "org/prod", true)},
		{"a wider prefix asks again", req(sessionA, "org", true)},
		{"a sibling prefix asks again", req(sessionA, "org/production", true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := check(g, tc.r)
			p.says(t, approve.ErrDenied)
			if err := wait(t, c); !errors.Is(err, approve.ErrDenied) {
				t.Errorf("Check = %v, want the denial", err)
			}
		})
	}
	t.Run("a grant for one secret covers only that secret", func(t *testing.T) {
		c := check(g, req(sessionB, "team/KEY", false))
		p.says(t, nil)
		if err := wait(t, c); err != nil {
			t.Fatal(err)
		}
		if res, err := g.Check(ctx, req(sessionB, "team/KEY", false)); res != approve.Granted || err != nil {
			t.Errorf("the same secret: %v, %v", res, err)
		}
		c = check(g, req(sessionB, "team/KEY/x", false))
		p.says(t, approve.ErrDenied)
		wait(t, c)
		c = check(g, req(sessionB, "team/KEY", true))
		p.says(t, approve.ErrDenied)
		wait(t, c)
	})
}

func TestGateGrantsLapse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []time.Duration // uses of the grant, after these delays
		after time.Duration   // then this long before the last check
		asks  bool
	}{
		{"used within the idle TTL, a grant holds", nil, 29 * time.Minute, false},
		{"unused for the idle TTL, a grant lapses", nil, 30 * time.Minute, true},
		{"use keeps a grant alive past the idle TTL", []time.Duration{20 * time.Minute, 20 * time.Minute}, 20 * time.Minute, false},
		{"however used, a grant lapses at the maximum TTL", []time.Duration{25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute}, 15 * time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPerson()
			clk := &clock{t: time.Unix(1_000_000, 0)}
			g := approve.NewGate(p, approve.WithClock(clk.now))
			r := req(sessionA, "org/prod", true)
			c := check(g, r)
			p.says(t, nil)
			if err := wait(t, c); err != nil {
				t.Fatal(err)
			}
			for _, d := range tc.steps {
				clk.advance(d)
				if res, err := g.Check(context.Background(), r); res != approve.Granted || err != nil {
					t.Fatalf("use after %s: %v, %v", d, res, err)
				}
			}
			clk.advance(tc.after)
			c = check(g, r)
			if tc.asks {
				p.says(t, nil)
			}
			if err := wait(t, c); err != nil {
				t.Fatal(err)
			}
			p.notAsked(t)
		})
	}
}

func TestGateQuestionsNeverBlockOthers(t *testing.T) {
	p := newPerson()
	g := approve.NewGate(p)
	// Session A's question stays open for the whole test.
	slow := check(g, req(sessionA, "org/prod", true))
	first := p.next(t)

	// Meanwhile session B asks and is answered, and a granted caller and
	// the cooldown path go through.
	c := check(g, req(sessionB, "org/prod", true))
	p.says(t, nil)
	if err := wait(t, c); err != nil {
		t.Fatal(err)
	}
	if res, err := g.Check(context.Background(), req(sessionB, "org/prod/KEY", false)); res != approve.Granted || err != nil {
		t.Errorf("a granted caller waited or failed: %v, %v", res, err)
	}
	select {
	case err := <-slow:
		t.Fatalf("session A's check returned %v before its answer", err)
	default:
	}
	first.answer <- nil
	if err := wait(t, slow); err != nil {
		t.Fatal(err)
	}
}

func TestGateSharesOneQuestionPerSessionAndTarget(t *testing.T) {
	p := newPerson()
	g := approve.NewGate(p)
	r := req(sessionA, "org/prod", true)
	calls := []chan error{check(g, r)}
	q := p.next(t)
	for range 3 {
		calls = append(calls, check(g, r))
	}
	deadline := time.Now().Add(20 * time.Second)
	for g.Waiting() != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d callers wait for the one question, want 4", g.Waiting())
		}
		time.Sleep(time.Millisecond)
	}
	q.answer <- nil
	for _, c := range calls {
		if err := wait(t, c); err != nil {
			t.Errorf("a joined caller got %v", err)
		}
	}
	p.notAsked(t)
}

func TestGateWithoutSessionAsksEveryTime(t *testing.T) {
	p := newPerson()
	g := approve.NewGate(p)
	r := req(approve.Session{}, "org/prod", true)
	for range 2 {
		c := check(g, r)
		p.says(t, nil)
		if err := wait(t, c); err != nil {
			t.Fatal(err)
		}
	}
	// And one caller's denial is not another's.
	c := check(g, r)
	p.says(t, approve.ErrDenied)
	wait(t, c)
	c = check(g, r)
	p.says(t, nil)
	if err := wait(t, c); err != nil {
		t.Errorf("a cooldown applied without a session: %v", err)
	}
}

func TestGateCooldownAfterADenial(t *testing.T) {
	p := newPerson()
	clk := &clock{t: time.Unix(1_000_000, 0)}
	g := approve.NewGate(p, approve.WithClock(clk.now), approve.WithCooldown(time.Minute))
	r := req(sessionA, "org/prod", true)
	c := check(g, r)
	p.says(t, approve.ErrDenied)
	wait(t, c)

	_, err := g.Check(context.Background(), r)
	if !errors.Is(err, approve.ErrDenied) {
		t.Fatalf("retry within the cooldown: %v, want a denial", err)
	}
	p.notAsked(t)

	clk.advance(time.Minute)
	c = check(g, r)
	p.says(t, nil)
	if err := wait(t, c); err != nil {
		t.Fatal(err)
	}
}

func TestGateTimeout(t *testing.T) {
	fake := approvetest.Pinentry(t, t.TempDir(), approvetest.Hang)
	g := approve.NewGate(&approve.Pinentry{Program: fake.Path, Env: []string{}}, approve.WithTimeout(300*time.Millisecond))
	_, err := g.Check(context.Background(), req(sessionA, "org/prod", true))
	if !errors.Is(err, approve.ErrTimeout) {
		t.Fatalf("Check = %v, want a timeout", err)
	}
}

func TestGateClosesADialogNobodyWaitsFor(t *testing.T) {
	p := newPerson()
	g := approve.NewGate(p)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := g.Check(ctx, req(sessionA, "org/prod", true))
		done <- err
	}()
	p.next(t)
	cancel()
	if err := wait(t, done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Check = %v, want context.Canceled", err)
	}
	// The next caller gets a fresh question, not the closed one.
	c := check(g, req(sessionA, "org/prod", true))
	p.says(t, nil)
	if err := wait(t, c); err != nil {
		t.Fatalf("the next caller: %v", err)
	}
}

func TestGateWithoutApproverDenies(t *testing.T) {
	_, err := approve.NewGate(nil).Check(context.Background(), req(sessionA, "x", false))
	if !errors.Is(err, approve.ErrDenied) {
		t.Fatalf("Check = %v, want a denial", err)
	}
}

func TestDescribeNamesTheApproverAndItsTimesButNoEnvironment(t *testing.T) {
	p := &approve.Pinentry{Program: "pinentry-tty", TTY: "/dev/pts/3", Env: []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/FAKE"}}
	d := approve.NewGate(p, approve.WithTimeout(time.Minute)).Describe()
	if !strings.Contains(d, `pinentry "pinentry-tty" tty "/dev/pts/3"`) || !strings.Contains(d, "timeout 1m0s") || strings.Contains(d, "FAKE") {
		t.Errorf("Describe() = %q", d)
	}
	if d == approve.NewGate(p, approve.WithTimeout(2*time.Minute)).Describe() {
		t.Error("two gates with different timeouts describe themselves alike")
	}
	if d := approve.NewGate(&approve.Command{Argv: []string{"fprintd-verify"}}).Describe(); !strings.HasPrefix(d, `command ["fprintd-verify"]`) {
		t.Errorf("Describe() = %q", d)
	}
	if d := approve.NewGate(nil).Describe(); !strings.HasPrefix(d, "none;") {
		t.Errorf("Describe() = %q", d)
	}
}
