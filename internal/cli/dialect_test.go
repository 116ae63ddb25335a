package cli

import (
	"testing"

	"github.com/hush-dev/hush/internal/handoff"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// The script's dialect follows the nearest shell above hush, the one that
// will run the line; fish gets fish's, everything else POSIX. $SHELL is not
// consulted for it, unlike the line's loader.
func TestTheDialectFollowsTheNearestShell(t *testing.T) {
	fish := handoff.Fish
	for _, c := range []struct {
		name  string
		flag  *handoff.Shell
		chain []string
		env   string
		want  handoff.Shell
	}{
		{"fish runs hush", nil, []string{"hush", "fish", "claude"}, "/bin/bash", handoff.Fish},
		{"bash below fish runs hush", nil, []string{"hush", "bash", "fish", "claude"}, "/usr/bin/fish", handoff.POSIX},
		{"dash runs hush", nil, []string{"hush", "dash", "node"}, "", handoff.POSIX},
		{"no shell: $SHELL is not enough", nil, []string{"hush", "node", "systemd"}, "/usr/bin/fish", handoff.POSIX},
		{"--shell fish wins", &fish, []string{"hush", "bash"}, "", handoff.Fish},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("SHELL", c.env)
			caller := &hushv1.Caller{}
			for _, comm := range c.chain {
				caller.Chain = append(caller.Chain, &hushv1.Process{Comm: comm})
			}
			if got := dialect(c.flag, caller); got != c.want {
				t.Errorf("dialect = %v, want %v", got, c.want)
			}
		})
	}
}
