// Package storetest is the conformance suite every store.Store backend runs,
// so "values come back byte-exact" and the error contract mean the same
// thing for the file vault, the Secret Service and the macOS keychain.
//
// A backend's test calls it once:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openEmpty(t) })
//	}
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
)

// Run checks that the stores open returns behave as store.Store promises.
// open is called once per subtest and must return an empty, unlocked store
// that no other call shares; it registers its own cleanup with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	t.Run("values come back byte-exact", func(t *testing.T) { testByteExact(t, open(t)) })
	t.Run("every byte but NUL comes back, one byte per secret", func(t *testing.T) { testEachByte(t, open(t)) })
	t.Run("odd but storable names round-trip", func(t *testing.T) { testNames(t, open(t)) })
	t.Run("a missing secret is ErrNotFound", func(t *testing.T) { testNotFound(t, open(t)) })
	t.Run("put replaces and delete removes", func(t *testing.T) { testReplaceDelete(t, open(t)) })
	t.Run("refused names and values are not stored", func(t *testing.T) { testRefusals(t, open(t)) })
	t.Run("list selects by path prefix, sorted", func(t *testing.T) { testList(t, open(t)) })
	t.Run("callers' slices are not shared with the store", func(t *testing.T) { testAliasing(t, open(t)) })
	t.Run("concurrent sets, gets and deletes lose nothing", func(t *testing.T) { testConcurrent(t, open(t)) })
	t.Run("setting the value a secret has keeps it", func(t *testing.T) { testSameValue(t, open(t)) })
	t.Run("put many stores all, the last of a repeated name wins, and one refused stores none", func(t *testing.T) { testPutMany(t, open(t)) })
}

// Values are the byte strings every backend must return unchanged. They
// cover the field cases V1–V5 and the shapes that tempt a backend to
// "normalise" (trailing whitespace, CRLF, invalid UTF-8).
func Values() map[string][]byte {
	all := make([]byte, 0, 255)
	for b := 1; b <= 0xff; b++ {
		all = append(all, byte(b))
	}
	return map[string][]byte{
		"EMPTY":           {},
		"ALL_BYTES":       all,
		"DOLLAR_HASH":     []byte("data$extra#tail"),
		"QUOTE":           []byte("it's a key :("),
		"SHELL_CHARS":     []byte("foo$bar foo`bar a\"b\\c!*~"),
		"PEM":             []byte("-----BEGIN KEY-----\nAAAA\n-----END KEY-----"),
		"TWO_NEWLINES":    []byte("sk_test_FAKE\n\n"),
		"TWO_SPACES":      []byte("sk_test_FAKE  "),
		"LEADING_SPACE":   []byte("  sk_test_FAKE"),
		"CRLF":            []byte("line1\r\nline2\r\n"),
		"ONLY_NEWLINE":    []byte("\n"),
		"INVALID_UTF8":    {0xff, 0xfe, 0xc3, 0x28, 0x80},
		"UNICODE":         []byte("pässwörd-ключ-🔑"),
		"LARGEST_ALLOWED": bytes.Repeat([]byte("0123456789abcdef"), secret.MaxValueSize/16),
	}
}

func ctx() context.Context { return context.Background() }

func mustPut(t *testing.T, s store.Store, name string, value []byte) {
	t.Helper()
	if err := s.Put(ctx(), name, value); err != nil {
		t.Fatalf("Put(%q): %v", name, err)
	}
}

func mustGet(t *testing.T, s store.Store, name string) []byte {
	t.Helper()
	v, err := s.Get(ctx(), name)
	if err != nil {
		t.Fatalf("Get(%q): %v", name, err)
	}
	return v
}

