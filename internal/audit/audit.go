// Package audit is hush's tamper-evident audit log: one JSON line for every
// access and every change, naming secrets and never holding a value.
//
// # Chain
//
// A sealed line is the record's JSON with `,"mac":"<hex>"}` in place of its
// closing brace. The MAC is HMAC-SHA256 over
//
//	"hush-audit-v1\n" + prev + "\n" + pending + "\n" + body
//
// where body is the line's exact bytes without the mac member (so any change
// to a line, even of whitespace or an added field, breaks it), prev is the
// hex MAC of the sealed record before it ("" for the first record ever), and
// pending is the hex SHA-256 of the unsealed lines between the two, each with
// its newline ("" when there are none). Editing, inserting or removing a
// record therefore breaks every MAC from there on.
//
// # Unsealed records
//
// The key lives in the vault, so a daemon over a passphrase vault has no key
// until a person unlocks it. Records written before then are written at once
// (a crash must not lose them) but unsealed: without a mac. The first sealed
// record after them covers them through pending; `verify` reports any that
// are still waiting at the end of the log. Once known, the daemon keeps the
// key in memory, also while the vault is locked again.
//
// # Files
//
// When the current file has reached the size limit, it is renamed to
// audit.jsonl.N (N counts up, 1 being the oldest ever) before the next
// record, and only the newest Keep such files are kept. The first record of
// every file carries "prev", the MAC it chains to, so the chain runs on
// across files; when older files have been rotated away, the oldest one kept
// anchors the chain on its stated prev. A file is never rotated while it
// ends in unsealed records, so every rotated file ends sealed.
//
// # Head
//
// A log cut at its end still chains correctly up to where it was cut. The
// daemon that wrote it notices (it remembers the last MAC), and a later one
// can only if the end is kept elsewhere: Head is the last sealed record's
// place and MAC, for the daemon to keep in the vault, and CheckHead checks
// a log against it after a restart. A cut found that way is carried in
// every later Head, so verify reports it for good. Records written after
// the head was last kept can still be cut unnoticed; deleting the oldest
// files is indistinguishable from rotation.
package audit

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// Defaults for Open.
const (
	DefaultMaxSize = 8 << 20 // bytes per file before rotation
	DefaultKeep    = 8       // rotated files kept
)

// maxLine bounds one record; a GetPrefix of many long names stays far below.
const maxLine = 4 << 20

// domain separates hush's audit MACs from any other use of the key.
const domain = "hush-audit-v1\n"

var (
	// ErrBusy: another process has the log open.
	ErrBusy = errors.New("audit log is in use by another process")
	// ErrClosed: the Log was used after Close.
	ErrClosed = errors.New("audit log is closed")
	// ErrNoKey: the key is not known yet (a passphrase vault not unlocked
	// since the daemon started), so nothing can be verified.
	ErrNoKey = errors.New("the audit key is not available until the vault is unlocked")
	// ErrKeyMismatch: the log's last sealed record was made with another
	// key, e.g. because the vault was re-created. The chain breaks there.
	ErrKeyMismatch = errors.New("the audit log was sealed with a different key")
	// ErrBehind: a follower read too slowly and missed records.
	ErrBehind = errors.New("the audit follower fell behind and missed records")
)

// Record is one line of the log. It names secrets and never holds a value.
type Record struct {
	Time      time.Time `json:"time"`
	Operation string    `json:"op"`
	Names     []string  `json:"names,omitempty"`
	// Prefix is the prefix asked for by GetPrefix and List.
	Prefix string `json:"prefix,omitempty"`
	PID    int    `json:"pid"`
	// Chain summarises the caller's processes, nearest first: "hush<bash<claude".
	Chain    string `json:"chain,omitempty"`
	Verdict  string `json:"verdict"` // "person", "agent" or "unknown"
	Agent    string `json:"agent,omitempty"`
	Signal   string `json:"signal,omitempty"`
	Rule     string `json:"rule,omitempty"`
	Approval string `json:"approval,omitempty"`
	// Result is "ok" or the error's one-line message.
	Result string `json:"result"`
	// Backend and Config are on a daemon's Start record: the store it
	// opened and a digest of the settings in force.
	Backend string `json:"backend,omitempty"`
	Config  string `json:"config,omitempty"`
	// Prev is set on the first record of a file: the MAC it chains to.
	Prev string `json:"prev,omitempty"`
	MAC  string `json:"mac,omitempty"`
}

