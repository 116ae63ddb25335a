//go:build darwin

package proctree

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"

	"golang.org/x/sys/unix"
)

// macOS has no /proc. Everything here is read with sysctl, which x/sys
// calls through libSystem without cgo: kern.proc.pid and kern.proc.all for
// kinfo_proc, kern.procargs2 for arguments and environment. The working
// directory needs proc_pidinfo (libproc), so Cwd stays "" and detect
// resolves no relative script path.

const (
	szomb = 5  // SZOMB in <sys/proc.h>: exited, not yet reaped
	nodev = -1 // NODEV: e_tdev of a process without a controlling terminal
)

// kinfo is what a process's kinfo_proc says, in Process's terms.
type kinfo struct {
	ppid   int
	uid    uint32 // effective
	start  uint64 // microseconds since the epoch
	comm   string
	tty    int
	zombie bool
}

func decodeKinfo(kp *unix.KinfoProc) (kinfo, error) {
	// p_starttime is the wall clock at fork. Stepping the clock back makes
	// later children look older than their parents; the walk then refuses
	// the chain, which fails closed.
	tv := kp.Proc.P_starttime
	if tv.Sec < 0 || tv.Sec > math.MaxInt64/1_000_000 || tv.Usec < 0 || tv.Usec >= 1e6 {
		return kinfo{}, fmt.Errorf("start time %d.%06d out of range", tv.Sec, tv.Usec)
	}
	k := kinfo{
		ppid:   int(kp.Eproc.Ppid),
		uid:    kp.Eproc.Ucred.Uid,
		start:  uint64(tv.Sec)*1e6 + uint64(tv.Usec),
		comm:   unix.ByteSliceToString(kp.Proc.P_comm[:]),
		zombie: kp.Proc.P_stat == szomb,
	}
	// /dev/console is device 0, which Process cannot tell from none: a
	// console login counts as no terminal (Unknown), never as more.
	if kp.Eproc.Tdev != nodev {
		k.tty = int(uint32(kp.Eproc.Tdev))
	}
	return k, nil
}

func readKinfo(pid int) (kinfo, error) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if errors.Is(err, unix.EIO) {
		// x/sys reports EIO when the kernel copied out no whole kinfo_proc,
		// which for kern.proc.pid means no process has this PID.
		return kinfo{}, fmt.Errorf("%w: pid %d", ErrVanished, pid)
	}
	if err != nil {
		return kinfo{}, fmt.Errorf("proctree: pid %d: kern.proc.pid: %w", pid, err)
	}
	if int(kp.Proc.P_pid) != pid {
		return kinfo{}, fmt.Errorf("proctree: pid %d: kern.proc.pid answered for pid %d", pid, kp.Proc.P_pid)
	}
	k, err := decodeKinfo(kp)
	if err != nil {
		return kinfo{}, fmt.Errorf("proctree: pid %d: %w", pid, err)
	}
	return k, nil
}

// readArgs reads a process's exec path, arguments and environment. Like
// Linux's cmdline and environ, a zombie has none; another user's process
// is fs.ErrPermission.
//
// The kernel leaves the environment out, silently, for processes under
// SIP's restrictions (Apple's own, mostly): they read as having none, which
// counts as no evidence just as an unreadable environment does on Linux.
func readArgs(pid int) (procArgs, error) {
	b, err := unix.SysctlRaw("kern.procargs2", pid)
	if err == nil {
		a, err := parseProcArgs(b)
		if err != nil {
			return procArgs{}, fmt.Errorf("proctree: pid %d: kern.procargs2: %w", pid, err)
		}
		return a, nil
	}
	// The kernel answers EINVAL alike for a PID that has gone, for a
	// zombie or an exiting process, and for another user's process.
	k, kerr := readKinfo(pid)
	switch {
	case kerr != nil:
		return procArgs{}, kerr
	case k.zombie:
		return procArgs{}, nil
	case k.uid != uint32(os.Geteuid()) && os.Geteuid() != 0:
		return procArgs{}, fmt.Errorf("proctree: pid %d: kern.procargs2: %w", pid, fs.ErrPermission)
	}
	return procArgs{}, fmt.Errorf("proctree: pid %d: kern.procargs2: %w", pid, err)
}