func mustList(t *testing.T, s store.Store, prefix string) []string {
	t.Helper()
	names, err := s.List(ctx(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return names
}

// describe reports a mismatch by length and first differing offset, never by
// printing values: test logs are logs too.
func describe(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("got %d bytes, want %d; first difference at byte %d", len(got), len(want), i)
}

func testByteExact(t *testing.T, s store.Store) {
	values := Values()
	for k, v := range values {
		mustPut(t, s, "conformance/"+k, v)
	}
	for k, want := range values {
		if got := mustGet(t, s, "conformance/"+k); !bytes.Equal(got, want) {
			t.Errorf("%s: %s", k, describe(got, want))
		}
	}
}

func testEachByte(t *testing.T, s store.Store) {
	// One secret per byte catches a backend that mangles a byte only when
	// it stands alone or ends the value (a trimmed \n, \r or space).
	for b := 1; b <= 0xff; b++ {
		mustPut(t, s, fmt.Sprintf("bytes/B%02X", b), []byte{byte(b)})
	}
	for b := 1; b <= 0xff; b++ {
		name := fmt.Sprintf("bytes/B%02X", b)
		if got := mustGet(t, s, name); !bytes.Equal(got, []byte{byte(b)}) {
			t.Errorf("%s: %s", name, describe(got, []byte{byte(b)}))
		}
	}
}

func testNames(t *testing.T, s store.Store) {
	names := []string{
		"api.access.token", "my-key", "1KEY", "a b", "X;touch /tmp/pwned;Y", "$(id)",
		"org/ключ/KEY", "org/proj/STRIPE_KEY", strings.Repeat("n", secret.MaxNameSize),
	}
	for i, n := range names {
		mustPut(t, s, n, []byte(fmt.Sprintf("value-%d", i)))
	}
	for i, n := range names {
		if got := mustGet(t, s, n); string(got) != fmt.Sprintf("value-%d", i) {
			t.Errorf("%q: %s", n, describe(got, []byte(fmt.Sprintf("value-%d", i))))
		}
	}
	want := append([]string(nil), names...)
	sort.Strings(want)
	if got := mustList(t, s, ""); !reflect.DeepEqual(got, want) {
		t.Errorf("List(\"\") = %q, want %q", got, want)
	}
}

func testNotFound(t *testing.T, s store.Store) {
	if _, err := s.Get(ctx(), "org/MISSING"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of a missing secret = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx(), "org/MISSING"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delete of a missing secret = %v, want ErrNotFound", err)
	}
	mustPut(t, s, "org/api/KEY", []byte("sk_test_FAKE"))
	for _, near := range []string{"org/api", "org/api/KEY/sub", "org/api/KE", "ORG/API/KEY"} {
		if _, err := s.Get(ctx(), near); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%q) next to org/api/KEY = %v, want ErrNotFound", near, err)
		}
	}
	if got := mustList(t, s, "other"); len(got) != 0 {
		t.Errorf("List of an empty prefix = %q, want nothing", got)
	}
}

