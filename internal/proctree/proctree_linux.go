//go:build linux

package proctree

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
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
	f, err := os.Open(procPath(pid, name))
	if err != nil {
		return nil, vanished(pid, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxProcFile+1))
	if err != nil {
		return nil, vanished(pid, err)
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
func parseStat(b []byte) (stat, error) {
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return stat{}, errors.New("malformed stat line")
	}
	fields := strings.Fields(string(b[closing+1:]))
	// fields[0] is field 3 of proc(5): state, ppid, pgrp, session, tty_nr, …, starttime (22).
	if len(fields) < 20 {
		return stat{}, errors.New("short stat line")
	}
	var s stat
	s.comm = string(b[open+1 : closing])
	s.zombieLike = fields[0] == "Z" || fields[0] == "X"
	var err error
	if s.ppid, err = strconv.Atoi(fields[1]); err != nil {
		return stat{}, fmt.Errorf("ppid: %w", err)
	}
	if s.sid, err = strconv.Atoi(fields[3]); err != nil {
		return stat{}, fmt.Errorf("session: %w", err)
	}
	if s.tty, err = strconv.Atoi(fields[4]); err != nil {
		return stat{}, fmt.Errorf("tty_nr: %w", err)
	}
	if s.start, err = strconv.ParseUint(fields[19], 10, 64); err != nil {
		return stat{}, fmt.Errorf("starttime: %w", err)
	}
	return s, nil
}

func readStat(pid int) (stat, error) {
	b, err := readProcFile(pid, "stat")
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
	b, err := readProcFile(pid, "status")
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
	// Zombies and other UIDs' processes have no readable exe link; that is
	// information, not an error.
	exe, _ := os.Readlink(procPath(pid, "exe"))
	p := Process{
		PID: pid, PPID: st.ppid, UID: uid, Start: st.start,
		Comm: st.comm, Exe: exe, Argv: splitNUL(cmdline),
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

// walk reads pid and its ancestors. It stops after PID 1, at a parent it
// cannot see (PPID 0), or before a parent listed in stop (PID -> start time).
func walk(pid int, stop map[int]uint64) ([]Process, error) {
	p, err := read(pid)
	if err != nil {
		return nil, err
	}
	out := []Process{p}
	for len(out) <= maxDepth {
		cur := out[len(out)-1]
		if cur.PID == 1 || cur.PPID <= 0 || cur.PPID == cur.PID {
			return out, nil
		}
		parent, err := read(cur.PPID)
		if err != nil {
			return nil, fmt.Errorf("parent of pid %d: %w", cur.PID, err)
		}
		// A parent cannot start after its child: if it seems to, the real
		// parent exited and its PID was reused in between.
		if parent.Start > cur.Start {
			return nil, fmt.Errorf("%w: pid %d, the parent of pid %d, started after it (PID reused)", ErrVanished, parent.PID, cur.PID)
		}
		if start, ok := stop[parent.PID]; ok && start == parent.Start {
			return out, nil
		}
		out = append(out, parent)
	}
	return nil, fmt.Errorf("proctree: the chain of pid %d is deeper than %d", pid, maxDepth)
}

func chain(pid, root int) ([]Process, error) {
	var stop map[int]uint64
	if root > 0 {
		anc, err := walk(root, nil)
		if err != nil {
			return nil, fmt.Errorf("proctree: tree root %d: %w", root, err)
		}
		stop = make(map[int]uint64, len(anc))
		for _, a := range anc {
			stop[a.PID] = a.Start
		}
	}
	out, err := walk(pid, stop)
	if err != nil {
		return nil, err
	}
	// The walk took time: the peer itself must still be the process whose
	// ancestry was just read.
	if err := alive(out[0]); err != nil {
		return nil, err
	}
	return out, nil
}

func session(sid, root int) ([]Process, error) {
	if sid <= 0 {
		return nil, nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("proctree: %w", err)
	}
	type node struct {
		ppid  int
		start uint64
	}
	all := make(map[int]node, len(entries))
	var members []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		st, err := readStat(pid)
		if err != nil {
			// Processes come and go during a scan; one that left is simply
			// not a member any more.
			continue
		}
		all[pid] = node{ppid: st.ppid, start: st.start}
		if st.sid == sid && !st.zombieLike {
			members = append(members, pid)
		}
	}
	var rootStart uint64
	if root > 0 {
		n, ok := all[root]
		if !ok {
			return nil, fmt.Errorf("proctree: tree root %d: %w", root, ErrVanished)
		}
		rootStart = n.start
	}
	below := func(pid int) bool {
		for depth := 0; depth <= maxDepth; depth++ {
			n, ok := all[pid]
			if !ok || n.ppid <= 0 || n.ppid == pid {
				return false
			}
			if n.ppid == root {
				return rootStart <= n.start
			}
			pid = n.ppid
		}
		return false
	}
	var out []Process
	for _, pid := range members {
		if root > 0 && !below(pid) {
			continue
		}
		p, err := read(pid)
		if errors.Is(err, ErrVanished) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if p.SID != sid {
			continue
		}
		out = append(out, p)
	}
	return out, nil
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