// Position is a point in the log: the file that is current (by the number
// it will get when rotated) and its size.
type Position struct {
	Gen  int
	Size int64
}

// Option configures Open.
type Option func(*Log)

// WithMaxSize rotates the current file once it holds n bytes.
func WithMaxSize(n int64) Option {
	return func(l *Log) {
		if n > 0 {
			l.maxSize = n
		}
	}
}

// WithKeep keeps the newest n rotated files (at least 1).
func WithKeep(n int) Option {
	return func(l *Log) {
		if n > 0 {
			l.keep = n
		}
	}
}

// chain is where the log's MAC chain stands.
type chain struct {
	prev     string    // hex MAC of the last sealed record, "" before the first
	pending  hash.Hash // SHA-256 of the unsealed lines since
	npending int
}

func newChain(prev string) chain { return chain{prev: prev, pending: sha256.New()} }

func (c *chain) pendingHex() string {
	if c.npending == 0 {
		return ""
	}
	return hex.EncodeToString(c.pending.Sum(nil))
}

func (c *chain) addUnsealed(line []byte) {
	c.pending.Write(line)
	c.pending.Write([]byte{'\n'})
	c.npending++
}

func (c *chain) seal(mac string) {
	c.prev = mac
	c.pending.Reset()
	c.npending = 0
}

// Log is an open audit log. It is safe for concurrent use.
type Log struct {
	path    string
	maxSize int64
	keep    int
	lock    *flock.Flock

	mu     sync.Mutex
	closed bool
	f      *os.File
	size   int64
	gen    int
	key    []byte
	chain  chain
	// tail is the last sealed record read at Open, to check a key
	// against it before sealing more under that key.
	tail *sealedLine
	// lines is how many lines the current file holds.
	lines int
	// head is where the last sealed record is; cut, a break CheckHead
	// found or was handed, which every Head carries on.
	head Head
	cut  *Break
	// opened is where the log stood at Open: what CheckHead checks.
	opened Position
	subs   map[*Subscription]struct{}
}

type sealedLine struct {
	prev, pending, mac string
	body               []byte
}

// Open opens (creating if needed) the log at path, in a private directory.
// Records can be appended at once; they are sealed once SetKey is called.
func Open(path string, opts ...Option) (_ *Log, err error) {
	l := &Log{path: path, maxSize: DefaultMaxSize, keep: DefaultKeep, subs: map[*Subscription]struct{}{}}
	for _, o := range opts {
		o(l)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	l.lock = flock.New(path+".lock", flock.SetPermissions(0o600))
	ok, err := l.lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s (lock file %s); is another hush daemon running?", ErrBusy, path, path+".lock")
	}
	defer func() {
		if err != nil {
			l.lock.Unlock()
		}
	}()
	rotated, err := rotatedFiles(path)
	if err != nil {
		return nil, err
	}
	l.gen = 1
	if len(rotated) > 0 {
		l.gen = rotated[len(rotated)-1] + 1
	}
	l.f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer func() {
		if err != nil {
			l.f.Close()
		}
	}()
	if err := l.loadState(rotated); err != nil {
		return nil, err
	}
	l.opened = Position{Gen: l.gen, Size: l.size}
	return l, nil
}

