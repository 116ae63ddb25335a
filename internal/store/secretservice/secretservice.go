// Package secretservice keeps secrets in the desktop keyring through the
// freedesktop Secret Service API (org.freedesktop.secrets), as served by
// gnome-keyring and KeePassXC.
//
// Each secret is one item in the keyring's default collection, labelled
// "hush: NAME" and carrying the attributes service=hush and name=NAME, so
// `secret-tool search service hush` lists them. Values travel over a
// Diffie-Hellman encrypted session, never the plain one.
//
// It builds on github.com/keybase/go-keychain/secretservice for the wire
// types and value encryption, but keeps its own bus connection: the
// library's calls have no timeout, its connection cannot be closed, its
// prompt wait takes any prompt's completion as its own (and its match rule
// for it is refused by the bus), and its key exchange disagrees with the
// keyrings one session in 256 (see dh.go).
package secretservice

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/keybase/dbus"
	ss "github.com/keybase/go-keychain/secretservice"

	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
)

var (
	_ store.Store  = (*Store)(nil)
	_ store.Locker = (*Store)(nil)
	_ store.Closer = (*Store)(nil)
	_ store.Named  = (*Store)(nil)
)

// The three ways a keyring can be out of reach (field cases K1, K2). Each
// comes back as one line saying which, wrapped so callers can tell them
// apart with errors.Is; a locked collection also wraps store.ErrLocked.
var (
	ErrNoSessionBus = errors.New("no D-Bus session bus")
	ErrNoService    = errors.New("no Secret Service (org.freedesktop.secrets) on the session bus")
)

// Attribute keys and values that mark hush's items in the keyring.
const (
	AttrService  = "service"
	AttrName     = "name"
	ServiceValue = "hush"
)

const (
	// DefaultTimeout bounds every D-Bus call. A local keyring answers in
	// milliseconds; a few seconds covers D-Bus activation of the service.
	DefaultTimeout = 5 * time.Second
	// DefaultPromptTimeout bounds how long hush waits for a person to
	// answer the keyring's unlock prompt.
	DefaultPromptTimeout = 30 * time.Second
)

const (
	ifaceService    = "org.freedesktop.Secret.Service"
	ifaceCollection = "org.freedesktop.Secret.Collection"
	ifaceItem       = "org.freedesktop.Secret.Item"
	ifacePrompt     = "org.freedesktop.Secret.Prompt"
	ifaceProps      = "org.freedesktop.DBus.Properties"
	// gnome-keyring's private interface, the only way to unlock a
	// collection with a passphrase instead of a prompt.
	gnomeUnlock = "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword"
)

type options struct {
	timeout       time.Duration
	promptTimeout time.Duration
	alias         string
	prompt        *bool
}

// Option configures Open.
type Option func(*options)

// WithTimeout bounds each D-Bus call (default DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithPromptTimeout bounds the wait for a person to answer an unlock prompt
// (default DefaultPromptTimeout).
func WithPromptTimeout(d time.Duration) Option { return func(o *options) { o.promptTimeout = d } }

// WithCollection picks the collection by alias (default "default", the one
// `secret-tool store` writes to).
func WithCollection(alias string) Option { return func(o *options) { o.alias = alias } }

// WithPrompt says whether hush may ask the keyring to show its unlock
// prompt. By default it does only where a prompt can show: when DISPLAY or
// WAYLAND_DISPLAY is set.
func WithPrompt(allow bool) Option { return func(o *options) { o.prompt = &allow } }

// Store is an open connection to the Secret Service.
type Store struct {
	timeout       time.Duration
	promptTimeout time.Duration
	alias         string
	allowPrompt   bool

	conn *dbus.Conn
	// prompts routes each Prompt.Completed signal to the operation
	// waiting on that prompt, and drops the rest (KeePassXC broadcasts
	// every client's completions).
	pmu     sync.Mutex
	prompts map[dbus.ObjectPath]chan completion

	// mu serializes every operation, so a write reads back its own value.
	mu         sync.Mutex
	session    *ss.Session
	collection dbus.ObjectPath
	closed     bool
}

