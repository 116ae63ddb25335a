package cli

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// TestSetRefusesAnEmptyValueTypedAtThePrompt is Enter pressed at the hidden
// prompt: a terminal is needed, which a testscript does not have. The
// refusal comes before any daemon is asked, so none runs here.
func TestSetRefusesAnEmptyValueTypedAtThePrompt(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	t.Setenv("HUSH_HOME", t.TempDir())
	t.Setenv("HUSH_NO_AUTOSTART", "1")
	go io.Copy(io.Discard, ptmx) // whatever the terminal echoes
	if _, err := ptmx.Write([]byte("\n")); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	a := &app{stdin: tty, stdout: &stdout, stderr: &stderr}
	if code := a.run(context.Background(), []string{"set", "t/KEY"}); code != ExitInvalid {
		t.Errorf("exit %d, want %d (invalid value); stderr %q", code, ExitInvalid, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "the value is empty") || !strings.Contains(last, "hush rm t/KEY") {
		t.Errorf("the last stderr line %q does not say the value is empty and how to delete", last)
	}
	if strings.Contains(stderr.String(), "hush: stored") || stdout.Len() > 0 {
		t.Errorf("stdout %q, stderr %q: want only the prompt and the refusal", stdout.String(), stderr.String())
	}
}