// loadState finds where the chain stands: at the end of the current file,
// or of the newest rotated one when the current file is empty.
func (l *Log) loadState(rotated []int) error {
	fi, err := l.f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("audit log %s is not a regular file", l.path)
	}
	l.size = fi.Size()
	if l.size > 0 {
		if err := l.terminateLastLine(); err != nil {
			return err
		}
		st, err := scanState(l.path)
		if err != nil {
			return err
		}
		l.chain, l.tail, l.lines = st.chain, st.tail, st.lines
		if st.tail != nil {
			l.head = Head{Gen: l.gen, Line: st.sealedLine, MAC: st.tail.mac}
		}
		return nil
	}
	l.chain = newChain("")
	if len(rotated) > 0 {
		gen := rotated[len(rotated)-1]
		st, err := scanState(rotatedName(l.path, gen))
		if err != nil {
			return err
		}
		l.chain, l.tail = st.chain, st.tail
		if st.tail != nil {
			l.head = Head{Gen: gen, Line: st.sealedLine, MAC: st.tail.mac}
		}
	}
	return nil
}

// terminateLastLine ends a line cut short by a crash, so the next record
// starts on its own line; verify reports the cut line as broken.
func (l *Log) terminateLastLine() error {
	r, err := os.Open(l.path)
	if err != nil {
		return err
	}
	defer r.Close()
	last := make([]byte, 1)
	if _, err := r.ReadAt(last, l.size-1); err != nil {
		return err
	}
	if last[0] == '\n' {
		return nil
	}
	n, err := l.f.Write([]byte{'\n'})
	l.size += int64(n)
	return err
}

// fileState is where one file leaves the chain.
type fileState struct {
	chain chain
	// tail is the last sealed record, at line sealedLine; nil if none.
	tail       *sealedLine
	sealedLine int
	lines      int
}

// scanState reads one file's chain without checking MACs (there may be no
// key yet): the first line's prev, then every line after it.
func scanState(name string) (fileState, error) {
	st := fileState{chain: newChain("")}
	c := &st.chain
	err := eachLine(name, -1, func(n int, raw []byte) error {
		st.lines = n
		rec, body, err := parseLine(raw)
		if err != nil {
			// A broken line is verify's to report; the chain continues.
			c.addUnsealed(raw)
			return nil
		}
		if n == 1 {
			c.prev = rec.Prev
		}
		if rec.MAC == "" {
			c.addUnsealed(raw)
			return nil
		}
		st.tail = &sealedLine{prev: c.prev, pending: c.pendingHex(), mac: rec.MAC, body: body}
		st.sealedLine = n
		c.seal(rec.MAC)
		return nil
	})
	return st, err
}

// SetKey gives the log its key; records appended from now on are sealed,
// and the first of them covers those written unsealed before. It returns
// ErrKeyMismatch (and still uses key) when the log's last sealed record was
// made with another key.
func (l *Log) SetKey(key []byte) error {
	if len(key) == 0 {
		return errors.New("audit: empty key")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.key = bytes.Clone(key)
	if t := l.tail; t != nil {
		l.tail = nil
		if !hmac.Equal([]byte(computeMAC(key, t.prev, t.pending, t.body)), []byte(t.mac)) {
			return ErrKeyMismatch
		}
	}
	return nil
}

// HasKey reports whether records are being sealed.
func (l *Log) HasKey() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.key != nil
}

// Path is the current file.
func (l *Log) Path() string { return l.path }

// Append writes r (its Time set to now when zero), sealed when the key is
// known, and returns it as written.
func (l *Log) Append(r Record) (Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Stamped under the lock, so times run in file order.
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	r.Time = r.Time.UTC()
	r.MAC, r.Prev = "", ""
	if l.closed {
		return Record{}, ErrClosed
	}
	if l.size >= l.maxSize && l.key != nil && l.chain.npending == 0 {
		if err := l.rotate(); err != nil {
			return Record{}, fmt.Errorf("rotating the audit log: %w", err)
		}
	}
	if l.size == 0 {
		r.Prev = l.chain.prev
	}
	body, err := encode(r)
	if err != nil {
		return Record{}, err
	}
	line := body
	mac := ""
	if l.key != nil {
		mac = computeMAC(l.key, l.chain.prev, l.chain.pendingHex(), body)
		line = append(body[:len(body)-1:len(body)-1], `,"mac":"`+mac+`"}`...)
	}
	n, err := l.f.Write(append(line, '\n'))
	l.size += int64(n)
	if err != nil {
		return Record{}, fmt.Errorf("writing the audit log %s: %w", l.path, err)
	}
	l.lines++
	if mac != "" {
		l.chain.seal(mac)
		l.head = Head{Gen: l.gen, Line: l.lines, MAC: mac}
	} else {
		l.chain.addUnsealed(line)
	}
	r.MAC = mac
	l.publish(r)
	return r, nil
}

