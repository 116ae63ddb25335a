package dotenv_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/joho/godotenv"

	"github.com/hush-dev/hush/internal/dotenv"
	"github.com/hush-dev/hush/internal/secret"
)

type kv = [2]string

var lineRE = regexp.MustCompile(`line \d+: `)

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []kv
	}{
		{
			name:  "a double-quoted value over two lines keeps its newline (E1)",
			input: "URLS=\"foo\nbar\"\n",
			want:  []kv{{"URLS", "foo\nbar"}},
		},
		{
			name:  "an escaped newline in double quotes is a newline (E1)",
			input: `URLS="foo\nbar"` + "\n",
			want:  []kv{{"URLS", "foo\nbar"}},
		},
		{
			name:  "an unquoted value keeps its inner space (E2)",
			input: "MY_ENV=foo bar\n",
			want:  []kv{{"MY_ENV", "foo bar"}},
		},
		{
			name:  "a commented line is skipped and an empty value is kept (E4)",
			input: "#WEB=\nCLUSTER=d1\nAPP_ID=\nAPP_KEY=abcd\n",
			want:  []kv{{"CLUSTER", "d1"}, {"APP_ID", ""}, {"APP_KEY", "abcd"}},
		},
		{
			name:  "a CRLF file gives values without carriage returns (E5)",
			input: "API_KEY=sk_test_FAKE\r\nOTHER=\"two\r\nlines\"\r\n",
			want:  []kv{{"API_KEY", "sk_test_FAKE"}, {"OTHER", "two\nlines"}},
		},
		{
			name:  "double quotes are removed (E6)",
			input: `FOOBAR="12345"` + "\n",
			want:  []kv{{"FOOBAR", "12345"}},
		},
		{
			name:  "single quotes keep dollars, backslashes and hashes literally",
			input: `PASS='pa$SWORD\n#x'` + "\n",
			want:  []kv{{"PASS", `pa$SWORD\n#x`}},
		},
		{
			name:  "a lower-case command substitution is kept as written (N2)",
			input: "CMD=$(id)\nQ=\"`id`\"\n",
			want:  []kv{{"CMD", "$(id)"}, {"Q", "`id`"}},
		},
		{
			name:  "an escaped quote inside double quotes is a quote",
			input: `JSON="{\"a\":\"b\"}"` + "\n",
			want:  []kv{{"JSON", `{"a":"b"}`}},
		},
		{
			name:  "a lower-case dollar is not a reference (V1)",
			input: "V1=data$extra#tail\n",
			want:  []kv{{"V1", "data$extra#tail"}},
		},
		{
			name:  "an escaped dollar stays a dollar",
			input: `A=pa\$SWORD` + "\n" + `B="pa\$SWORD"` + "\n",
			want:  []kv{{"A", "pa$SWORD"}, {"B", "pa$SWORD"}},
		},
		{
			name:  "a reference to an earlier line expands",
			input: "HOST=db.example\nURL=postgres://${HOST}/app\n",
			want:  []kv{{"HOST", "db.example"}, {"URL", "postgres://db.example/app"}},
		},
		{
			name:  "a dollar in a trailing comment is only a comment",
			input: "KEY=abc # uses $HOME\n",
			want:  []kv{{"KEY", "abc"}},
		},
		{
			name:  "secrets keep file order, not alphabetical order",
			input: "ZED=1\nALPHA=2\nMID=3\n",
			want:  []kv{{"ZED", "1"}, {"ALPHA", "2"}, {"MID", "3"}},
		},
		{
			name:  "export prefixes and yaml-style colons are accepted",
			input: "export TOKEN=abc\nOTHER: def\n",
			want:  []kv{{"TOKEN", "abc"}, {"OTHER", "def"}},
		},
		{
			name:  "a dotted name imports as a storable, non-exportable name (N1)",
			input: "api.access.token=xyz\n",
			want:  []kv{{"api.access.token", "xyz"}},
		},
		{
			name:  "a name given twice keeps the last value at its first place",
			input: "A=1\nB=2\nA=3\n",
			want:  []kv{{"A", "3"}, {"B", "2"}},
		},
		{
			name:  "a last line without a newline is read",
			input: "A=1\nB=2",
			want:  []kv{{"A", "1"}, {"B", "2"}},
		},
		{
			name:  "a byte order mark is ignored",
			input: "\uFEFFA=1\n",
			want:  []kv{{"A", "1"}},
		},
		{
			name:  "blank lines, indentation and comments are skipped",
			input: "\n   \n# comment\n  A=1\n\t# another\n",
			want:  []kv{{"A", "1"}},
		},
		{
			name:  "an empty file imports nothing",
			input: "",
			want:  nil,
		},
		{
			name:  "a PEM key in double quotes keeps its lines (V4)",
			input: "KEY=\"-----BEGIN KEY-----\nAAAA\n-----END KEY-----\"\nNEXT=1\n",
			want:  []kv{{"KEY", "-----BEGIN KEY-----\nAAAA\n-----END KEY-----"}, {"NEXT", "1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dotenv.Parse(strings.NewReader(tt.input))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var pairs []kv
			for _, s := range got {
				pairs = append(pairs, kv{s.Name, string(s.Value)})
			}
			if fmt.Sprintf("%q", pairs) != fmt.Sprintf("%q", tt.want) {
				t.Fatalf("Parse = %q\n want %q", pairs, tt.want)
			}
		})
	}
}

