package launchd

import (
	"fmt"
	"sort"
	"strings"
)

// Units renders hush.socket and hush.service for c, keyed by file name.
func Units(c Config) (map[string][]byte, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(c.Socket, `\`) {
		// A trailing backslash would continue the unit file's line.
		return nil, fmt.Errorf("hush service: the socket path %q ends in a backslash", c.Socket)
	}
	var sock strings.Builder
	sock.WriteString(`[Unit]
Description=hush secret daemon socket
Documentation=https://github.com/hush-dev/hush

[Socket]
`)
	// systemd creates the socket's directory; DESIGN wants it 0700 and the
	// socket 0600, owned by the user, as the daemon itself would make them.
	fmt.Fprintf(&sock, "ListenStream=%s\n", escapeSpecifiers(c.Socket))
	sock.WriteString(`SocketMode=0600
DirectoryMode=0700
RemoveOnStop=yes

[Install]
WantedBy=sockets.target
`)

	var svc strings.Builder
	svc.WriteString(`[Unit]
Description=hush secret daemon
Documentation=https://github.com/hush-dev/hush
Requires=hush.socket
After=hush.socket

[Service]
Type=simple
`)
	if strings.ContainsAny(c.Executable, `"'\`) {
		// systemd refuses quotes and backslashes in an executable's path.
		return nil, fmt.Errorf("hush service: systemd cannot start an executable whose path %q holds a quote or backslash; move hush elsewhere", c.Executable)
	}
	// The executable's own path gets specifier expansion but no variable
	// expansion, so only its "%" is escaped.
	args := []string{`"` + escapeSpecifiers(c.Executable) + `"`}
	for _, a := range c.Args {
		args = append(args, quoteUnitWord(a, true))
	}
	fmt.Fprintf(&svc, "ExecStart=%s\n", strings.Join(args, " "))
	keys := make([]string, 0, len(c.Env))
	for k := range c.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&svc, "Environment=%s\n", quoteUnitWord(k+"="+c.Env[k], false))
	}
	// Restart only after a crash: a clean exit (idle timeout) waits for the
	// socket to bring it back.
	svc.WriteString(`Restart=on-failure
UMask=0077
NoNewPrivileges=yes

[Install]
Also=hush.socket
`)
	return map[string][]byte{
		SocketUnit:  []byte(sock.String()),
		ServiceUnit: []byte(svc.String()),
	}, nil
}

// escapeSpecifiers keeps systemd from expanding %-specifiers in a value.
func escapeSpecifiers(s string) string {
	return strings.ReplaceAll(s, "%", "%%")
}

// quoteUnitWord quotes one word of ExecStart= (exec) or Environment=:
// double quotes with C escapes and "%%" for "%", so no specifier is
// expanded; in ExecStart also "$$" for "$", which would expand a variable
// there (Environment= gives "$" no meaning).
func quoteUnitWord(s string, exec bool) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '%':
			b.WriteString("%%")
		case r == '$' && exec:
			b.WriteString("$$")
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
