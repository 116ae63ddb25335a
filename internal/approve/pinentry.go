package approve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Pinentry asks through a pinentry program (pinentry-gnome3, -qt, -curses,
// -tty, -mac), speaking the Assuan protocol as gpg-agent does: SETDESC
// with the description, then CONFIRM.
type Pinentry struct {
	// Program is the pinentry to run, a name on PATH or a path; "" is
	// "pinentry".
	Program string
	// TTY is the terminal a text pinentry (-tty, -curses) asks on, sent as
	// OPTION ttyname; "" leaves the choice to the program (a graphical one
	// needs none).
	TTY string
	// Env is the program's whole environment; nil passes on the daemon's
	// display, session bus, locale and PATH, and nothing else.
	Env []string
}

var _ Approver = (*Pinentry)(nil)

// Assuan's line limit is 1000 bytes including the command and newline.
const maxAssuanLine = 1000

// gpg-error codes a pinentry answers CONFIRM with (the low 16 bits of the
// ERR number; the high bits name the source).
const (
	gpgErrTimeout      = 62
	gpgErrCanceled     = 99
	gpgErrNotConfirmed = 114
)

// Approve runs the pinentry and asks. The dialog is closed (the program
// and whatever it started in its process group killed) when ctx ends.
func (p *Pinentry) Approve(ctx context.Context, r Request) error {
	prog := p.Program
	if prog == "" {
		prog = "pinentry"
	}
	// Our own cancel, so that a failed conversation also ends the program.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog)
	ownGroup(cmd)
	cmd.Env = p.Env
	if cmd.Env == nil {
		cmd.Env = displayEnv(os.Environ())
	}
	cmd.WaitDelay = time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("pinentry: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("pinentry: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pinentry: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		err := converse(ctx, &assuan{w: stdin, r: bufio.NewReaderSize(stdout, maxAssuanLine)}, p.TTY, cmd.Env, r)
		stdin.Close()
		done <- err
	}()
	var answer error
	select {
	case answer = <-done:
	case <-ctx.Done():
		answer = ctx.Err()
	}
	cancel()
	waitErr := cmd.Wait()
	if ctxErr := ctx.Err(); answer == nil && ctxErr != nil && !errors.Is(ctxErr, context.Canceled) {
		answer = ctxErr
	}
	switch {
	case answer == nil:
		return nil
	case errors.Is(answer, context.DeadlineExceeded):
		return fmt.Errorf("%w: nobody answered the pinentry dialog", ErrTimeout)
	case errors.Is(answer, ErrDenied), errors.Is(answer, ErrTimeout), errors.Is(answer, context.Canceled):
		return answer
	}
	if waitErr != nil && errors.Is(answer, io.EOF) {
		return fmt.Errorf("pinentry %s exited before answering (%v)", prog, waitErr)
	}
	return fmt.Errorf("pinentry %s: %w", prog, answer)
}

// converse runs the dialog: options, texts, CONFIRM.
func converse(ctx context.Context, a *assuan, tty string, env []string, r Request) error {
	if _, err := a.response(); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	var optional []string
	if tty != "" {
		optional = append(optional, "OPTION ttyname="+tty, "OPTION ttytype="+termOf(env))
	}
	if deadline, ok := ctx.Deadline(); ok {
		// The dialog closes itself too, even if we were to lose it.
		if secs := int(time.Until(deadline) / time.Second); secs > 0 {
			optional = append(optional, "SETTIMEOUT "+strconv.Itoa(secs))
		}
	}
	optional = append(optional, "SETTITLE hush", "SETOK _Allow", "SETCANCEL _Deny")
	// Options a pinentry does not know are not worth failing over: the
	// question itself still carries everything.
	for _, c := range optional {
		if err := a.command(c); err != nil && !isERR(err) {
			return err
		}
	}
	if err := a.command("SETDESC " + escape(r.Description(), maxAssuanLine-len("SETDESC \n"))); err != nil {
		return fmt.Errorf("SETDESC: %w", err)
	}
	err := a.command("CONFIRM")
	var e *assuanError
	if errors.As(err, &e) {
		switch e.code & 0xffff {
		case gpgErrCanceled:
			return fmt.Errorf("%w: the person declined", ErrDenied)
		case gpgErrNotConfirmed:
			// Also what pinentry-tty answers when it has no terminal to ask on.
			return fmt.Errorf("%w: the pinentry answered not confirmed", ErrDenied)
		case gpgErrTimeout:
			return fmt.Errorf("%w: the pinentry dialog timed out", ErrTimeout)
		}
		return err
	}
	if err != nil {
		return err
	}
	_ = a.command("BYE")
	return nil
}

// assuan is the client end of an Assuan connection over a pipe.
type assuan struct {
	w io.Writer
	r *bufio.Reader
}

// assuanError is an ERR line.
type assuanError struct {
	code    uint32
	message string
}

func (e *assuanError) Error() string {
	if e.message == "" {
		return fmt.Sprintf("ERR %d", e.code)
	}
	return e.message
}

func isERR(err error) bool {
	var e *assuanError
	return errors.As(err, &e)
}

func (a *assuan) command(line string) error {
	if _, err := io.WriteString(a.w, line+"\n"); err != nil {
		return err
	}
	_, err := a.response()
	return err
}

// response reads lines up to the final OK or ERR, skipping comments,
// status and data lines; an INQUIRE (which CONFIRM never needs) is
// cancelled.
func (a *assuan) response() (string, error) {
	for {
		line, err := a.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return "", errors.New("the pinentry sent an over-long line")
		}
		if err != nil {
			return "", err
		}
		s := strings.TrimRight(string(line), "\r\n")
		switch {
		case s == "OK" || strings.HasPrefix(s, "OK "):
			return strings.TrimPrefix(strings.TrimPrefix(s, "OK"), " "), nil
		case s == "ERR" || strings.HasPrefix(s, "ERR "):
			return "", parseERR(s)
		case strings.HasPrefix(s, "INQUIRE "):
			if _, err := io.WriteString(a.w, "CAN\n"); err != nil {
				return "", err
			}
		case s == "" || s[0] == '#' || strings.HasPrefix(s, "S ") || strings.HasPrefix(s, "D "):
		default:
			return "", fmt.Errorf("unexpected reply %q from the pinentry", truncate(s, 80))
		}
	}
}