func TestEntriesNameTheLineTheirValueComesFrom(t *testing.T) {
	got, err := dotenv.Parse(strings.NewReader("# c\nA=1\nB=\"x\ny\"\nEMPTY=\nA=2\nQUOTED=''\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name, value string
		line        int
	}{{"A", "2", 6}, {"B", "x\ny", 3}, {"EMPTY", "", 5}, {"QUOTED", "", 7}}
	if len(got) != len(want) {
		t.Fatalf("Parse returned %d entries, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Name != w.name || string(got[i].Value) != w.value || got[i].Line != w.line {
			t.Errorf("entry %d = %s=%q on line %d, want %s=%q on line %d", i, got[i].Name, got[i].Value, got[i].Line, w.name, w.value, w.line)
		}
	}
}

func TestCRLFAndLFImportTheSame(t *testing.T) {
	lf := "A=1\nB=\"x\ny\"\n# c\nC='q'\n"
	crlf := strings.ReplaceAll(lf, "\n", "\r\n")
	a, err := dotenv.Parse(strings.NewReader(lf))
	if err != nil {
		t.Fatal(err)
	}
	b, err := dotenv.Parse(strings.NewReader(crlf))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("LF %+v != CRLF %+v", a, b)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		lines   []string // each must appear, as "line N: ..."
		has     []string
		wrapped error
	}{
		{
			name:  "a dashed name is a line-numbered error, never a silent stop (E3)",
			input: "A=1\ngo-version=hello\nB=2\n",
			lines: []string{"line 2: "},
			has:   []string{`"go-version"`},
		},
		{
			name:    "a NUL in a value is refused naming the key (V6)",
			input:   "A=1\nTOKEN=abc\x00def\n",
			lines:   []string{"line 2: "},
			has:     []string{`"TOKEN"`, "NUL"},
			wrapped: secret.ErrInvalidValue,
		},
		{
			name:    "a value over the size limit is refused naming the key",
			input:   "BIG=" + strings.Repeat("x", secret.MaxValueSize+1) + "\n",
			lines:   []string{"line 1: "},
			has:     []string{`"BIG"`},
			wrapped: secret.ErrInvalidValue,
		},
		{
			name:  "every bad line is reported at once",
			input: "go-version=1\nOK=1\nmy-key=2\n",
			lines: []string{"line 1: ", "line 3: "},
			has:   []string{`"go-version"`, `"my-key"`},
		},
		{
			name:  "a quote never closed names the line and the key",
			input: "A=1\nB=\"never closed\nC=3\n",
			lines: []string{"line 2: "},
			has:   []string{`"B"`, "never closed"},
		},
		{
			name:  "a line without = is an error",
			input: "A=1\njust some words\n",
			lines: []string{"line 2: "},
		},
		{
			name:  "a last line without = is an error, not an empty name",
			input: "A=1\nLONELY",
			lines: []string{"line 2: "},
		},
		{
			name:  "a line starting with = is an error",
			input: "=value\n",
			lines: []string{"line 1: "},
		},
		{
			name:  "a reference to an undefined name is refused rather than emptied",
			input: "PASS=pa$SWORD\n",
			lines: []string{"line 1: "},
			has:   []string{`"PASS"`, "single-quote"},
		},
		{
			name:  "a braced reference to an undefined name in double quotes is refused",
			input: "PASS=\"x${NOPE}y\"\n",
			lines: []string{"line 1: "},
			has:   []string{`"PASS"`},
		},
		{
			name:  "a parenthesised upper-case reference to an undefined name is refused",
			input: "CMD=a$(ID)\n",
			lines: []string{"line 1: "},
			has:   []string{`"CMD"`},
		},
		{
			name:  "a value ending in an escaped double quote is refused, not cut",
			input: `JSON="say \"hi\""` + "\n",
			lines: []string{"line 1: "},
			has:   []string{`"JSON"`, "other kind of quotes"},
		},
		{
			name:  "a value ending in an escaped single quote is refused, not cut",
			input: `Q='it\''` + "\n",
			lines: []string{"line 1: "},
			has:   []string{`"Q"`},
		},
		{
			name:  "a reference to a later line is refused",
			input: "URL=${HOST}/x\nHOST=h\n",
			lines: []string{"line 1: "},
		},
		{
			name:  "a file that is not UTF-8 is refused, not mangled",
			input: "A=caf\xe9\n",
			lines: []string{"line 1: "},
			has:   []string{"UTF-8"},
		},
		{
			name:  "a non-ASCII name is a line-numbered error",
			input: "A=1\nключ=2\n",
			lines: []string{"line 2: "},
			has:   []string{`"ключ"`},
		},
		{
			name:  "text after a closing quote is an error",
			input: "A=\"x\" trailing\n",
			lines: []string{"line 1: "},
		},
		{
			name:    "a name with a control character is refused",
			input:   "A\tB=1\n",
			lines:   []string{"line 1: "},
			wrapped: secret.ErrInvalidName,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dotenv.Parse(strings.NewReader(tt.input))
			if err == nil {
				t.Fatalf("Parse returned %d entries, want an error", len(got))
			}
			if got != nil {
				t.Fatalf("Parse returned %d secrets with its error; it must be all or nothing", len(got))
			}
			msg := err.Error()
			for _, l := range tt.lines {
				if !strings.Contains(msg, l) {
					t.Errorf("error %q does not say %q", msg, l)
				}
			}
			if n := len(lineRE.FindAllString(msg, -1)); n != len(tt.lines) {
				t.Errorf("error %q reports %d lines, want %d", msg, n, len(tt.lines))
			}
			for _, h := range tt.has {
				if !strings.Contains(msg, h) {
					t.Errorf("error %q does not mention %s", msg, h)
				}
			}
			if tt.wrapped != nil && !errors.Is(err, tt.wrapped) {
				t.Errorf("error %v does not wrap %v", err, tt.wrapped)
			}
			var le *dotenv.LineError
			if !errors.As(err, &le) {
				t.Errorf("error %v holds no LineError", err)
			}
			for _, leak := range []string{"hello", "abc", "def", "never closed\n", "words", "SWORD", "NOPE", "caf", "trailing", "LONELY", "say"} {
				if strings.Contains(tt.input, leak) && strings.Contains(msg, leak) && !strings.Contains(strings.Join(tt.has, " "), leak) {
					t.Errorf("error %q repeats %q from the file", msg, leak)
				}
			}
		})
	}
}

