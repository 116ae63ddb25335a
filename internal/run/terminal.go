package run

import (
	"io"
	"os"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// terminal is the pty a child runs under when our stdout is a terminal.
type terminal struct {
	master  *os.File // our side of the child's terminal
	outer   *os.File // the terminal we write to
	outDone chan struct{}

	stdin   *os.File // our stdin when it is a terminal, in raw mode
	restore func()
	inDone  chan struct{}
}

// startTerminal starts the child on a new pty whose output goes through the
// masker to outer. The child's stdin is the pty when our stdin is a
// terminal (keystrokes are relayed), else our stdin as it is; its stderr is
// the pty when our stderr is a terminal, else a masked pipe.
func (c *child) startTerminal(outer *os.File, stdin io.Reader, stderr io.Writer) error {
	master, tty, err := pty.Open()
	if err != nil {
		return err
	}
	defer tty.Close()
	master, err = pollable(master)
	if err != nil {
		return err
	}
	t := &terminal{master: master, outer: outer, outDone: make(chan struct{})}
	t.resize()
	rawInput := false
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		t.stdin, rawInput = f, true
	}
	modes := termios(outer)
	copyModes(modes, tty, rawInput)

	c.cmd.Stdout = tty
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		c.cmd.Stderr = tty
	} else {
		c.cmd.Stderr = c.masked(stderr)
	}
	c.cmd.Stdin = stdin
	if t.stdin != nil {
		c.cmd.Stdin = tty
		if err := t.takeInput(modes); err != nil {
			master.Close()
			return err
		}
	}
	// A session of its own with the pty as controlling terminal (fd 1 in
	// the child), as a login shell would have.
	c.cmd.SysProcAttr.Setsid = true
	c.cmd.SysProcAttr.Setctty = true
	c.cmd.SysProcAttr.Ctty = 1
	if err := c.cmd.Start(); err != nil {
		if t.restore != nil {
			t.restore()
		}
		master.Close()
		return err
	}

	out := c.masked(outer)
	go func() {
		defer close(t.outDone)
		// Reading the master ends with EIO once no process has the pty
		// open any more; that is the end of the output.
		_, _ = io.Copy(out, master)
	}()
	if t.stdin != nil {
		t.inDone = make(chan struct{})
		go func() {
			defer close(t.inDone)
			_, _ = io.Copy(master, t.stdin)
		}()
	}
	c.term = t
	return nil
}

// takeInput moves what was typed ahead to the child's terminal and puts
// ours in raw mode. Both happen before the child starts: output it wrote
// while ours still translated newlines would reach the screen as \r\r\n.
func (t *terminal) takeInput(modes *unix.Termios) error {
	eof := byte(4) // ^D, the default
	if modes != nil {
		eof = modes.Cc[unix.VEOF]
	}
	if in := termios(t.stdin); in != nil && in.Lflag&unix.ICANON != 0 {
		if ahead := typeahead(t.stdin, eof); len(ahead) > 0 {
			if _, err := t.master.Write(ahead); err != nil {
				return err
			}
		}
	}
	t.restore = makeRaw(t.stdin)
	return nil
}

// maxTypeahead bounds what typeahead takes: it must fit in the child's
// terminal, which nobody reads yet, and input that keeps coming must not
// hold the child back. What is left arrives raw.
const maxTypeahead = 1024