// Open connects to the session bus, opens an encrypted session with the
// Secret Service and finds the collection. It fails within the timeout
// with an error wrapping ErrNoSessionBus or ErrNoService when the keyring
// cannot be reached. A locked collection is not an error here: it is
// reported (and unlocking attempted) when a secret is first touched.
func Open(ctx context.Context, opts ...Option) (*Store, error) {
	o := options{timeout: DefaultTimeout, promptTimeout: DefaultPromptTimeout, alias: "default"}
	for _, opt := range opts {
		opt(&o)
	}
	if o.timeout <= 0 || o.promptTimeout <= 0 {
		return nil, errors.New("secretservice: timeouts must be positive")
	}
	allow := os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
	if o.prompt != nil {
		allow = *o.prompt
	}
	s := &Store{timeout: o.timeout, promptTimeout: o.promptTimeout, alias: o.alias, allowPrompt: allow}

	addr, err := sessionBusAddress()
	if err != nil {
		return nil, err
	}
	conn, err := connect(ctx, addr, o.timeout)
	if err != nil {
		return nil, err
	}
	s.conn = conn
	if err := s.watchPrompts(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	if err := s.openSession(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	if err := s.findCollection(ctx); err != nil {
		s.closeSession()
		conn.Close()
		return nil, err
	}
	return s, nil
}

// sessionBusAddress refuses to let the D-Bus library fall back to
// dbus-launch: that would start a fresh bus with an empty keyring and
// silently keep secrets where the user will never look.
func sessionBusAddress() (string, error) {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return a, nil
	}
	// Where systemd's user manager puts the bus when nothing exported it.
	bus := fmt.Sprintf("/run/user/%d/bus", os.Getuid())
	if fi, err := os.Stat(bus); err == nil && fi.Mode()&os.ModeSocket != 0 {
		return "unix:path=" + bus, nil
	}
	return "", final("secretservice: %w: DBUS_SESSION_BUS_ADDRESS is not set and %s does not exist; run hush inside your desktop session or set backend = \"file\"", ErrNoSessionBus, bus)
}

// connect dials the bus, authenticates and says Hello within timeout. A
// bus socket whose owner has hung would otherwise block forever.
func connect(ctx context.Context, addr string, timeout time.Duration) (*dbus.Conn, error) {
	// The connection lives until Close; cancelling connCtx closes it,
	// which is also how a stuck handshake is cut short.
	connCtx, closeConn := context.WithCancel(context.Background())
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stop := context.AfterFunc(hctx, closeConn)
	conn, err := dbus.Connect(addr, dbus.WithContext(connCtx))
	if stop() && err == nil {
		return conn, nil
	}
	closeConn()
	switch {
	case ctx.Err() != nil:
		return nil, final("secretservice: connecting to the session bus: %w", ctx.Err())
	case hctx.Err() != nil:
		return nil, final("secretservice: %w: %s did not answer within %s", ErrNoSessionBus, addr, timeout)
	}
	return nil, final("secretservice: %w at %s: %v; run hush inside your desktop session or set backend = \"file\"", ErrNoSessionBus, addr, unwrapAll(err))
}

// watchPrompts subscribes to prompt completions and routes them by path.
func (s *Store) watchPrompts(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := s.conn.AddMatchSignalContext(ctx, dbus.WithMatchInterface(ifacePrompt), dbus.WithMatchMember("Completed"))
	if err != nil {
		return final("secretservice: %w: the bus refused a signal subscription: %v", ErrNoSessionBus, unwrapAll(err))
	}
	s.prompts = make(map[dbus.ObjectPath]chan completion)
	signals := make(chan *dbus.Signal, 16)
	s.conn.Signal(signals)
	go func() {
		// Ends when the connection closes, which closes the channel.
		for sig := range signals {
			var c completion
			if sig.Name != ifacePrompt+".Completed" || dbus.Store(sig.Body, &c.dismissed, &c.result) != nil {
				continue
			}
			s.pmu.Lock()
			if ch, ok := s.prompts[sig.Path]; ok {
				ch <- c
				delete(s.prompts, sig.Path)
			}
			s.pmu.Unlock()
		}
	}()
	return nil
}

func (s *Store) service() dbus.BusObject {
	return s.conn.Object(ss.SecretServiceInterface, ss.SecretServiceObjectPath)
}

func (s *Store) obj(path dbus.ObjectPath) dbus.BusObject {
	return s.conn.Object(ss.SecretServiceInterface, path)
}

// openSession negotiates the encrypted session.
func (s *Store) openSession(ctx context.Context) error {
	sess, _, err := s.exchange(ctx)
	if err != nil {
		return s.mapErr("open an encrypted session", err)
	}
	s.session = sess
	return nil
}

// exchange runs the key exchange; it also returns the service's public
// value, for tests of the exchange itself.
func (s *Store) exchange(ctx context.Context) (*ss.Session, []byte, error) {
	private, public, err := newKeypair()
	if err != nil {
		return nil, nil, err
	}
	var out dbus.Variant
	var path dbus.ObjectPath
	input := dbus.MakeVariant(padded(public))
	if err := s.call(ctx, s.service(), ifaceService+".OpenSession", string(ss.AuthenticationDHAES), input).Store(&out, &path); err != nil {
		return nil, nil, err
	}
	peer, ok := out.Value().([]byte)
	if !ok {
		return nil, nil, errBadPeerKey
	}
	key, err := sessionKey(peer, private)
	if err != nil {
		return nil, nil, err
	}
	return &ss.Session{Mode: ss.AuthenticationDHAES, Path: path, Public: public, Private: private, AESKey: key}, peer, nil
}

func (s *Store) closeSession() {
	if s.session == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	_ = s.obj(s.session.Path).CallWithContext(ctx, "org.freedesktop.Secret.Session.Close", 0).Err
	s.session = nil
}

func (s *Store) findCollection(ctx context.Context) error {
	var path dbus.ObjectPath
	if err := s.call(ctx, s.service(), ifaceService+".ReadAlias", s.alias).Store(&path); err != nil {
		return s.mapErr("find the "+s.alias+" collection", err)
	}
	if path == "" || path == "/" {
		return final("secretservice: the keyring has no %q collection; create one in your keyring app (seahorse, KeePassXC) or set backend = \"file\"", s.alias)
	}
	s.collection = path
	return nil
}

// call makes one D-Bus call bounded by the store's timeout.
func (s *Store) call(ctx context.Context, obj dbus.BusObject, method string, args ...any) *dbus.Call {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return obj.CallWithContext(ctx, method, 0, args...)
}

func (s *Store) property(ctx context.Context, path dbus.ObjectPath, iface, name string, v any) error {
	var variant dbus.Variant
	if err := s.call(ctx, s.obj(path), ifaceProps+".Get", iface, name).Store(&variant); err != nil {
		return err
	}
	return dbus.Store([]any{variant.Value()}, v)
}

// Backend names this store for `hush status`.
func (s *Store) Backend() string { return "secretservice" }

// Get returns the value of name.
func (s *Store) Get(ctx context.Context, name string) ([]byte, error) {
	if err := secret.ValidateStored(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	items, err := s.search(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, final("secretservice: %s: %w", name, store.ErrNotFound)
	}
	return s.readItem(ctx, name, items[0])
}

// Put stores value under name and reads it back before returning.
func (s *Store) Put(ctx context.Context, name string, value []byte) error {
	if err := secret.ValidateName(name); err != nil {
		return err
	}
	if err := secret.ValidateValue(name, value); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ready(ctx); err != nil {
		return err
	}
	var item dbus.ObjectPath
	err := s.withSession(ctx, func() (err error) {
		item, err = s.createItem(ctx, name, value)
		return err
	})
	if err != nil {
		return s.mapErr("store "+name, err)
	}
	// A keyring can drop a write without an error (a collection locked in
	// between, a full disk behind the daemon); only a read proves it landed.
	got, err := s.readItem(ctx, name, item)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, value) {
		return final("secretservice: %s did not read back as written", name)
	}
	// Items another tool made with extra attributes match our search but
	// were not replaced; drop them so reads cannot return the old value.
	items, err := s.search(ctx, name)
	if err != nil {
		return err
	}
	for _, it := range items {
		if it == item {
			continue
		}
		if err := s.deleteItem(ctx, name, it); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes name.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := secret.ValidateStored(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ready(ctx); err != nil {
		return err
	}
	items, err := s.search(ctx, name)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return final("secretservice: %s: %w", name, store.ErrNotFound)
	}
	for _, it := range items {
		if err := s.deleteItem(ctx, name, it); err != nil {
			return err
		}
	}
	return nil
}

// List returns the sorted names at or below prefix.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	if err := secret.ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	var items []dbus.ObjectPath
	attrs := map[string]string{AttrService: ServiceValue}
	if err := s.call(ctx, s.obj(s.collection), ifaceCollection+".SearchItems", attrs).Store(&items); err != nil {
		return nil, s.mapErr("list secrets", err)
	}
	seen := make(map[string]bool, len(items))
	names := []string{}
	for _, it := range items {
		var a map[string]string
		if err := s.property(ctx, it, ifaceItem, "Attributes", &a); err != nil {
			return nil, s.mapErr("list secrets", err)
		}
		n, ok := a[AttrName]
		if !ok || seen[n] || !secret.Under(prefix, n) {
			continue
		}
		seen[n] = true
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// Locked reports whether the collection is locked. It reports false when
// the keyring cannot be asked; the next operation says why.
func (s *Store) Locked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	locked, err := s.isLocked(context.Background())
	return err == nil && locked
}

// Lock locks the collection, as the keyring's own "lock" button does.
func (s *Store) Lock(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	var done []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := s.call(ctx, s.service(), ifaceService+".Lock", []dbus.ObjectPath{s.collection}).Store(&done, &prompt); err != nil {
		return s.mapErr("lock the keyring", err)
	}
	if prompt != "/" {
		if _, err := s.runPrompt(ctx, prompt, "lock"); err != nil {
			return err
		}
	}
	return nil
}

// Unlock unlocks the collection. With a passphrase it uses gnome-keyring's
// passphrase unlock (store.ErrBadPassphrase when wrong); without one it asks
// the keyring to show its own prompt, where a prompt can show.
func (s *Store) Unlock(ctx context.Context, passphrase []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	locked, err := s.lockState(ctx)
	if err != nil || !locked {
		return err
	}
	if len(passphrase) == 0 {
		return s.unlockByPrompt(ctx, true)
	}
	err = s.withSession(ctx, func() error {
		master, err := s.session.NewSecret(passphrase[:len(passphrase):len(passphrase)])
		if err != nil {
			return err
		}
		return s.call(ctx, s.service(), gnomeUnlock, s.collection, master).Err
	})
	switch dbusErrorName(err) {
	case "":
		if err != nil {
			return s.mapErr("unlock the keyring", err)
		}
	case "org.freedesktop.DBus.Error.UnknownMethod", "org.freedesktop.DBus.Error.UnknownInterface":
		return final("secretservice: this keyring cannot be unlocked with a passphrase from hush; unlock it in its own window: %w", store.ErrLocked)
	case "org.gnome.keyring.Error.Denied":
		// gnome-keyring's answer to a wrong master password.
		return final("secretservice: %w", store.ErrBadPassphrase)
	default:
		return s.mapErr("unlock the keyring", err)
	}
	if locked, err := s.lockState(ctx); err != nil || locked {
		return cmp.Or(err, final("secretservice: %w", store.ErrBadPassphrase))
	}
	return nil
}

// Close ends the encrypted session and the bus connection.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.closeSession()
	return s.conn.Close()
}

var errClosed = errors.New("secretservice: store is closed")

// ready fails on a closed store and makes sure the collection is unlocked,
// trying the keyring's prompt where one can show.
func (s *Store) ready(ctx context.Context) error {
	locked, err := s.lockState(ctx)
	if err != nil || !locked {
		return err
	}
	return s.unlockByPrompt(ctx, s.allowPrompt)
}

// lockState asks whether the collection is locked, failing on a closed
// store.
func (s *Store) lockState(ctx context.Context) (bool, error) {
	if s.closed {
		return false, errClosed
	}
	locked, err := s.isLocked(ctx)
	if err != nil {
		return false, s.mapErr("check whether the keyring is locked", err)
	}
	return locked, nil
}

func (s *Store) isLocked(ctx context.Context) (bool, error) {
	var locked bool
	err := s.property(ctx, s.collection, ifaceCollection, "Locked", &locked)
	if dbusErrorName(err) == "org.freedesktop.DBus.Error.UnknownObject" || dbusErrorName(err) == "org.freedesktop.Secret.Error.NoSuchObject" {
		// The collection went away (deleted, or the keyring restarted
		// with another layout): look the alias up again once.
		if ferr := s.findCollection(ctx); ferr != nil {
			return false, ferr
		}
		err = s.property(ctx, s.collection, ifaceCollection, "Locked", &locked)
	}
	return locked, err
}

func (s *Store) unlockByPrompt(ctx context.Context, allowPrompt bool) error {
	var done []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := s.call(ctx, s.service(), ifaceService+".Unlock", []dbus.ObjectPath{s.collection}).Store(&done, &prompt); err != nil {
		return s.mapErr("unlock the keyring", err)
	}
	if prompt != "/" {
		if !allowPrompt {
			_ = s.call(ctx, s.obj(prompt), ifacePrompt+".Dismiss").Err
			return s.lockedErr("no display to show the unlock prompt on")
		}
		if _, err := s.runPrompt(ctx, prompt, "unlock"); err != nil {
			return err
		}
	}
	if locked, err := s.lockState(ctx); err != nil || locked {
		return cmp.Or(err, s.lockedErr("the unlock prompt did not unlock it"))
	}
	return nil
}

// completion is a prompt's Completed signal: whether it was dismissed, and
// what the prompted operation returned (CreateItem: the item's path).
type completion struct {
	dismissed bool
	result    dbus.Variant
}

// runPrompt asks the keyring to show a prompt and waits for the person,
// bounded by the prompt timeout; a prompt still open then is dismissed.
func (s *Store) runPrompt(ctx context.Context, prompt dbus.ObjectPath, what string) (dbus.Variant, error) {
	done := make(chan completion, 1)
	s.pmu.Lock()
	s.prompts[prompt] = done // before Prompt: the signal can beat the reply
	s.pmu.Unlock()
	defer func() {
		s.pmu.Lock()
		delete(s.prompts, prompt)
		s.pmu.Unlock()
	}()
	if err := s.call(ctx, s.obj(prompt), ifacePrompt+".Prompt", "").Err; err != nil {
		return dbus.Variant{}, s.lockedErr(fmt.Sprintf("the %s prompt failed: %v", what, unwrapAll(err)))
	}
	ctx, cancel := context.WithTimeout(ctx, s.promptTimeout)
	defer cancel()
	select {
	case c := <-done:
		if c.dismissed {
			return dbus.Variant{}, s.lockedErr("the " + what + " prompt was dismissed")
		}
		return c.result, nil
	case <-ctx.Done():
		dctx, dcancel := context.WithTimeout(context.Background(), s.timeout)
		defer dcancel()
		_ = s.obj(prompt).CallWithContext(dctx, ifacePrompt+".Dismiss", 0).Err
		if errors.Is(ctx.Err(), context.Canceled) {
			return dbus.Variant{}, final("secretservice: the %s prompt: %w", what, context.Canceled)
		}
		return dbus.Variant{}, s.lockedErr(fmt.Sprintf("nobody answered the %s prompt within %s", what, s.promptTimeout))
	}
}

func (s *Store) lockedErr(why string) error {
	var label string
	if err := s.property(context.Background(), s.collection, ifaceCollection, "Label", &label); err != nil || label == "" {
		label = strings.TrimPrefix(string(s.collection), "/org/freedesktop/secrets/collection/")
	}
	return final("secretservice: keyring collection %q is locked (%s); unlock it in your keyring app: %w", label, why, store.ErrLocked)
}

func (s *Store) search(ctx context.Context, name string) ([]dbus.ObjectPath, error) {
	var items []dbus.ObjectPath
	attrs := map[string]string{AttrService: ServiceValue, AttrName: name}
	if err := s.call(ctx, s.obj(s.collection), ifaceCollection+".SearchItems", attrs).Store(&items); err != nil {
		return nil, s.mapErr("look up "+name, err)
	}
	return items, nil
}

func (s *Store) readItem(ctx context.Context, name string, item dbus.ObjectPath) ([]byte, error) {
	var value []byte
	err := s.withSession(ctx, func() error {
		var raw []any
		if err := s.call(ctx, s.obj(item), ifaceItem+".GetSecret", s.session.Path).Store(&raw); err != nil {
			return err
		}
		var sec ss.Secret
		if err := dbus.Store(raw, &sec.Session, &sec.Parameters, &sec.Value, &sec.ContentType); err != nil {
			return err
		}
		v, err := decrypt(s.session.AESKey, sec.Parameters, sec.Value)
		value = v
		return err
	})
	if err != nil {
		return nil, s.mapErr("read "+name, err)
	}
	return value, nil
}

func (s *Store) createItem(ctx context.Context, name string, value []byte) (dbus.ObjectPath, error) {
	// The library pads by appending, which would write into the spare
	// capacity of a caller's buffer; a full slice expression forces a copy.
	sec, err := s.session.NewSecret(value[:len(value):len(value)])
	if err != nil {
		return "", final("secretservice: encrypt %s: %w", name, err)
	}
	// No xdg:schema attribute: secret-tool then hides the others, and
	// the name is what a person searching the keyring needs to see.
	attrs := map[string]string{AttrService: ServiceValue, AttrName: name}
	props := ss.NewSecretProperties("hush: "+name, attrs)
	var item, prompt dbus.ObjectPath
	if err := s.call(ctx, s.obj(s.collection), ifaceCollection+".CreateItem", props, sec, true).Store(&item, &prompt); err != nil {
		return "", err
	}
	if prompt != "/" {
		// KeePassXC creates every item through a prompt, which it completes
		// on its own unless it needs the person; the item's path comes with
		// the completion.
		result, err := s.runPrompt(ctx, prompt, "store")
		if err != nil {
			return "", err
		}
		if item, _ = result.Value().(dbus.ObjectPath); item == "" || item == "/" {
			return "", final("secretservice: the keyring did not say where it stored %s", name)
		}
	}
	return item, nil
}

func (s *Store) deleteItem(ctx context.Context, name string, item dbus.ObjectPath) error {
	var prompt dbus.ObjectPath
	if err := s.call(ctx, s.obj(item), ifaceItem+".Delete").Store(&prompt); err != nil {
		return s.mapErr("delete "+name, err)
	}
	if prompt != "/" {
		_, err := s.runPrompt(ctx, prompt, "delete")
		return err
	}
	return nil
}

// withSession runs fn and, when the keyring no longer knows our session
// (it restarted), opens a new one and runs fn once more.
func (s *Store) withSession(ctx context.Context, fn func() error) error {
	err := fn()
	switch dbusErrorName(err) {
	case "org.freedesktop.Secret.Error.NoSession", "org.freedesktop.DBus.Error.UnknownObject":
		if oerr := s.openSession(ctx); oerr != nil {
			return oerr
		}
		return fn()
	}
	return err
}

// mapErr turns a D-Bus failure into one line a person can act on.
func (s *Store) mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var done *finalError
	if errors.As(err, &done) {
		return err
	}
	switch dbusErrorName(err) {
	case "org.freedesktop.Secret.Error.IsLocked":
		return s.lockedErr("the keyring refused to " + op)
	case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner",
		"org.freedesktop.DBus.Error.Spawn.ServiceNotFound", "org.freedesktop.DBus.Error.Spawn.ChildExited":
		return final("secretservice: %w; start gnome-keyring-daemon or KeePassXC (with Secret Service integration on), or set backend = \"file\"", ErrNoService)
	}
	if !s.conn.Connected() {
		return final("secretservice: %w: the connection to it was lost", ErrNoSessionBus)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return final("secretservice: the keyring did not answer within %s (%s); is it waiting on a prompt?", s.timeout, op)
	}
	if errors.Is(err, context.Canceled) {
		return final("secretservice: %s: %w", op, context.Canceled)
	}
	return final("secretservice: %s: %v", op, unwrapAll(err))
}

// finalError marks an error already phrased for a person, so mapErr passes
// it through instead of prefixing it again.
type finalError struct{ err error }

func (e *finalError) Error() string { return e.err.Error() }
func (e *finalError) Unwrap() error { return e.err }

func final(format string, args ...any) error {
	return &finalError{fmt.Errorf(format, args...)}
}

func dbusErrorName(err error) string {
	var e dbus.Error
	if errors.As(err, &e) {
		return e.Name
	}
	var p *dbus.Error
	if errors.As(err, &p) && p != nil {
		return p.Name
	}
	return ""
}

// unwrapAll gives the innermost message, so one line does not repeat every
// layer's prefix.
func unwrapAll(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return strings.ReplaceAll(err.Error(), "\n", " ")
		}
		err = next
	}
}