// encode is the record's JSON on one line, without HTML escaping so chains
// read "hush<bash" in the file.
func encode(r Record) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

func computeMAC(key []byte, prev, pending string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(domain))
	m.Write([]byte(prev))
	m.Write([]byte{'\n'})
	m.Write([]byte(pending))
	m.Write([]byte{'\n'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// parseLine splits a line into its record and the body its MAC covers.
func parseLine(raw []byte) (Record, []byte, error) {
	var r Record
	if len(raw) == 0 {
		return r, nil, errors.New("empty line")
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, nil, fmt.Errorf("not a record (%v)", err)
	}
	if r.MAC == "" {
		return r, raw, nil
	}
	suffix := `,"mac":"` + r.MAC + `"}`
	if len(r.MAC) != sha256.Size*2 || !bytes.HasSuffix(raw, []byte(suffix)) {
		return r, nil, errors.New(`the record does not end in a well-formed "mac"`)
	}
	body := append(bytes.Clone(raw[:len(raw)-len(suffix)]), '}')
	return r, body, nil
}

// rotate renames the current file to the next number, starts a new one and
// drops rotated files beyond keep. Called with mu held.
func (l *Log) rotate() error {
	if err := l.f.Sync(); err != nil {
		return err
	}
	if err := os.Rename(l.path, rotatedName(l.path, l.gen)); err != nil {
		return err
	}
	l.f.Close()
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		// Keep writing where we were rather than lose records.
		if back := os.Rename(rotatedName(l.path, l.gen), l.path); back == nil {
			if f, ferr := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0o600); ferr == nil {
				l.f = f
			}
		}
		return err
	}
	l.f, l.size, l.lines = f, 0, 0
	l.gen++
	rotated, err := rotatedFiles(l.path)
	if err != nil {
		return err
	}
	for _, n := range rotated {
		if n < l.gen-l.keep {
			os.Remove(rotatedName(l.path, n))
		}
	}
	return syncDir(filepath.Dir(l.path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func rotatedName(path string, n int) string { return path + "." + strconv.Itoa(n) }

// rotatedFiles lists the numbers of path's rotated files, oldest first.
func rotatedFiles(path string) ([]int, error) {
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	base := filepath.Base(path) + "."
	var out []int
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), base)
		if !ok || rest == "" || strings.TrimLeft(rest, "0123456789") != "" {
			continue
		}
		if n, err := strconv.Atoi(rest); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// eachLine calls fn with each line of name (without its newline), reading at
// most limit bytes when limit >= 0. A missing file has no lines.
func eachLine(name string, limit int64, fn func(n int, line []byte) error) error {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return eachLineOf(f, limit, fn)
}

func eachLineOf(f *os.File, limit int64, fn func(n int, line []byte) error) error {
	var r io.Reader = f
	if limit >= 0 {
		r = io.LimitReader(f, limit)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	n := 0
	for sc.Scan() {
		n++
		if err := fn(n, sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s line %d: %w", f.Name(), n+1, err)
	}
	return nil
}

// Close stops the log, ends every follower and releases the lock.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	for s := range l.subs {
		s.end(ErrClosed)
	}
	clear(l.key)
	err := errors.Join(l.f.Sync(), l.f.Close())
	return errors.Join(err, l.lock.Unlock())
}