func TestOversizedFileIsRefused(t *testing.T) {
	r := bytes.NewReader(bytes.Repeat([]byte("# padding\n"), dotenv.MaxFileSize/10+1))
	if _, err := dotenv.Parse(r); err == nil {
		t.Fatal("Parse of an oversized file succeeded")
	}
}

// FuzzParse: no input panics; whatever Parse accepts is what godotenv
// itself reads from the file, with storable names and acceptable values.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"URLS=\"foo\nbar\"\n", "MY_ENV=foo bar\n", "go-version=hello\n", "#WEB=\nCLUSTER=d1\nAPP_ID=\nAPP_KEY=abcd\n",
		"API_KEY=sk_test_FAKE\r\n", "FOOBAR=\"12345\"\n", "A=$B\n", "A='x\n", "export A: b # c\n", "A=\"x\\\"y\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := dotenv.Parse(bytes.NewReader(data))
		if err != nil {
			if got != nil {
				t.Fatal("secrets returned with an error")
			}
			return
		}
		want, gerr := godotenv.UnmarshalBytes(bytes.TrimPrefix(data, []byte("\uFEFF")))
		if gerr != nil {
			t.Fatalf("Parse accepted what godotenv refuses: %v", gerr)
		}
		if len(got) != len(want) {
			t.Fatalf("Parse returned %d secrets, godotenv %d", len(got), len(want))
		}
		for _, s := range got {
			if secret.ValidateName(s.Name) != nil || secret.ValidateValue(s.Name, s.Value) != nil {
				t.Fatalf("Parse returned a secret the rules refuse: %q", s.Name)
			}
			if v, ok := want[s.Name]; !ok || v != string(s.Value) {
				t.Fatalf("%q differs from godotenv's reading", s.Name)
			}
		}
	})
}

func ExampleParse() {
	secrets, err := dotenv.Parse(strings.NewReader("# stripe\nSTRIPE_KEY=\"sk_test_FAKE\"\nexport REGION=eu\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range secrets {
		fmt.Println(s.Name, len(s.Value))
	}
	_, err = dotenv.Parse(strings.NewReader("A=1\ngo-version=1.22\n"))
	fmt.Println(err)
	// Output:
	// STRIPE_KEY 12
	// REGION 2
	// line 2: "go-version" is not a name dotenv accepts (names hold ASCII letters, digits, "_" and ".")
}

func TestManyBadLinesAreSummarised(t *testing.T) {
	_, err := dotenv.Parse(strings.NewReader(strings.Repeat("go-version=1\n", 100)))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	msg := err.Error()
	if n := len(lineRE.FindAllString(msg, -1)); n != 20 || !strings.Contains(msg, "and 80 more problems") {
		t.Fatalf("error reports %d lines: %q", n, msg)
	}
}