func parseERR(s string) error {
	rest := strings.TrimSpace(strings.TrimPrefix(s, "ERR"))
	num, msg, _ := strings.Cut(rest, " ")
	code, err := strconv.ParseUint(num, 10, 32)
	if err != nil {
		return &assuanError{message: truncate(rest, 120)}
	}
	return &assuanError{code: uint32(code), message: truncate(unescape(msg), 120)}
}

// escape percent-escapes text for an Assuan line (%, CR, LF and other
// control characters) and cuts it to at most limit bytes without
// splitting an escape or a character.
func escape(text string, limit int) string {
	var b strings.Builder
	for _, r := range text {
		var piece string
		switch {
		case r == '%' || r < 0x20 || r == 0x7f:
			piece = fmt.Sprintf("%%%02X", r)
		case r == utf8.RuneError:
			piece = "?"
		default:
			piece = string(r)
		}
		if b.Len()+len(piece) > limit {
			break
		}
		b.WriteString(piece)
	}
	return b.String()
}

// unescape reverses escape for a pinentry's own messages.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// displayEnv keeps what a dialog needs to reach the person: the display,
// the session bus, the locale, and where programs are.
func displayEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "PATH", name == "HOME", name == "LANG", name == "TERM",
			name == "DISPLAY", name == "WAYLAND_DISPLAY", name == "XAUTHORITY",
			name == "DBUS_SESSION_BUS_ADDRESS", name == "XDG_RUNTIME_DIR",
			name == "XDG_SESSION_TYPE", name == "XDG_CURRENT_DESKTOP",
			strings.HasPrefix(name, "LC_"):
			out = append(out, kv)
		}
	}
	return out
}

func termOf(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "TERM="); ok && v != "" {
			return v
		}
	}
	return "xterm"
}
