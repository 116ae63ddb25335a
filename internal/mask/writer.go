package mask

import (
	"cmp"
	"errors"
	"io"
	"slices"
	"sync"
	"time"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("mask: write after close")

// A held-back tail is written out by the timer only while the match it
// might begin is shorter than this many symbols: a few characters say
// nothing about a secret, while a prompt that happens to end like the start
// of one ("Password: ") must not hang. Longer possible matches wait for more
// output or Close.
const stallFlushMax = 4

// maxHold bounds what a Writer holds back. Only a possible match followed
// by a flood of ignored bytes (blank lines, spaces) can grow that large;
// no real occurrence of a secret, even a 64 KiB one wrapped in base64, is
// longer, so past this the tail is written out.
const maxHold = 1 << 20

// Writer returns a writer that masks what is written to it and writes the
// result to w. A secret split across Write calls is still masked. Bytes that
// cannot be part of a secret are written before Write returns; only a tail
// that could be the start of one is held back, until more output decides
// it, the flush delay passes (see WithFlushDelay), or Close.
//
// Close writes out whatever is held back; it does not close w. Write and
// Close may be called from different goroutines. An error from w is
// returned by the Write or Close that comes after it.
func (m *Masker) Writer(w io.Writer) io.WriteCloser { return m.newWriter(w, m.delay) }

func (m *Masker) newWriter(w io.Writer, delay time.Duration) *writer {
	return &writer{m: m, w: w, delay: delay, lastEnd: -1}
}

type writer struct {
	m     *Masker
	w     io.Writer
	delay time.Duration

	mu     sync.Mutex
	timer  *time.Timer
	err    error
	closed bool

	buf   []byte // not yet written; buf[0] is at stream offset base
	base  int64
	state int32  // automaton state (a code, see automaton.go)
	spans []span // masked ranges not yet written, sorted, apart

	// The last marker written ends at lastEnd and named lastNames; a span
	// that starts right there continues it (the same secret seen through
	// two patterns, or across a flush).
	lastEnd   int64
	lastNames []int32

	out     []byte
	matches []match // scratch
}

type span struct {
	from, to int64
	tags     []tag
}

// tag records which secret matched in a span and where its matches lie, so
// markers come out in the order the secrets appear and a secret seen only
// inside another one's match is not named.
type tag struct {
	from, to int64
	name     int32
}

func (w *writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	a := w.m.auto
	if a == nil {
		n, err := w.w.Write(p)
		w.err = err
		return n, err
	}
	start := len(w.buf)
	w.buf = append(w.buf, p...)
	w.state, w.matches = a.scan(w.state, w.buf[start:], w.matches[:0])
	for _, mt := range w.matches {
		end := start + mt.end
		// A match reaching back into text already written (possible only
		// after a stall flush) masks what is left of it.
		from := max(a.back(w.buf, end, mt.n), 0)
		w.addSpan(w.base+int64(from), w.base+int64(end)+1, mt.lab)
	}
	if len(w.buf) > maxHold {
		w.flush(len(w.buf))
	} else {
		w.flush(w.safe())
	}
	if len(w.buf) > 0 && w.delay > 0 {
		if w.timer == nil {
			w.timer = time.AfterFunc(w.delay, w.stalled)
		} else {
			w.timer.Reset(w.delay)
		}
	}
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// Close writes out what is held back. At the end of the stream no match
// can complete any more, so everything left is decided.
func (w *writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.err == nil {
		w.flush(len(w.buf))
	}
	return w.err
}

func (w *writer) stalled() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.err != nil || len(w.buf) == 0 {
		return
	}
	if w.m.auto.depthOf(w.state) >= stallFlushMax {
		return
	}
	w.flush(len(w.buf))
}

// safe returns how much of buf no future match can reach: everything
// before the longest match still in progress.
func (w *writer) safe() int {
	a := w.m.auto
	d := a.depthOf(w.state)
	if d == 0 {
		return len(w.buf)
	}
	return max(a.back(w.buf, len(w.buf)-1, d), 0)
}

func (w *writer) addSpan(from, to int64, lab int32) {
	// Matches arrive roughly in stream order, so search from the end.
	// Only overlapping spans merge: spans that merely touch stay apart, as
	// a flush between them would keep them apart too, and the markers must
	// not depend on where the output was cut.
	i := len(w.spans)
	for i > 0 && w.spans[i-1].to > from {
		i--
	}
	merged := span{from: from, to: to}
	j := i
	for ; j < len(w.spans) && w.spans[j].from < to; j++ {
		merged.from = min(merged.from, w.spans[j].from)
		merged.to = max(merged.to, w.spans[j].to)
		for _, t := range w.spans[j].tags {
			merged.addTag(t)
		}
	}
	for _, n := range w.m.labels[lab] {
		merged.addTag(tag{from: from, to: to, name: n})
	}
	w.spans = slices.Replace(w.spans, i, j, merged)
}

// addTag keeps one tag per secret, covering all its matches in the span,
// so a span's size stays bounded by the number of secrets however often
// they repeat.
func (s *span) addTag(t tag) {
	for k := range s.tags {
		if s.tags[k].name == t.name {
			s.tags[k].from = min(s.tags[k].from, t.from)
			s.tags[k].to = max(s.tags[k].to, t.to)
			return
		}
	}
	s.tags = append(s.tags, t)
}

// flush writes buf[:upto] with spans replaced by markers, never cutting a
// span in two: a span that reaches past upto is held back whole.
func (w *writer) flush(upto int) {
	limit := w.base + int64(upto)
	for _, s := range w.spans {
		if s.from < limit && s.to > limit {
			limit = s.from
		}
	}
	out := w.out[:0]
	cur := w.base
	n := 0
	for ; n < len(w.spans) && w.spans[n].from < limit; n++ {
		s := w.spans[n]
		if s.from > cur {
			out = append(out, w.buf[cur-w.base:s.from-w.base]...)
			w.lastEnd = -1
		}
		out = w.markers(out, s)
		cur = s.to
	}
	w.spans = slices.Delete(w.spans, 0, n)
	if limit > cur {
		out = append(out, w.buf[cur-w.base:limit-w.base]...)
		w.lastEnd = -1
		cur = limit
	}
	w.out = out
	if len(out) > 0 {
		if _, err := w.w.Write(out); err != nil {
			w.err = err
		}
	}
	used := int(cur - w.base)
	w.buf = w.buf[:copy(w.buf, w.buf[used:])]
	w.base = cur
}

func (w *writer) markers(out []byte, s span) []byte {
	slices.SortFunc(s.tags, func(a, b tag) int {
		if c := cmp.Compare(a.from, b.from); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	if s.from != w.lastEnd {
		w.lastNames = w.lastNames[:0]
	}
	for _, t := range s.tags {
		if slices.Contains(w.lastNames, t.name) || inside(t, s.tags) {
			continue
		}
		w.lastNames = append(w.lastNames, t.name)
		out = append(out, "<hush:"...)
		out = append(out, w.m.names[t.name]...)
		out = append(out, '>')
	}
	w.lastEnd = s.to
	return out
}

// inside reports whether t's match lies strictly within another one's.
func inside(t tag, tags []tag) bool {
	for _, o := range tags {
		if o.from <= t.from && t.to <= o.to && o.to-o.from > t.to-t.from {
			return true
		}
	}
	return false
}
