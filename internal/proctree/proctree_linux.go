//go:build linux

package proctree

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// maxProcFile caps what is read from one /proc file. Argument and
// environment areas are bounded by the exec limits, far below this; a larger
// file is refused rather than truncated, since a truncated argv or
// environment could hide an agent's marker.
const maxProcFile = 16 << 20

func procPath(pid int, name string) string {
	return "/proc/" + strconv.Itoa(pid) + "/" + name
}

// vanished maps the errors /proc gives for a process that has gone.
func vanished(pid int, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%w: pid %d", ErrVanished, pid)
	}
	return fmt.Errorf("proctree: pid %d: %w", pid, err)
}

func readProcFile(pid int, name string) ([]byte, error) {
	return readProc(pid, name, 1024, false)
}

// readProc reads /proc/PID/name whole, starting with a buffer of size
// bytes. It calls open, read and close directly: the daemon reads a few
// hundred of these files per new connection, and os.File adds a poller
// registration and a closing read to each.
//
// seqFile marks files the kernel generates through seq_file (stat,
// status), which fill the buffer unless the record ended: a short read is
// the end, and the extra read for EOF (which costs as much as a small read)
// is skipped. cmdline and environ are copied from the process's memory and
// are read until EOF.
func readProc(pid int, name string, size int, seqFile bool) ([]byte, error) {
	path := procPath(pid, name)
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, vanished(pid, &fs.PathError{Op: "open", Path: path, Err: err})
	}
	defer syscall.Close(fd)
	b := make([]byte, 0, size)
	for {
		if len(b) == cap(b) {
			if len(b) > maxProcFile {
				return nil, fmt.Errorf("proctree: pid %d: /proc/%d/%s is larger than %d bytes", pid, pid, name, maxProcFile)
			}
			b = slices.Grow(b, cap(b))
		}
		room := cap(b) - len(b)
		n, err := syscall.Read(fd, b[len(b):cap(b)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, vanished(pid, &fs.PathError{Op: "read", Path: path, Err: err})
		}
		b = b[:len(b)+n]
		if n == 0 || seqFile && n < room {
			break
		}
	}
	if len(b) > maxProcFile {
		return nil, fmt.Errorf("proctree: pid %d: /proc/%d/%s is larger than %d bytes", pid, pid, name, maxProcFile)
	}
	return b, nil
}

type stat struct {
	comm       string
	ppid, sid  int
	tty        int
	start      uint64
	zombieLike bool
}

// parseStat reads /proc/PID/stat. The command name sits in parentheses and
// may itself contain spaces and ')', so the fields start after the last ')'.
// It runs once per process on the machine for every session scan, so it
// walks the fields in place instead of splitting the line.
func parseStat(b []byte) (stat, error) {
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return stat{}, errors.New("malformed stat line")
	}
	// Field 3 of proc(5) comes first: state, ppid, pgrp, session, tty_nr,
	// …, starttime (field 22).
	const (
		fState = iota
		fPPID
		_
		fSession
		fTTY
		fStart = 19
	)
	var fields [fStart + 1][]byte
	rest := b[closing+1:]
	n := 0
	for n <= fStart {
		i := 0
		for i < len(rest) && isSpace(rest[i]) {
			i++
		}
		rest = rest[i:]
		if len(rest) == 0 {
			break
		}
		j := 0
		for j < len(rest) && !isSpace(rest[j]) {
			j++
		}
		fields[n], rest = rest[:j], rest[j:]
		n++
	}
	if n <= fStart {
		return stat{}, errors.New("short stat line")
	}
	var s stat
	s.comm = string(b[open+1 : closing])
	state := string(fields[fState])
	s.zombieLike = state == "Z" || state == "X"
	var err error
	if s.ppid, err = atoi(fields[fPPID]); err != nil {
		return stat{}, fmt.Errorf("ppid: %w", err)
	}
	if s.sid, err = atoi(fields[fSession]); err != nil {
		return stat{}, fmt.Errorf("session: %w", err)
	}
	if s.tty, err = atoi(fields[fTTY]); err != nil {
		return stat{}, fmt.Errorf("tty_nr: %w", err)
	}
	if s.start, err = strconv.ParseUint(string(fields[fStart]), 10, 64); err != nil {
		return stat{}, fmt.Errorf("starttime: %w", err)
	}
	return s, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' }

func atoi(b []byte) (int, error) { return strconv.Atoi(string(b)) }

func readStat(pid int) (stat, error) {
	b, err := readProc(pid, "stat", 512, true)
	if err != nil {
		return stat{}, err
	}
	s, err := parseStat(b)
	if err != nil {
		return stat{}, fmt.Errorf("proctree: pid %d: %w", pid, err)
	}
	return s, nil
}

func readUID(pid int) (uint32, error) {
	b, err := readProc(pid, "status", 2048, true)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "Uid:")
		if !ok {
			continue
		}
		ids := strings.Fields(rest)
		if len(ids) < 2 {
			break
		}
		uid, err := strconv.ParseUint(ids[1], 10, 32)
		if err != nil {
			break
		}
		return uint32(uid), nil
	}
	return 0, fmt.Errorf("proctree: pid %d: no effective UID in status", pid)
}

