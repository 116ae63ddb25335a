package audit

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Head is where the log's last sealed record is: its file (by the number
// the file has, or will have, once rotated), its line in that file, and
// its MAC. Kept outside the log, it lets a later daemon tell that the log
// was cut at its end (see CheckHead).
type Head struct {
	Gen  int    `json:"gen"`
	Line int    `json:"line"`
	MAC  string `json:"mac"`
	// Cut is a break CheckHead found in an earlier check. Every later
	// Head carries it, so that the log stays reported broken: the records
	// that were removed are gone for good.
	Cut *Break `json:"cut,omitempty"`
}

// IsZero reports whether h names no record: nothing was sealed yet.
func (h Head) IsZero() bool { return h.MAC == "" && h.Cut == nil }

// Marshal encodes h for keeping outside the log.
func (h Head) Marshal() []byte {
	b, _ := json.Marshal(h) // a struct of strings and ints always encodes
	return b
}

// ParseHead decodes what Marshal wrote.
func ParseHead(b []byte) (Head, error) {
	var h Head
	if err := json.Unmarshal(b, &h); err != nil {
		return Head{}, fmt.Errorf("audit head: %w", err)
	}
	if h.MAC == "" && h.Gen == 0 && h.Line == 0 {
		return h, nil
	}
	if _, err := hex.DecodeString(h.MAC); err != nil || len(h.MAC) != 64 || h.Gen < 1 || h.Line < 1 {
		return Head{}, errors.New("audit head: not a file number, a line and a 64-digit MAC")
	}
	return h, nil
}

// Head is where the log stands now, with any cut found before. It first
// flushes the current file to disk, so that a head kept elsewhere never
// names a record a crash could still lose.
func (l *Log) Head() (Head, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return Head{}, ErrClosed
	}
	h := l.head
	h.Cut = l.cut
	if h.MAC == "" {
		return h, nil
	}
	if err := l.f.Sync(); err != nil {
		return Head{}, fmt.Errorf("audit log %s: %w", l.path, err)
	}
	return h, nil
}

// CheckHead checks that the log, as Open found it, still reached h, a Head
// kept outside it by an earlier daemon: that h's record was still where h
// says, with h's MAC. Records appended since Open do not count.
// It returns the break when the log was cut (or h carries a cut found
// before), and from then on Verify reports that break and Head carries it.
// Only the place and MAC are compared, so no key is needed; Verify checks
// that the chain up to there holds.
//
// A head whose file has been rotated away since is not checked: the log
// has moved on past it.
func (l *Log) CheckHead(h Head) (*Break, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	pos := l.opened
	l.mu.Unlock()

	cut := h.Cut
	if h.MAC != "" && cut == nil {
		var err error
		if cut, err = l.reaches(h, pos); err != nil {
			return nil, err
		}
		if cut != nil {
			cut.Reason += fmt.Sprintf(" (found by the daemon started at %s)", time.Now().UTC().Format(time.RFC3339))
		}
	}
	if cut != nil {
		l.mu.Lock()
		if l.cut == nil {
			l.cut = cut
		}
		cut = l.cut
		l.mu.Unlock()
	}
	return cut, nil
}

// reaches finds where the log, as it stood at pos, falls short of h.
func (l *Log) reaches(h Head, pos Position) (*Break, error) {
	const removed = "records were removed from the log's end"
	if h.Gen > pos.Gen {
		lines, _, err := l.lineAt(pos, l.path, pos.Size, -1)
		if err != nil {
			return nil, err
		}
		return &Break{File: l.path, Line: lines + 1, Reason: fmt.Sprintf(
			"the log ended before this line when the daemon started, but the head kept in the vault is line %d of %s: whole files and %s",
			h.Line, rotatedName(l.path, h.Gen), removed)}, nil
	}
	name, limit := l.path, pos.Size
	if h.Gen < pos.Gen {
		name, limit = rotatedName(l.path, h.Gen), -1
		if _, err := os.Stat(name); errors.Is(err, fs.ErrNotExist) {
			rotated, err := rotatedFiles(l.path)
			if err != nil {
				return nil, err
			}
			if len(rotated) == 0 || rotated[0] > h.Gen {
				return nil, nil // rotated away
			}
			return &Break{File: name, Reason: "the file holding the head kept in the vault is missing"}, nil
		}
	}
	lines, mac, err := l.lineAt(pos, name, limit, h.Line)
	switch {
	case err != nil:
		return nil, err
	case lines < h.Line:
		return &Break{File: name, Line: lines + 1, Reason: fmt.Sprintf(
			"the log ended before this line when the daemon started, but the head kept in the vault names line %d: %s", h.Line, removed)}, nil
	case mac != h.MAC:
		return &Break{File: name, Line: h.Line, Reason: "this is not the record the head kept in the vault names (its MAC differs): " +
			removed + " and others written in their place"}, nil
	}
	return nil, nil
}

// lineAt counts name's lines, reading at most limit bytes (-1: all), up to
// line want (-1: all), and returns the MAC of line want. The current file
// is opened as it stood at pos, even if rotated since.
func (l *Log) lineAt(pos Position, name string, limit int64, want int) (lines int, mac string, err error) {
	var f *os.File
	if name == l.path {
		f, err = l.openAt(pos)
	} else {
		f, err = os.Open(name)
	}
	if err != nil || f == nil {
		return 0, "", err
	}
	defer f.Close()
	err = eachLineOf(f, limit, func(n int, raw []byte) error {
		lines = n
		if n == want {
			r, _, perr := parseLine(raw)
			if perr == nil {
				mac = r.MAC
			}
			return errStop
		}
		return nil
	})
	return lines, mac, stopped(err)
}