func testReplaceDelete(t *testing.T, s store.Store) {
	mustPut(t, s, "org/KEY", []byte("first-value"))
	mustPut(t, s, "org/KEY", []byte("second"))
	if got := mustGet(t, s, "org/KEY"); string(got) != "second" {
		t.Fatalf("after replacing: %s", describe(got, []byte("second")))
	}
	if err := s.Delete(ctx(), "org/KEY"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(ctx(), "org/KEY"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
	}
	if got := mustList(t, s, ""); len(got) != 0 {
		t.Fatalf("List after Delete = %q, want nothing", got)
	}
	if err := s.Delete(ctx(), "org/KEY"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second Delete = %v, want ErrNotFound", err)
	}
	mustPut(t, s, "org/KEY", []byte("again"))
	if got := mustGet(t, s, "org/KEY"); string(got) != "again" {
		t.Fatalf("after re-adding: %s", describe(got, []byte("again")))
	}
}

func testRefusals(t *testing.T, s store.Store) {
	tests := []struct {
		name    string
		secret  string
		value   []byte
		wantErr error
	}{
		{"a value with NUL (V6)", "org/NUL", []byte("abc\x00def"), secret.ErrInvalidValue},
		{"a value over the size limit", "org/BIG", make([]byte, secret.MaxValueSize+1), secret.ErrInvalidValue},
		{"an empty name", "", []byte("v"), secret.ErrInvalidName},
		{"a name with a dot-dot segment", "org/../KEY", []byte("v"), secret.ErrInvalidName},
		{"a name with a newline", "org/KEY\nX", []byte("v"), secret.ErrInvalidName},
		{"a name with a bidi override", "org/\u202eYEK", []byte("v"), secret.ErrInvalidName},
		{"a name with a zero-width space", "org/KEY\u200b", []byte("v"), secret.ErrInvalidName},
	}
	for _, tt := range tests {
		if err := s.Put(ctx(), tt.secret, tt.value); !errors.Is(err, tt.wantErr) {
			t.Errorf("Put of %s = %v, want %v", tt.name, err, tt.wantErr)
		}
	}
	if got := mustList(t, s, ""); len(got) != 0 {
		t.Errorf("refused puts left %q behind", got)
	}
	if _, err := s.List(ctx(), "org//x"); !errors.Is(err, secret.ErrInvalidName) {
		t.Errorf("List of an invalid prefix = %v, want ErrInvalidName", err)
	}
}

func testList(t *testing.T, s store.Store) {
	for _, n := range []string{"org/api/KEY", "org/api/OTHER", "org/api", "org/apix/KEY", "org/web/KEY", "other/KEY", "orgx"} {
		mustPut(t, s, n, []byte("v-"+n))
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"org/api", "org/api/KEY", "org/api/OTHER", "org/apix/KEY", "org/web/KEY", "orgx", "other/KEY"}},
		{"org", []string{"org/api", "org/api/KEY", "org/api/OTHER", "org/apix/KEY", "org/web/KEY"}},
		{"org/api", []string{"org/api", "org/api/KEY", "org/api/OTHER"}},
		{"org/api/", []string{"org/api", "org/api/KEY", "org/api/OTHER"}},
		{"org/api/KEY", []string{"org/api/KEY"}},
		{"org/ap", nil},
		{"nothing", nil},
	}
	for _, tt := range tests {
		got := mustList(t, s, tt.prefix)
		if len(got) == 0 && len(tt.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("List(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}
}

func testAliasing(t *testing.T, s store.Store) {
	in := []byte("sk_test_FAKE_original")
	mustPut(t, s, "org/KEY", in)
	copy(in, "XXXXXXX")
	out := mustGet(t, s, "org/KEY")
	if string(out) != "sk_test_FAKE_original" {
		t.Fatalf("changing the slice after Put changed the stored value")
	}
	copy(out, "YYYYYYY")
	if again := mustGet(t, s, "org/KEY"); string(again) != "sk_test_FAKE_original" {
		t.Fatalf("changing the slice Get returned changed the stored value")
	}
}

func testConcurrent(t *testing.T, s store.Store) {
	const workers, rounds = 8, 6
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*4)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				own := fmt.Sprintf("conc/w%d/KEY%d", w, r)
				want := fmt.Sprintf("value-%d-%d", w, r)
				if err := s.Put(ctx(), own, []byte(want)); err != nil {
					errs <- fmt.Errorf("Put(%s): %w", own, err)
					continue
				}
				if got, err := s.Get(ctx(), own); err != nil || string(got) != want {
					errs <- fmt.Errorf("Get(%s) right after Put: err=%v, %s", own, err, describe(got, []byte(want)))
				}
				// Everyone writes the shared key; a torn read would show a
				// value nobody wrote.
				if err := s.Put(ctx(), "conc/SHARED", []byte(want)); err != nil {
					errs <- fmt.Errorf("Put(SHARED): %w", err)
				}
				if got, err := s.Get(ctx(), "conc/SHARED"); err != nil || !strings.HasPrefix(string(got), "value-") {
					errs <- fmt.Errorf("Get(SHARED): err=%v, %d bytes not written by any worker", err, len(got))
				}
				if r%2 == 1 {
					if err := s.Delete(ctx(), own); err != nil {
						errs <- fmt.Errorf("Delete(%s): %w", own, err)
					}
				}
				if _, err := s.List(ctx(), "conc"); err != nil {
					errs <- fmt.Errorf("List: %w", err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var want []string
	for w := range workers {
		for r := 0; r < rounds; r += 2 {
			want = append(want, fmt.Sprintf("conc/w%d/KEY%d", w, r))
		}
	}
	want = append(want, "conc/SHARED")
	sort.Strings(want)
	if got := mustList(t, s, "conc"); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the storm List = %q, want %q", got, want)
	}
	for w := range workers {
		for r := 0; r < rounds; r += 2 {
			name := fmt.Sprintf("conc/w%d/KEY%d", w, r)
			if got := mustGet(t, s, name); string(got) != fmt.Sprintf("value-%d-%d", w, r) {
				t.Errorf("%s lost its value: %s", name, describe(got, []byte(fmt.Sprintf("value-%d-%d", w, r))))
			}
		}
	}
}

func testSameValue(t *testing.T, s store.Store) {
	mustPut(t, s, "org/KEY", []byte("sk_test_FAKE_same"))
	mustPut(t, s, "org/KEY", []byte("sk_test_FAKE_same"))
	if got := mustGet(t, s, "org/KEY"); string(got) != "sk_test_FAKE_same" {
		t.Fatalf("after setting the same value again: %s", describe(got, []byte("sk_test_FAKE_same")))
	}
}

// testPutMany goes through store.PutMany, so a backend with its own
// Batcher and one without are held to the same results.
func testPutMany(t *testing.T, s store.Store) {
	mustPut(t, s, "many/A", []byte("sk_test_FAKE_A0"))
	refused := []secret.Secret{
		{Name: "many/A", Value: []byte("sk_test_FAKE_A1")},
		{Name: "many/B", Value: []byte("sk_test_FAKE_B1")},
		{Name: "many/C", Value: []byte("abc\x00def")},
	}
	if err := store.PutMany(ctx(), s, refused); !errors.Is(err, secret.ErrInvalidValue) {
		t.Fatalf("PutMany with a NUL value = %v, want ErrInvalidValue", err)
	}
	if got := mustList(t, s, "many"); !reflect.DeepEqual(got, []string{"many/A"}) {
		t.Fatalf("a refused PutMany left %q, want just many/A", got)
	}
	if got := mustGet(t, s, "many/A"); string(got) != "sk_test_FAKE_A0" {
		t.Fatalf("a refused PutMany changed many/A: %s", describe(got, []byte("sk_test_FAKE_A0")))
	}
	batch := []secret.Secret{
		{Name: "many/A", Value: []byte("sk_test_FAKE_A1")},
		{Name: "many/B", Value: []byte("sk_test_FAKE_B1")},
		{Name: "many/B", Value: []byte("sk_test_FAKE_B2")},
		{Name: "many/C", Value: []byte("sk_test_FAKE_C1")},
	}
	if err := store.PutMany(ctx(), s, batch); err != nil {
		t.Fatalf("PutMany: %v", err)
	}
	for name, want := range map[string]string{"many/A": "sk_test_FAKE_A1", "many/B": "sk_test_FAKE_B2", "many/C": "sk_test_FAKE_C1"} {
		if got := mustGet(t, s, name); string(got) != want {
			t.Errorf("%s after PutMany: %s", name, describe(got, []byte(want)))
		}
	}
	copy(batch[3].Value, "XXXXXXX")
	if got := mustGet(t, s, "many/C"); string(got) != "sk_test_FAKE_C1" {
		t.Errorf("changing a slice after PutMany changed the stored value")
	}
}
