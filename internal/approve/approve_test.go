package approve_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hush-dev/hush/internal/approve"
	"github.com/hush-dev/hush/internal/approve/approvetest"
)

func TestMain(m *testing.M) {
	approvetest.Main()
	os.Exit(m.Run())
}

var request = approve.Request{
	Session: approve.Session{PID: 4242, Start: 99},
	Who:     "agent claude, by comm:claude (pid 4242)",
	Target:  "org/prod/STRIPE_KEY",
	Chain:   "hush(4301) < bash(4290) < claude(4242)",
	Rule:    `"org/prod" (agent = confirm)`,
}

func TestPinentryAnswers(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode approvetest.Mode
		is   error // nil: approved; errAny: an error that is neither sentinel
	}{
		{"OK approves", approvetest.OK, nil},
		{"a cancelled dialog is a denial", approvetest.Cancel, approve.ErrDenied},
		{"a dialog answered 'not confirmed' is a denial", approvetest.NotConfirmed, approve.ErrDenied},
		{"the dialog's own timeout is a timeout", approvetest.Timeout, approve.ErrTimeout},
		{"a pinentry that never answers times out", approvetest.Hang, approve.ErrTimeout},
		{"a pinentry that exits without answering is an error, not an approval", approvetest.Crash, errAny},
		{"a pinentry that answers nonsense is an error, not an approval", approvetest.Garbage, errAny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := approvetest.Pinentry(t, t.TempDir(), tc.mode)
			// Only the hanging pinentry ever reaches this bound.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			err := (&approve.Pinentry{Program: fake.Path, Env: []string{}}).Approve(ctx, request)
			checkErr(t, err, tc.is)
			if fake.Asked(t) != 1 {
				t.Errorf("the pinentry was asked CONFIRM %d times, want 1:\n%s", fake.Asked(t), strings.Join(fake.Commands(t), "\n"))
			}
		})
	}
}

// errAny stands for "an error other than ErrDenied and ErrTimeout".
var errAny = errors.New("any other error")

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("Approve = %v, want approval", err)
	case want == errAny:
		if err == nil || errors.Is(err, approve.ErrDenied) || errors.Is(err, approve.ErrTimeout) {
			t.Fatalf("Approve = %v, want an error other than a denial or timeout", err)
		}
	case want != nil && !errors.Is(err, want):
		t.Fatalf("Approve = %v, want %v", err, want)
	}
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q is more than one line", err)
	}
}

func TestPinentryDescribesTheRequest(t *testing.T) {
	fake := approvetest.Pinentry(t, t.TempDir(), approvetest.OK)
	p := &approve.Pinentry{Program: fake.Path, TTY: "/dev/pts/77", Env: []string{"TERM=screen"}}
	if err := p.Approve(context.Background(), request); err != nil {
		t.Fatal(err)
	}
	descs := fake.Descriptions(t)
	if len(descs) != 1 {
		t.Fatalf("SETDESC sent %d times", len(descs))
	}
	for _, want := range []string{"claude", "org/prod/STRIPE_KEY", request.Chain, request.Rule} {
		if !strings.Contains(descs[0], want) {
			t.Errorf("the description does not name %q:\n%s", want, descs[0])
		}
	}
	cmds := strings.Join(fake.Commands(t), "\n")
	for _, want := range []string{"OPTION ttyname=/dev/pts/77", "OPTION ttytype=screen", "CONFIRM", "BYE"} {
		if !strings.Contains(cmds, want) {
			t.Errorf("the pinentry was not sent %q:\n%s", want, cmds)
		}
	}
	for _, c := range fake.Commands(t) {
		if len(c)+1 > 1000 {
			t.Errorf("an Assuan line of %d bytes exceeds the protocol's 1000", len(c)+1)
		}
	}
}

func TestPinentryEscapesAndBoundsTheDescription(t *testing.T) {
	fake := approvetest.Pinentry(t, t.TempDir(), approvetest.OK)
	r := request
	r.Target = "org/100%/" + strings.Repeat("é", 600)
	r.Who = "a\r\nSETDESC injected\nCONFIRM"
	if err := (&approve.Pinentry{Program: fake.Path, Env: []string{}}).Approve(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if n := fake.Asked(t); n != 1 {
		t.Errorf("CONFIRM sent %d times: a newline in the request reached the protocol", n)
	}
	for _, c := range fake.Commands(t) {
		if len(c)+1 > 1000 {
			t.Errorf("an Assuan line of %d bytes exceeds the protocol's 1000", len(c)+1)
		}
	}
	d := fake.Descriptions(t)
	if len(d) != 1 || !strings.Contains(d[0], "org/100%25/éé") || !strings.Contains(d[0], `a\r\nSETDESC injected\nCONFIRM`) {
		t.Errorf("description %q is not escaped", d)
	}
}

func TestPinentryThatCannotRun(t *testing.T) {
	err := (&approve.Pinentry{Program: filepath.Join(t.TempDir(), "no-such-pinentry")}).Approve(context.Background(), request)
	checkErr(t, err, errAny)
}

func TestCommandApprover(t *testing.T) {
	dir := t.TempDir()
	seen := filepath.Join(dir, "seen")
	for _, tc := range []struct {
		name   string
		script string
		is     error
	}{
		{"exit 0 approves", "exit 0", nil},
		{"exit 1 denies", "exit 1", approve.ErrDenied},
		{"a program still running at the deadline times out", "exec sleep 60", approve.ErrTimeout},
		{"the description arrives in the environment and the arguments", `printf '%s\n--\n%s' "$HUSH_APPROVAL_DESCRIPTION" "$1" > ` + seen, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			c := &approve.Command{Argv: []string{"/bin/sh", "-c", tc.script, "sh", "{description}"}, Env: []string{"PATH=/usr/bin:/bin"}}
			checkErr(t, c.Approve(ctx, request), tc.is)
		})
	}
	b, err := os.ReadFile(seen)
	if err != nil {
		t.Fatal(err)
	}
	env, arg, _ := strings.Cut(string(b), "\n--\n")
	if env != request.Description() || arg != request.Description() {
		t.Errorf("the command saw %q and %q, want the description twice", env, arg)
	}
	t.Run("a missing program is an error, not a denial", func(t *testing.T) {
		checkErr(t, (&approve.Command{Argv: []string{filepath.Join(dir, "nope")}}).Approve(context.Background(), request), errAny)
	})
	t.Run("no program is an error", func(t *testing.T) {
		checkErr(t, (&approve.Command{}).Approve(context.Background(), request), errAny)
	})
}

func TestNoneDenies(t *testing.T) {
	checkErr(t, approve.None{}.Approve(context.Background(), request), approve.ErrDenied)
}

func TestDescriptionNamesWhatIsAsked(t *testing.T) {
	for _, tc := range []struct {
		target string
		prefix bool
		want   string
	}{
		{"org/prod/KEY", false, `the secret "org/prod/KEY"`},
		{"org/prod", true, `the secrets under "org/prod"`},
		{"", true, "every secret"},
	} {
		r := approve.Request{Who: "agent codex", Target: tc.target, Prefix: tc.prefix}
		if d := r.Description(); !strings.Contains(d, "agent codex asks for "+tc.want) {
			t.Errorf("Description() = %q, want it to name %s", d, tc.want)
		}
	}
}
