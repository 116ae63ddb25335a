package audit

import (
	"errors"
	"io/fs"
	"os"
)

// followBuffer is how many records a follower may lag behind before it is
// cut off with ErrBehind; appending never waits for a reader.
const followBuffer = 1024

// Subscription delivers records as they are appended.
type Subscription struct {
	// C carries each record appended after Pos; it is closed by Close, by
	// the Log's Close, or when the follower falls behind (see Err).
	C <-chan Record
	// Pos is where the log stood when the subscription began.
	Pos Position

	l    *Log
	c    chan Record
	err  error
	done bool
}

// Subscribe starts following the log. Read what came before with
// Recent(s.Pos, …); nothing is missed or repeated between the two.
func (l *Log) Subscribe() (*Subscription, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	s := &Subscription{l: l, c: make(chan Record, followBuffer), Pos: Position{Gen: l.gen, Size: l.size}}
	s.C = s.c
	l.subs[s] = struct{}{}
	return s, nil
}

// Close stops the subscription.
func (s *Subscription) Close() {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	s.end(nil)
}

// Err says why C was closed: ErrBehind, ErrClosed, or nil after Close.
func (s *Subscription) Err() error {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	return s.err
}

// end closes the subscription; called with l.mu held.
func (s *Subscription) end(err error) {
	if s.done {
		return
	}
	s.done, s.err = true, err
	delete(s.l.subs, s)
	close(s.c)
}

// publish hands r to every follower; called with l.mu held.
func (l *Log) publish(r Record) {
	for s := range l.subs {
		select {
		case s.c <- r:
		default:
			s.end(ErrBehind)
		}
	}
}

// Position is where the log stands now.
func (l *Log) Position() Position {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Position{Gen: l.gen, Size: l.size}
}

// Recent returns up to limit records written before pos for which match
// (nil matches all) is true, oldest first. It reads rotated files only as
// far back as it needs. Lines that are not records are skipped: reporting
// them is Verify's job.
func (l *Log) Recent(pos Position, limit int, match func(Record) bool) ([]Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	var chunks [][]Record
	count := 0
	collect := func(recs []Record) {
		chunks = append(chunks, recs)
		count += len(recs)
	}
	f, err := l.openAt(pos)
	if err != nil {
		return nil, err
	}
	if f != nil {
		recs, err := matching(f, pos.Size, match)
		f.Close()
		if err != nil {
			return nil, err
		}
		collect(recs)
	}
	for n := pos.Gen - 1; n >= 1 && count < limit; n-- {
		f, err := os.Open(rotatedName(l.path, n))
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, err
		}
		recs, err := matching(f, -1, match)
		f.Close()
		if err != nil {
			return nil, err
		}
		collect(recs)
	}
	out := make([]Record, 0, min(count, limit))
	for i := len(chunks) - 1; i >= 0; i-- {
		out = append(out, chunks[i]...)
	}
	return out[max(0, len(out)-limit):], nil
}

// openAt opens the file that was current at pos, which may have been
// rotated since; nil when it does not exist.
func (l *Log) openAt(pos Position) (*os.File, error) {
	rotated := rotatedName(l.path, pos.Gen)
	f, err := os.Open(rotated)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return f, err
	}
	f, err = os.Open(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// A rotation between the two opens would have given us the new file.
	if _, serr := os.Stat(rotated); serr == nil {
		f.Close()
		return os.Open(rotated)
	}
	return f, nil
}

func matching(f *os.File, limit int64, match func(Record) bool) ([]Record, error) {
	var out []Record
	err := eachLineOf(f, limit, func(_ int, raw []byte) error {
		r, _, err := parseLine(raw)
		if err == nil && (match == nil || match(r)) {
			out = append(out, r)
		}
		return nil
	})
	return out, err
}
