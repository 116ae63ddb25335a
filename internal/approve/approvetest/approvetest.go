// Package approvetest provides a fake pinentry for tests: the test binary
// itself, started through a link whose name says how it answers.
//
// A test package calls Main first thing (in TestMain, or in an init
// function when another file owns TestMain); Pinentry then installs a
// fake that a Pinentry approver, or a daemon's config, can run.
package approvetest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Mode is how the fake answers CONFIRM.
type Mode string

const (
	OK           Mode = "ok"           // OK: approved
	Cancel       Mode = "cancel"       // ERR 83886179 Operation cancelled
	NotConfirmed Mode = "notconfirmed" // ERR 83886194 Not confirmed
	Timeout      Mode = "timeout"      // ERR 83886142 Timeout (the dialog's own)
	Hang         Mode = "hang"         // never answers
	Crash        Mode = "crash"        // exits without answering
	Garbage      Mode = "garbage"      // answers with a line no pinentry sends
	// ByName answers by the secret the description names: one whose name
	// holds HANG is never answered, CANCEL is cancelled, any other is
	// approved. Tests of concurrent questions use it.
	ByName Mode = "byname"
)

const prefix = "fake-pinentry-"

// Main becomes the fake pinentry, and exits, when the process was started
// as one; otherwise it returns at once.
func Main() {
	name := filepath.Base(os.Args[0])
	mode, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return
	}
	os.Exit(serve(Mode(mode), os.Args[0]+".log"))
}

func serve(mode Mode, logPath string) int {
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake pinentry:", err)
		return 2
	}
	defer logf.Close()
	out := bufio.NewWriter(os.Stdout)
	reply := func(lines ...string) {
		for _, l := range lines {
			out.WriteString(l + "\n")
		}
		out.Flush()
	}
	reply("# fake pinentry for hush's tests", "OK Pleased to meet you")
	desc := ""
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		line := in.Text()
		// One write per line, so that a reader polling the log never sees
		// half a command.
		logf.WriteString(line + "\n")
		cmd, _, _ := strings.Cut(line, " ")
		switch cmd {
		case "BYE":
			reply("OK closing connection")
			return 0
		case "SETDESC":
			desc = line
			reply("OK")
		case "CONFIRM":
			if mode == ByName {
				switch {
				case strings.Contains(desc, "HANG"):
					mode = Hang
				case strings.Contains(desc, "CANCEL"):
					mode = Cancel
				default:
					mode = OK
				}
			}
			switch mode {
			case OK:
				reply("OK")
			case Cancel:
				reply("ERR 83886179 Operation cancelled <Pinentry>")
			case NotConfirmed:
				reply("ERR 83886194 Not confirmed <Pinentry>")
			case Timeout:
				reply("ERR 83886142 Timeout <Pinentry>")
			case Hang:
				for {
					time.Sleep(time.Hour)
				}
			case Crash:
				return 3
			case Garbage:
				reply("HELLO there")
			default:
				reply("ERR 536871187 Unknown IPC command <User defined source 1>")
			}
		case "GETINFO":
			reply("D fake", "OK")
		default:
			reply("S INFO ignored", "OK")
		}
	}
	return 0
}

// Fake is an installed fake pinentry.
type Fake struct {
	// Path runs it.
	Path string
}

// Pinentry installs a fake pinentry answering as mode into dir.
func Pinentry(t testing.TB, dir string, mode Mode) Fake {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, prefix+string(mode))
	if err := os.Symlink(exe, p); err != nil {
		t.Fatal(err)
	}
	return Fake{Path: p}
}

// Commands returns the lines the fake has received so far.
func (f Fake) Commands(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(f.Path + ".log")
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// Asked counts the CONFIRMs the fake has received.
func (f Fake) Asked(t testing.TB) int {
	t.Helper()
	n := 0
	for _, c := range f.Commands(t) {
		if c == "CONFIRM" {
			n++
		}
	}
	return n
}

// Descriptions returns the SETDESC texts received, as sent: percent-escaped
// (a line break is %0A).
func (f Fake) Descriptions(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, c := range f.Commands(t) {
		if d, ok := strings.CutPrefix(c, "SETDESC "); ok {
			out = append(out, d)
		}
	}
	return out
}
