package proctree

import (
	"errors"
	"fmt"
)

// The walk up the tree and the session scan are the same on every system;
// each system supplies read, alive, ident (a process's parent and start
// time, cheaply) and scanSession.

// node is one process's place in the tree.
type node struct {
	ppid  int
	start uint64
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

// ancestors returns pid and its ancestors (PID -> start time), with walk's
// guards. Only their identities are needed, so only ident is read.
func ancestors(pid int) (map[int]uint64, error) {
	ppid, start, err := ident(pid)
	if err != nil {
		return nil, err
	}
	out := map[int]uint64{pid: start}
	for len(out) <= maxDepth {
		if pid == 1 || ppid <= 0 || ppid == pid {
			return out, nil
		}
		pppid, pstart, err := ident(ppid)
		if err != nil {
			return nil, fmt.Errorf("parent of pid %d: %w", pid, err)
		}
		if pstart > start {
			return nil, fmt.Errorf("%w: pid %d, the parent of pid %d, started after it (PID reused)", ErrVanished, ppid, pid)
		}
		pid, ppid, start = ppid, pppid, pstart
		out[pid] = start
	}
	return nil, fmt.Errorf("proctree: the chain of pid %d is deeper than %d", pid, maxDepth)
}

func chain(pid, root int) ([]Process, error) {
	var stop map[int]uint64
	if root > 0 {
		var err error
		if stop, err = ancestors(root); err != nil {
			return nil, fmt.Errorf("proctree: tree root %d: %w", root, err)
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

func session(sid, root int, known []Process) ([]Process, error) {
	if sid <= 0 {
		return nil, nil
	}
	skip := make(map[int]uint64, len(known))
	for _, p := range known {
		skip[p.PID] = p.Start
	}
	all, members, err := scanSession(sid, skip)
	if err != nil {
		return nil, err
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