// splitNUL splits a NUL-separated /proc area. Trailing NULs are padding
// (a process that retitled itself, as node's process.title does, leaves its
// old argument area zeroed); empty arguments inside are kept.
func splitNUL(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

func read(pid int) (Process, error) {
	if pid <= 0 {
		return Process{}, fmt.Errorf("proctree: invalid pid %d", pid)
	}
	st, err := readStat(pid)
	if err != nil {
		return Process{}, err
	}
	uid, err := readUID(pid)
	if err != nil {
		return Process{}, err
	}
	cmdline, err := readProcFile(pid, "cmdline")
	if err != nil {
		return Process{}, err
	}
	// Zombies and other UIDs' processes have no readable exe and cwd
	// links; that is information, not an error.
	exe, _ := os.Readlink(procPath(pid, "exe"))
	cwd, _ := os.Readlink(procPath(pid, "cwd"))
	p := Process{
		PID: pid, PPID: st.ppid, UID: uid, Start: st.start,
		Comm: st.comm, Exe: exe, Cwd: cwd, Argv: splitNUL(cmdline),
		SID: st.sid, TTY: st.tty,
	}
	// Everything above was read through the PID: confirm it still names the
	// same process, so the fields are not a mix of two processes.
	if err := alive(p); err != nil {
		return Process{}, err
	}
	return p, nil
}

func alive(p Process) error {
	st, err := readStat(p.PID)
	if err != nil {
		return err
	}
	if st.start != p.Start {
		return fmt.Errorf("%w: pid %d now names another process", ErrVanished, p.PID)
	}
	return nil
}

func environ(pid int) ([]string, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("proctree: invalid pid %d", pid)
	}
	b, err := readProcFile(pid, "environ")
	if err != nil {
		return nil, err
	}
	return splitNUL(b), nil
}

// ident returns pid's parent and start time, reading only stat.
func ident(pid int) (ppid int, start uint64, err error) {
	st, err := readStat(pid)
	return st.ppid, st.start, err
}

// scanSession lists every process with an address space: its parent and
// start time in all, and in members those of session sid that are not
// zombies and not in skip (PID -> start time).
func scanSession(sid int, skip map[int]uint64) (all map[int]node, members []int, err error) {
	names, err := procPIDs()
	if err != nil {
		return nil, nil, fmt.Errorf("proctree: %w", err)
	}
	stats := scanStats(names)
	all = make(map[int]node, len(stats))
	for _, ps := range stats {
		pid, st := ps.pid, ps.st
		all[pid] = node{ppid: st.ppid, start: st.start}
		if start, ok := skip[pid]; ok && start == st.start {
			continue
		}
		if st.sid == sid && !st.zombieLike {
			members = append(members, pid)
		}
	}
	return all, members, nil
}

type procStat struct {
	pid int
	st  stat
}

// scanStats reads the stat of every process in names (entries of /proc)
// that has an address space. The time goes to the kernel, one file at a
// time, and on an idle daemon it is what a person's `hush get` waits for,
// so the list is split over the CPUs.
func scanStats(names []string) []procStat {
	const perWorker = 64
	workers := min(runtime.GOMAXPROCS(0), 4, (len(names)+perWorker-1)/perWorker)
	if workers <= 1 {
		return scanPart(names)
	}
	parts := make([][]procStat, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(names)/workers, (w+1)*len(names)/workers
		wg.Go(func() { parts[w] = scanPart(names[lo:hi]) })
	}
	wg.Wait()
	return slices.Concat(parts...)
}

func scanPart(names []string) []procStat {
	out := make([]procStat, 0, len(names))
	link := make([]byte, 64)
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid <= 0 {
			continue
		}
		// A process without an address space has no exe link: a kernel
		// thread (often most of /proc, and never in a session) or one
		// already exiting. The link costs a fraction of reading stat.
		if _, err := syscall.Readlink(procPath(pid, "exe"), link); err == syscall.ENOENT {
			continue
		}
		st, err := readStat(pid)
		if err != nil {
			// Processes come and go during a scan; one that left is simply
			// not a member any more.
			continue
		}
		out = append(out, procStat{pid, st})
	}
	return out
}

// procPIDs lists /proc's entries unsorted: the scan does not need order.
func procPIDs() ([]string, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

func ttyName(tty int) string {
	if tty == 0 {
		return ""
	}
	major := (tty >> 8) & 0xfff
	minor := (tty & 0xff) | ((tty >> 12) & 0xfff00)
	switch {
	case major >= 136 && major <= 143:
		return "/dev/pts/" + strconv.Itoa((major-136)*256+minor)
	case major == 4 && minor < 64:
		return "/dev/tty" + strconv.Itoa(minor)
	case major == 4:
		return "/dev/ttyS" + strconv.Itoa(minor-64)
	case major == 5 && minor == 1:
		return "/dev/console"
	}
	return fmt.Sprintf("tty %d:%d", major, minor)
}
