package proctree_test

import (
	"os"
	"os/exec"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hush-dev/hush/internal/proctree"
	"github.com/hush-dev/hush/internal/proctree/proctreetest"
)

func TestSessionOthersLeavesOutOnlyTheKnownProcesses(t *testing.T) {
	dir := t.TempDir()
	child := proctreetest.NewCaller(t, dir)
	leader := exec.Command("/bin/sh", "-c", child.Command+" & wait")
	leader.Env = proctreetest.CleanEnv(dir)
	leader.SysProcAttr = &unix.SysProcAttr{Setsid: true}
	proctreetest.Start(t, leader)
	childPID := child.Wait(t)
	sid := leader.Process.Pid

	chain, err := proctree.Chain(childPID, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	stale := chain[1]
	stale.Start++ // the leader's PID, as if it named an earlier process

	for _, tc := range []struct {
		name  string
		known []proctree.Process
		want  []int
	}{
		{"nothing known returns every member", nil, []int{sid, childPID}},
		{"the known chain is left out", chain, nil},
		{"a known PID with another start time is kept", []proctree.Process{chain[0], stale}, []int{sid}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := proctree.SessionOthers(sid, 0, tc.known)
			if err != nil {
				t.Fatal(err)
			}
			var pids []int
			for _, p := range got {
				pids = append(pids, p.PID)
			}
			slices.Sort(pids)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(pids, want) {
				t.Errorf("SessionOthers = %v, want %v", pids, want)
			}
		})
	}
}
