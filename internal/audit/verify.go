package audit

import (
	"bytes"
	"crypto/hmac"
	"errors"
	"fmt"
	"os"
)

// Report is what Verify found.
type Report struct {
	// Files are the files checked, oldest first.
	Files []string
	// Records is how many lines were checked.
	Records int
	// Unsealed is how many records at the end are not sealed yet: written
	// while the daemon had no key; the next record written seals them.
	Unsealed int
	// Anchor is the oldest file kept when older ones were rotated away: its
	// first record's link to them is taken on trust.
	Anchor string
	// Broken is the first record that breaks the chain; nil when it holds.
	Broken *Break
}

// Break is where the chain breaks. Line 0 means the whole file.
type Break struct {
	File   string
	Line   int
	Reason string
}

func (b *Break) Error() string {
	if b.Line == 0 {
		return fmt.Sprintf("%s: %s", b.File, b.Reason)
	}
	return fmt.Sprintf("%s line %d: %s", b.File, b.Line, b.Reason)
}

const macMismatch = "the MAC does not match: this record, or one after the last good record before it, " +
	"was changed, inserted or removed (or it was sealed with another key, e.g. before the vault was re-created)"

// Verify checks the whole chain, up to where the log stands now, with the
// log's key (ErrNoKey until SetKey), and reports a cut CheckHead found. A
// broken chain is not an error: it is reported in Report.Broken.
func (l *Log) Verify() (Report, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return Report{}, ErrClosed
	}
	if l.key == nil {
		l.mu.Unlock()
		return Report{}, ErrNoKey
	}
	key := bytes.Clone(l.key)
	pos := Position{Gen: l.gen, Size: l.size}
	endPrev, endPending := l.chain.prev, l.chain.npending
	cut := l.cut
	l.mu.Unlock()

	var rep Report
	rotated, err := rotatedFiles(l.path)
	if err != nil {
		return rep, err
	}
	var nums []int
	for _, n := range rotated {
		if n < pos.Gen {
			nums = append(nums, n)
		}
	}
	// Rotated files are numbered without gaps up to the current one.
	for i, n := range nums {
		next := pos.Gen
		if i+1 < len(nums) {
			next = nums[i+1]
		}
		if next != n+1 {
			rep.Broken = &Break{File: rotatedName(l.path, n+1), Reason: "the file is missing, so the chain cannot be followed across it"}
			return rep, nil
		}
	}

	c := newChain("")
	genesis := len(nums) == 0 && pos.Gen == 1 || len(nums) > 0 && nums[0] == 1
	check := func(name string, f *os.File, limit int64, first bool) error {
		rep.Files = append(rep.Files, name)
		return eachLineOf(f, limit, func(n int, raw []byte) error {
			rep.Records++
			fail := func(reason string) error {
				rep.Broken = &Break{File: name, Line: n, Reason: reason}
				return errStop
			}
			rec, body, err := parseLine(raw)
			if err != nil {
				return fail(err.Error())
			}
			if n == 1 {
				switch {
				case first && genesis && rec.Prev != "":
					return fail("the first record claims to continue an earlier log, but no earlier file was ever rotated")
				case first && !genesis && rec.Prev == "":
					return fail("the oldest file kept does not say which record it continues from")
				case first && !genesis:
					c.prev, rep.Anchor = rec.Prev, name
				case rec.Prev != c.prev:
					return fail("the file does not continue from the last record of the file before it")
				}
			}
			if rec.MAC == "" {
				c.addUnsealed(raw)
				return nil
			}
			if !hmac.Equal([]byte(computeMAC(key, c.prev, c.pendingHex(), body)), []byte(rec.MAC)) {
				return fail(macMismatch)
			}
			c.seal(rec.MAC)
			return nil
		})
	}
	for i, n := range nums {
		name := rotatedName(l.path, n)
		f, err := os.Open(name)
		if err != nil {
			return rep, err
		}
		err = check(name, f, -1, i == 0)
		f.Close()
		if err != nil {
			return rep, stopped(err)
		}
	}
	f, err := l.openAt(pos)
	if err != nil {
		return rep, err
	}
	lines := 0
	if f != nil {
		before := rep.Records
		err = check(l.path, f, pos.Size, len(nums) == 0)
		f.Close()
		if err != nil {
			return rep, stopped(err)
		}
		lines = rep.Records - before
	}
	rep.Unsealed = c.npending
	switch {
	case c.prev != endPrev || c.npending != endPending:
		rep.Broken = &Break{File: l.path, Line: lines + 1,
			Reason: "the log ends before the last record this daemon wrote: records were removed from its end"}
	case cut != nil:
		// Found against the head kept outside the log; the chain from
		// there on holds, but what was cut is still missing.
		b := *cut
		rep.Broken = &b
	}
	return rep, nil
}

// errStop ends a walk at the first break, which is already in the report.
var errStop = errors.New("stop")

func stopped(err error) error {
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}
