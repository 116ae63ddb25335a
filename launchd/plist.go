package launchd

import (
	"fmt"
	"path/filepath"

	"howett.net/plist"
)

// agent is the LaunchAgent, see launchd.plist(5).
type agent struct {
	Label            string   `plist:"Label"`
	ProgramArguments []string `plist:"ProgramArguments"`
	// RunAtLoad starts the daemon at login, so the first agent request
	// does not wait for a cold start.
	RunAtLoad bool `plist:"RunAtLoad"`
	// KeepAlive restarts it only after a crash; `hush daemon` exiting 0
	// (an idle timeout, a clean stop) stays stopped until the next client.
	KeepAlive            keepAlive         `plist:"KeepAlive"`
	Sockets              map[string]socket `plist:"Sockets"`
	EnvironmentVariables map[string]string `plist:"EnvironmentVariables,omitempty"`
	StandardOutPath      string            `plist:"StandardOutPath"`
	StandardErrorPath    string            `plist:"StandardErrorPath"`
	Umask                int               `plist:"Umask"`
}

type keepAlive struct {
	SuccessfulExit bool `plist:"SuccessfulExit"`
}

// socket is a launchd-owned listening socket, handed to the daemon by
// launch_activate_socket("Listeners").
type socket struct {
	SockPathName string `plist:"SockPathName"`
	SockPathMode int    `plist:"SockPathMode"`
	SockType     string `plist:"SockType"`
	SockFamily   string `plist:"SockFamily"`
}

// SocketName is the key of the socket in the plist's Sockets dictionary.
const SocketName = "Listeners"

// Plist renders the LaunchAgent for c.
func Plist(c Config) ([]byte, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	logFile := filepath.Join(c.LogDir(), "hush.log")
	a := agent{
		Label:            Label,
		ProgramArguments: append([]string{c.Executable}, c.Args...),
		RunAtLoad:        true,
		KeepAlive:        keepAlive{SuccessfulExit: false},
		Sockets: map[string]socket{SocketName: {
			SockPathName: c.Socket,
			SockPathMode: 0o600,
			SockType:     "stream",
			SockFamily:   "Unix",
		}},
		StandardOutPath:   logFile,
		StandardErrorPath: logFile,
		Umask:             0o077,
	}
	if len(c.Env) > 0 {
		a.EnvironmentVariables = c.Env
	}
	out, err := plist.MarshalIndent(a, plist.XMLFormat, "\t")
	if err != nil {
		return nil, fmt.Errorf("hush service: render the LaunchAgent: %w", err)
	}
	return out, nil
}