func read(pid int) (Process, error) {
	if pid <= 0 {
		return Process{}, fmt.Errorf("proctree: invalid pid %d", pid)
	}
	k, err := readKinfo(pid)
	if err != nil {
		return Process{}, err
	}
	// A zombie has left its session: getsid no longer finds it.
	sid := 0
	if !k.zombie {
		sid, err = unix.Getsid(pid)
		switch {
		case errors.Is(err, unix.ESRCH):
			return Process{}, fmt.Errorf("%w: pid %d", ErrVanished, pid)
		case err != nil:
			return Process{}, fmt.Errorf("proctree: pid %d: getsid: %w", pid, err)
		}
	}
	// Unlike Linux's cmdline, another user's arguments are not ours to
	// read; that is information, not an error, as an unreadable exe link
	// is on Linux.
	args, err := readArgs(pid)
	if err != nil && !errors.Is(err, fs.ErrPermission) {
		return Process{}, err
	}
	p := Process{
		PID: pid, PPID: k.ppid, UID: k.uid, Start: k.start,
		Comm: k.comm, Exe: args.exe, Argv: args.argv,
		SID: sid, TTY: k.tty,
	}
	// Everything above was read through the PID: confirm it still names the
	// same process, so the fields are not a mix of two processes.
	if err := alive(p); err != nil {
		return Process{}, err
	}
	return p, nil
}

func alive(p Process) error {
	k, err := readKinfo(p.PID)
	if err != nil {
		return err
	}
	if k.start != p.Start {
		return fmt.Errorf("%w: pid %d now names another process", ErrVanished, p.PID)
	}
	return nil
}

func environ(pid int) ([]string, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("proctree: invalid pid %d", pid)
	}
	args, err := readArgs(pid)
	if err != nil {
		return nil, err
	}
	return args.env, nil
}

// ident returns pid's parent and start time, reading only kinfo_proc.
func ident(pid int) (ppid int, start uint64, err error) {
	k, err := readKinfo(pid)
	return k.ppid, k.start, err
}

// scanSession lists every process: its parent and start time in all, and
// in members those of session sid that are not zombies and not in skip
// (PID -> start time).
func scanSession(sid int, skip map[int]uint64) (all map[int]node, members []int, err error) {
	procs, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil, nil, fmt.Errorf("proctree: kern.proc.all: %w", err)
	}
	all = make(map[int]node, len(procs))
	for i := range procs {
		pid := int(procs[i].Proc.P_pid)
		k, err := decodeKinfo(&procs[i])
		if pid <= 0 || err != nil {
			continue
		}
		all[pid] = node{ppid: k.ppid, start: k.start}
		if start, ok := skip[pid]; ok && start == k.start {
			continue
		}
		if k.zombie {
			continue
		}
		// kinfo_proc carries no session ID. Processes come and go during
		// a scan; one that left is simply not a member any more.
		if s, err := unix.Getsid(pid); err == nil && s == sid {
			members = append(members, pid)
		}
	}
	return all, members, nil
}

// ttyName names a terminal by its device number. Without devname(3) (libc,
// so cgo) the pseudo-terminal's name, /dev/ttysNNN, is derived from the
// minor number and kept only if that device node is this very device.
func ttyName(tty int) string {
	if tty == 0 {
		return ""
	}
	dev := uint64(uint32(tty))
	major, minor := unix.Major(dev), unix.Minor(dev)
	name := fmt.Sprintf("/dev/ttys%03d", minor)
	var st unix.Stat_t
	if err := unix.Stat(name, &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && uint32(st.Rdev) == uint32(tty) {
		return name
	}
	return fmt.Sprintf("tty %d:%d", major, minor)
}
