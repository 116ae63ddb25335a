package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hush-dev/hush/internal/approve"
	"github.com/hush-dev/hush/internal/detect"
)

const fullAccessConfig = `
[policy]
unknown = "person"

[[policy.rule]]
prefix = "org/prod"
agent = "deny"
unknown = "deny"
person = "confirm"

[[policy.rule]]
prefix = "org"
agent = "confirm"

[approval]
method = "command"
command = ["fprintd-verify"]
timeout = "20s"
idle = "10m"
max = "1h"

[[detect.agent]]
name = "mybot"
names = ["mybot"]
programs = ["mb"]
argv_patterns = ["@acme/mybot"]
env_markers = ["MYBOT_SESSION", "AGENT=mybot"]
`

func TestAccessSectionsAreRead(t *testing.T) {
	c, err := Parse([]byte(fullAccessConfig))
	if err != nil {
		t.Fatal(err)
	}
	wantApproval := ApprovalConfig{Method: "command", Pinentry: "pinentry", Command: []string{"fprintd-verify"}, Timeout: 20 * time.Second, Idle: 10 * time.Minute, Max: time.Hour}
	if !reflect.DeepEqual(c.Approval, wantApproval) {
		t.Errorf("Approval = %+v, want %+v", c.Approval, wantApproval)
	}
	if _, ok := c.Approval.Approver().(*approve.Command); !ok {
		t.Errorf("Approver() = %T, want the command approver", c.Approval.Approver())
	}
	wantSigs := []detect.Signature{{Name: "mybot", Names: []string{"mybot"}, ProgramNames: []string{"mb"}, ArgvPatterns: []string{"@acme/mybot"}, EnvMarkers: []string{"MYBOT_SESSION", "AGENT=mybot"}}}
	if got := c.Detect.Signatures(); !reflect.DeepEqual(got, wantSigs) {
		t.Errorf("Signatures() = %+v, want %+v", got, wantSigs)
	}
	p, err := c.Policy.Policy()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind          detect.Kind
		name, outcome string
	}{
		{detect.Agent, "org/prod/DB", "deny"},
		{detect.Agent, "org/KEY", "confirm"},
		{detect.Unknown, "org/KEY", "plaintext"}, // unknown = "person": org's person column, not its agent one
		{detect.Unknown, "org/prod/DB", "deny"},
		{detect.Person, "org/prod/DB", "confirm"},
		{detect.Unknown, "other/KEY", "plaintext"},
	} {
		if got := p.Decide(tc.kind, tc.name).Outcome(); got != tc.outcome {
			t.Errorf("%s asking for %s gets %s, want %s", tc.kind, tc.name, got, tc.outcome)
		}
	}
}

func TestAccessDefaults(t *testing.T) {
	c := Default()
	if c.Approval.Method != "pinentry" || c.Approval.Idle != 30*time.Minute || c.Approval.Max != 4*time.Hour || c.Approval.Timeout != time.Minute {
		t.Errorf("default approval = %+v", c.Approval)
	}
	p, err := c.Policy.Policy()
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Decide(detect.Unknown, "x").Outcome(); got != "handoff" {
		t.Errorf("without config an unknown caller gets %s, want handoff", got)
	}
	if len(c.Detect.Signatures()) != 0 {
		t.Errorf("default config has user signatures")
	}
}

func TestAccessSectionsRefuseMistakes(t *testing.T) {
	for _, tc := range []struct {
		name, content, want string
	}{
		{"an unknown action for agents", "[[policy.rule]]\nprefix = \"org\"\nagent = \"allow\"\n", `policy.rule "org": agent: "allow" is not one of "handoff", "confirm", "deny"`},
		{"an unknown action for people", "[[policy.rule]]\nprefix = \"org\"\nperson = \"deny\"\n", `person: "deny" is not one of "allow", "confirm"`},
		{"a misspelt unknown switch", "[policy]\nunknown = \"human\"\n", `policy.unknown: "human"`},
		{"two rules for one prefix", "[[policy.rule]]\nprefix = \"org\"\n[[policy.rule]]\nprefix = \"org/\"\n", `two rules for prefix "org"`},
		{"an unknown key in a rule", "[[policy.rule]]\nprefix = \"org\"\nagents = \"deny\"\n", `unknown key "policy.rule.agents"`},
		{"an unknown approval method", "[approval]\nmethod = \"touchid\"\n", `approval.method "touchid" is not one of pinentry, command, none`},
		{"a command approval without a command", "[approval]\nmethod = \"command\"\n", "approval.command is empty"},
		{"a bare number for a duration", "[approval]\nidle = 60\n", `approval.idle must be a duration string`},
		{"an idle TTL longer than the maximum", "[approval]\nidle = \"5h\"\n", "approval.idle 5h0m0s is longer than approval.max 4h0m0s"},
		{"a zero timeout", "[approval]\ntimeout = \"0s\"\n", "approval.timeout 0s is outside"},
		{"a relative tty", "[approval]\ntty = \"pts/3\"\n", `approval.tty "pts/3"`},
		{"confirm with nobody to ask", "[approval]\nmethod = \"none\"\n[[policy.rule]]\nprefix = \"org\"\nagent = \"confirm\"\n", `approval.method is "none"`},
		{"an agent without a name", "[[detect.agent]]\nnames = [\"x\"]\n", "detect.agent[1]: name is required"},
		{"an agent with nothing to match", "[[detect.agent]]\nname = \"x\"\n", `detect.agent "x": give at least one of`},
		{"an empty name to match", "[[detect.agent]]\nname = \"x\"\nnames = [\"\"]\n", "names holds an empty entry"},
		{"a bad env marker", "[[detect.agent]]\nname = \"x\"\nenv_markers = [\"MY VAR\"]\n", `env marker "MY VAR"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.content))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is more than one line", err)
			}
		})
	}
}
