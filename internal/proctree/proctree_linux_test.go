package proctree_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/hush-dev/hush/internal/proctree"
	"github.com/hush-dev/hush/internal/proctree/proctreetest"
)

func TestReadDescribesThisProcess(t *testing.T) {
	p, err := proctree.Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe, err = filepath.EvalSymlinks(exe)
	if err != nil {
		t.Fatal(err)
	}
	sid, err := unix.Getsid(0)
	if err != nil {
		t.Fatal(err)
	}
	comm := filepath.Base(exe)
	if len(comm) > 15 {
		comm = comm[:15]
	}
	checks := []struct {
		field     string
		got, want any
	}{
		{"PID", p.PID, os.Getpid()},
		{"PPID", p.PPID, os.Getppid()},
		{"UID", p.UID, uint32(os.Geteuid())},
		{"SID", p.SID, sid},
		{"Exe", p.Exe, exe},
		{"Comm", p.Comm, comm},
		{"Argv", len(p.Argv), len(os.Args)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	if !slices.Equal(p.Argv, os.Args) {
		t.Errorf("Argv = %q, want %q", p.Argv, os.Args)
	}
	if p.Start == 0 {
		t.Error("Start = 0")
	}
}

func TestReadKeepsOddNamesAndArgumentsExact(t *testing.T) {
	dir := t.TempDir()
	// A name with spaces and parentheses is what breaks naive stat parsing.
	odd := filepath.Join(dir, "we ird) (x")
	if err := os.Symlink("/bin/sh", odd); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(odd, "-c", "read x", "a b", "", "ü", "-")
	cmd.Env = proctreetest.CleanEnv(dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	proctreetest.Start(t, cmd)

	var p proctree.Process
	proctreetest.Eventually(t, "the shell to start", func() bool {
		p, err = proctree.Read(cmd.Process.Pid)
		return err == nil && len(p.Argv) > 0 && p.Argv[0] == odd
	})
	if p.Comm != "we ird) (x" {
		t.Errorf("Comm = %q", p.Comm)
	}
	want := []string{odd, "-c", "read x", "a b", "", "ü", "-"}
	if !slices.Equal(p.Argv, want) {
		t.Errorf("Argv = %q, want %q", p.Argv, want)
	}
	if p.PPID != os.Getpid() {
		t.Errorf("PPID = %d, want %d", p.PPID, os.Getpid())
	}
}

// A process resolves relative paths (`node cli.js`) against its working
// directory; detection needs the real one, symlinks in it resolved as the
// kernel holds it.
func TestReadSeesTheWorkingDirectory(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "app dir")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(work, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(proctreetest.Tool(t, "sleep", "coreutils"), "600")
	cmd.Dir = link
	cmd.Env = proctreetest.CleanEnv(dir)
	proctreetest.Start(t, cmd)

	p, err := proctree.Read(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if p.Cwd != work {
		t.Errorf("Cwd = %q, want %q", p.Cwd, work)
	}
}

func TestReadSeesTheControllingTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	cmd := exec.Command(proctreetest.Tool(t, "sleep", "coreutils"), "600")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.Env = proctreetest.CleanEnv(t.TempDir())
	cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true}
	proctreetest.Start(t, cmd)

	p, err := proctree.Read(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if p.TTY == 0 || proctree.TTYName(p.TTY) != tty.Name() {
		t.Errorf("TTY = %d (%q), want %s", p.TTY, proctree.TTYName(p.TTY), tty.Name())
	}
	if p.SID != p.PID {
		t.Errorf("SID = %d, want the session leader's own PID %d", p.SID, p.PID)
	}
}

func TestTTYNameDecodesDeviceNumbers(t *testing.T) {
	encode := func(major, minor int) int { return minor&0xff | major<<8 | (minor&^0xff)<<12 }
	for _, tc := range []struct {
		name string
		nr   int
		want string
	}{
		{"no terminal is the empty name", 0, ""},
		{"a pseudo-terminal is under /dev/pts", encode(136, 3), "/dev/pts/3"},
		{"a pseudo-terminal above 255 keeps its number", encode(136, 300), "/dev/pts/300"},
		{"a virtual console is /dev/ttyN", encode(4, 2), "/dev/tty2"},
		{"a serial line is /dev/ttySN", encode(4, 65), "/dev/ttyS1"},
		{"an unknown device shows its numbers", encode(188, 0), "tty 188:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := proctree.TTYName(tc.nr); got != tc.want {
				t.Errorf("TTYName(%d) = %q, want %q", tc.nr, got, tc.want)
			}
		})
	}
}

func TestEnvironReturnsTheEnvironmentExactly(t *testing.T) {
	env := []string{"A=1", "B=two words", "C=", "D=x=y"}
	cmd := exec.Command(proctreetest.Tool(t, "sleep", "coreutils"), "600")
	cmd.Env = env
	proctreetest.Start(t, cmd)

	// Start returns once exec has begun; the new environment area is set
	// up a moment later.
	var got []string
	var err error
	proctreetest.Eventually(t, "the environment to be in place", func() bool {
		got, err = proctree.Environ(cmd.Process.Pid)
		return err != nil || len(got) > 0
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, env) {
		t.Errorf("Environ = %q, want %q", got, env)
	}
	p, err := proctree.Read(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.Environ(); err != nil || !slices.Equal(got, env) {
		t.Errorf("Process.Environ = %q, %v", got, err)
	}
}

func TestAProcessWhosePIDNamesAnotherProcessHasVanished(t *testing.T) {
	p, err := proctree.Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	p.Start++ // what a reused PID looks like: same number, other start time
	if err := p.Alive(); !errors.Is(err, proctree.ErrVanished) {
		t.Errorf("Alive = %v, want ErrVanished", err)
	}
	if _, err := p.Environ(); !errors.Is(err, proctree.ErrVanished) {
		t.Errorf("Environ = %v, want ErrVanished", err)
	}
}

// nested starts outer sh → middle sh → caller and returns the caller's PID
// and the outer shell.
func nested(t *testing.T) (int, *exec.Cmd) {
	t.Helper()
	dir := t.TempDir()
	caller := proctreetest.NewCaller(t, dir)
	cmd := exec.Command("/bin/sh", "-c", "/bin/sh -c "+proctreetest.Quote(caller.Command+"; true")+"; true")
	cmd.Env = proctreetest.CleanEnv(dir)
	proctreetest.Start(t, cmd)
	return caller.Wait(t), cmd
}

func TestChainWalksUpToTheRoot(t *testing.T) {
	caller, outer := nested(t)

	chain, err := proctree.Chain(caller, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 3 {
		t.Fatalf("Chain = %d processes, want caller, middle and outer shell: %+v", len(chain), chain)
	}
	if chain[0].PID != caller || chain[0].Comm != "sleep" {
		t.Errorf("chain[0] = pid %d %q, want the caller %d", chain[0].PID, chain[0].Comm, caller)
	}
	if chain[2].PID != outer.Process.Pid {
		t.Errorf("chain[2] = pid %d, want the outer shell %d", chain[2].PID, outer.Process.Pid)
	}
	for i := 0; i+1 < len(chain); i++ {
		if chain[i].PPID != chain[i+1].PID {
			t.Errorf("chain[%d].PPID = %d, but chain[%d] is pid %d", i, chain[i].PPID, i+1, chain[i+1].PID)
		}
		if chain[i+1].Start > chain[i].Start {
			t.Errorf("pid %d started after its child %d", chain[i+1].PID, chain[i].PID)
		}
	}
}

func TestChainWithoutARootEndsAtInit(t *testing.T) {
	caller, _ := nested(t)
	chain, err := proctree.Chain(caller, 0)
	if err != nil {
		t.Fatal(err)
	}
	if last := chain[len(chain)-1]; last.PID != 1 {
		t.Errorf("the chain ends at pid %d, want 1", last.PID)
	}
	if !slices.ContainsFunc(chain, func(p proctree.Process) bool { return p.PID == os.Getpid() }) {
		t.Error("the chain skips the test process")
	}
}

func TestChainOfTheRootItselfIsJustTheRoot(t *testing.T) {
	chain, err := proctree.Chain(os.Getpid(), os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 1 || chain[0].PID != os.Getpid() {
		t.Errorf("Chain = %+v, want only this process", chain)
	}
}

func TestChainOfAReparentedProcessNeverShowsTheRootsAncestors(t *testing.T) {
	dir := t.TempDir()
	caller := proctreetest.NewCaller(t, dir)
	// The subshell exits at once: the caller is re-parented to init or to a
	// subreaper above this test.
	cmd := exec.Command("/bin/sh", "-c", "( "+caller.Command+" & ); exit 0")
	cmd.Env = proctreetest.CleanEnv(dir)
	proctreetest.Start(t, cmd)
	pid := caller.Wait(t)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}

	above, err := proctree.Chain(os.Getpid(), 0)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := proctree.Chain(pid, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range chain {
		for _, a := range above {
			if p.PID == a.PID {
				t.Errorf("the chain shows pid %d (%s), the test's own ancestor", p.PID, p.Comm)
			}
		}
	}
	if chain[0].PID != pid {
		t.Errorf("chain[0] = pid %d, want %d", chain[0].PID, pid)
	}
}

func TestChainFailsClosed(t *testing.T) {
	gone := exec.Command("/bin/true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		pid, root int
		vanished  bool
	}{
		{"a process that exited has vanished", gone.Process.Pid, 0, true},
		{"a root that exited has vanished", os.Getpid(), gone.Process.Pid, true},
		{"PID 0 is refused", 0, 0, false},
		{"a negative PID is refused", -5, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chain, err := proctree.Chain(tc.pid, tc.root)
			if err == nil {
				t.Fatalf("Chain = %+v, want an error", chain)
			}
			if errors.Is(err, proctree.ErrVanished) != tc.vanished {
				t.Errorf("Chain error %q: ErrVanished = %v, want %v", err, !tc.vanished, tc.vanished)
			}
		})
	}
}

func TestSessionListsItsMembersBelowTheRoot(t *testing.T) {
	dir := t.TempDir()
	child := proctreetest.NewCaller(t, filepath.Join(dir))
	orphanDir := filepath.Join(dir, "orphan")
	if err := os.Mkdir(orphanDir, 0o700); err != nil {
		t.Fatal(err)
	}
	orphan := proctreetest.NewCaller(t, orphanDir)
	// A session leader with one child and one double-forked orphan that
	// keeps the session but leaves the root's subtree.
	leader := exec.Command("/bin/sh", "-c", child.Command+" & ( "+orphan.Command+" & ); wait")
	leader.Env = proctreetest.CleanEnv(dir)
	leader.SysProcAttr = &unix.SysProcAttr{Setsid: true}
	proctreetest.Start(t, leader)
	childPID, orphanPID := child.Wait(t), orphan.Wait(t)
	sid := leader.Process.Pid

	pids := func(ps []proctree.Process) []int {
		var out []int
		for _, p := range ps {
			if p.SID != sid {
				t.Errorf("Session(%d) returned pid %d of session %d", sid, p.PID, p.SID)
			}
			out = append(out, p.PID)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(s ...int) []int { slices.Sort(s); return s }

	all, err := proctree.Session(sid, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pids(all), sorted(sid, childPID, orphanPID); !slices.Equal(got, want) {
		t.Errorf("Session(sid, 0) = %v, want %v", got, want)
	}
	below, err := proctree.Session(sid, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pids(below), sorted(sid, childPID); !slices.Equal(got, want) {
		t.Errorf("Session(sid, root) = %v, want %v (the orphan left the root's subtree)", got, want)
	}
	if none, err := proctree.Session(0, 0); err != nil || len(none) != 0 {
		t.Errorf("Session(0) = %v, %v; want nothing", none, err)
	}
}