// typeahead takes what is waiting in a terminal in canonical mode: whole
// lines, and end-of-file marks (a ^D at the start of a line). Left there, a
// mark would turn into a NUL byte when the terminal goes raw, which the
// child's terminal echoes as ^@; script(1) sends one as soon as its own
// input ends. A line is passed on as typed and a mark as eof, the child's
// terminal's end-of-file character, so the child sees the end of its input
// as it would have without hush. A partial line stays and arrives raw.
func typeahead(f *os.File, eof byte) []byte {
	var out []byte
	buf := make([]byte, 256)
	control(f, func(fd int) {
		for tries := 0; len(out) < maxTypeahead && tries < maxTypeahead; tries++ {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, err := unix.Poll(fds, 0)
			if err == unix.EINTR {
				continue
			}
			// A terminal that hung up reads as an endless end of file.
			if err != nil || n == 0 || fds[0].Revents&unix.POLLIN == 0 ||
				fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
				return
			}
			n, err = unix.Read(fd, buf[:min(len(buf), maxTypeahead-len(out))])
			switch {
			case err == unix.EINTR:
				continue
			case err != nil:
				return
			case n > 0:
				out = append(out, buf[:n]...)
			case eof != 0 && eof != 0xff: // 0xff: _POSIX_VDISABLE on macOS
				out = append(out, eof)
			}
		}
	})
	return out
}

// finish collects the last output once the child has exited. The caller
// then flushes the masker and gives the terminal back (restoreInput): in
// that order, so that what the masker held back is written while the
// terminal is still raw and its newlines are not translated twice.
func (t *terminal) finish() {
	select {
	case <-t.outDone:
	case <-time.After(drainGrace):
		// Something the child started still holds the pty open.
		if t.master.SetReadDeadline(time.Now()) == nil {
			<-t.outDone
		}
	}
	_ = t.master.Close()
}

// restoreInput gives the caller's terminal back as it was.
func (t *terminal) restoreInput() {
	if t.stdin == nil {
		return
	}
	t.restore()
	// Unblock the keystroke relay. This works when stdin is pollable (a
	// pty opened by Go); for the process's own stdin the relay stays
	// blocked until the next keystroke, which it then drops.
	if t.stdin.SetReadDeadline(time.Now()) == nil {
		<-t.inDone
		_ = t.stdin.SetReadDeadline(time.Time{})
	}
}

// resize gives the child's terminal the size of ours; the kernel then
// sends the child SIGWINCH.
func (t *terminal) resize() {
	var ws *unix.Winsize
	var err error
	control(t.outer, func(fd int) { ws, err = unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ) })
	if err != nil || ws == nil {
		return
	}
	control(t.master, func(fd int) { _ = unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, ws) })
}

// termios returns a terminal's modes, nil if they cannot be read.
func termios(f *os.File) *unix.Termios {
	var tio *unix.Termios
	var err error
	control(f, func(fd int) { tio, err = unix.IoctlGetTermios(fd, ioctlGetTermios) })
	if err != nil {
		return nil
	}
	return tio
}

// copyModes gives the child's terminal the modes of ours (erase and
// interrupt characters, UTF-8 input, ...), as script(1) does. Output
// processing (\n to \r\n) must happen once: on the child's terminal when
// ours is put in raw mode, else on ours.
func copyModes(modes *unix.Termios, tty *os.File, rawOuter bool) {
	if modes == nil {
		return
	}
	tio := *modes
	if !rawOuter {
		tio.Oflag &^= unix.OPOST
	}
	control(tty, func(fd int) { _ = unix.IoctlSetTermios(fd, ioctlSetTermios, &tio) })
}

// pollable returns a copy of f registered with Go's poller, so that a
// blocked Read can be ended with a deadline; f is closed. creack/pty hands
// out a blocking descriptor.
func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	var fd int
	var err error
	control(f, func(old int) { fd, err = unix.Dup(old) })
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// makeRaw puts a terminal in raw mode and returns the function that undoes
// it. Going through SyscallConn leaves the file's blocking mode alone.
func makeRaw(f *os.File) (restore func()) {
	var st *term.State
	control(f, func(fd int) { st, _ = term.MakeRaw(fd) })
	return func() {
		if st != nil {
			control(f, func(fd int) { _ = term.Restore(fd, st) })
		}
	}
}

func isTerminal(f *os.File) bool {
	yes := false
	control(f, func(fd int) { yes = term.IsTerminal(fd) })
	return yes
}

func control(f *os.File, fn func(fd int)) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) { fn(int(fd)) })
}
