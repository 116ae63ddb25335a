package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Stage is a throwaway hush: a temporary HUSH_HOME with a file vault
// without passphrase, a running daemon, and the clean environment every
// process of the stage gets.
type Stage struct {
	Hush      string   // the hush binary
	Dir       string   // the stage's temporary root; Close removes it
	Home      string   // HUSH_HOME
	Env       []string // the environment of every process the stage starts
	DaemonLog string   // the daemon's stdout and stderr
	DaemonPID int

	daemon  *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// TreeRootFlag is `hush daemon`'s hidden flag naming the process at which
// the daemon stops examining a caller's ancestry.
const TreeRootFlag = "--test-tree-root"

// readyTimeout bounds how long a fresh daemon may take to answer.
const readyTimeout = 20 * time.Second

// NewStage creates the temporary HUSH_HOME, runs `hush init
// --no-passphrase` and starts `hush daemon` with TreeRootFlag, returning
// once the daemon answers. treeRoot is where the daemon stops examining a
// caller's ancestry: the process that owns the stage, so that whatever
// runs above it (a developer's own agent, a CI runner) does not decide.
func NewStage(ctx context.Context, hush string, treeRoot int) (_ *Stage, err error) {
	// Not t.TempDir-style deep paths: the socket lives below this and a
	// Unix socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "hush-demo-")
	if err != nil {
		return nil, fmt.Errorf("creating the stage directory: %w", err)
	}
	s := &Stage{
		Hush:      hush,
		Dir:       dir,
		Home:      filepath.Join(dir, "hush"),
		DaemonLog: filepath.Join(dir, "daemon.log"),
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	home := filepath.Join(dir, "home")
	for _, d := range []string{s.Home, home} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, fmt.Errorf("creating the stage directory: %w", err)
		}
	}
	// Built from nothing, never from os.Environ(): the caller's environment
	// may carry agent markers (CLAUDECODE, AI_AGENT, …) that would decide
	// the daemon's verdict instead of the process tree under test.
	s.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"HUSH_HOME=" + s.Home,
		"HUSH_NO_AUTOSTART=1",
	}

	if _, _, err := s.Run(ctx, nil, "init", "--no-passphrase"); err != nil {
		return nil, err
	}
	if err := s.startDaemon(treeRoot); err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Command returns hush with args, set up like every process of the stage:
// the clean environment and a session of its own, so that no terminal of
// the caller's makes it look like a person.
func (s *Stage) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.Hush, args...)
	s.prepare(cmd)
	return cmd
}

func (s *Stage) prepare(cmd *exec.Cmd) {
	cmd.Env = s.Env
	cmd.Dir = s.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}

// Run runs hush with args and stdin, returning its stdout and stderr. A
// failure is one error line carrying the command's first stderr line.
func (s *Stage) Run(ctx context.Context, stdin []byte, args ...string) (stdout, stderr []byte, err error) {
	cmd := s.Command(ctx, args...)
	var o, e bytes.Buffer
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		return o.Bytes(), e.Bytes(), fmt.Errorf("hush %s: %w: %s", strings.Join(args, " "), err, firstLine(e.Bytes()))
	}
	return o.Bytes(), e.Bytes(), nil
}

// Set stores value under name the way a person scripts it: `hush set NAME`
// with the value on stdin, never in argv.
func (s *Stage) Set(ctx context.Context, name string, value []byte) error {
	_, _, err := s.Run(ctx, value, "set", name)
	return err
}

func (s *Stage) startDaemon(treeRoot int) error {
	log, err := os.OpenFile(s.DaemonLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("creating the daemon log: %w", err)
	}
	defer log.Close()
	// Not CommandContext: the daemon outlives the call that starts it and
	// Close stops it.
	cmd := exec.Command(s.Hush, "daemon", TreeRootFlag, strconv.Itoa(treeRoot))
	s.prepare(cmd)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting hush daemon: %w", err)
	}
	s.daemon, s.DaemonPID = cmd, cmd.Process.Pid
	s.exited = make(chan struct{})
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	return nil
}

// waitReady polls `hush status` until the daemon answers.
func (s *Stage) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for {
		_, _, err := s.Run(ctx, nil, "status")
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("hush daemon exited before answering (%v): %s", s.waitErr, lastLine(s.DaemonLog))
		case <-ctx.Done():
			return fmt.Errorf("hush daemon did not answer within %v: %w", readyTimeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Close stops the daemon and removes the stage directory.
func (s *Stage) Close() error {
	var errs []error
	if s.daemon != nil {
		select {
		case <-s.exited:
		default:
			s.daemon.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(10 * time.Second):
				s.daemon.Process.Kill()
				<-s.exited
				errs = append(errs, errors.New("hush daemon ignored SIGTERM for 10s and was killed"))
			}
		}
	}
	if err := os.RemoveAll(s.Dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// DaemonExited reports whether the daemon has stopped, and how.
func (s *Stage) DaemonExited() (bool, error) {
	select {
	case <-s.exited:
		return true, s.waitErr
	default:
		return false, nil
	}
}

func firstLine(b []byte) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if line == "" {
		return "(no error output)"
	}
	return line
}

func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no daemon log)"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[len(lines)-1] == "" {
		return "(empty daemon log)"
	}
	return lines[len(lines)-1]
}
