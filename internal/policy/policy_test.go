package policy_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/policy"
)

// rules is the config the table below runs against.
var rules = []policy.Rule{
	{Prefix: "org", Agent: policy.Handoff},
	{Prefix: "org/prod", Agent: policy.Deny, Person: policy.Confirm},
	{Prefix: "org/prod/ci", Agent: policy.Deny, Unknown: policy.Handoff},
	{Prefix: "org/staging/", Agent: policy.Confirm, Unknown: policy.Deny},
	{Prefix: "team", Agent: policy.Confirm},
}

func TestDecide(t *testing.T) {
	asAgent := must(policy.New(policy.UnknownAsAgent, rules...))
	asPerson := must(policy.New(policy.UnknownAsPerson, rules...))
	withCatchAll := must(policy.New(policy.UnknownAsAgent, append([]policy.Rule{{Agent: policy.Deny}}, rules...)...))

	for _, tc := range []struct {
		name    string
		p       *policy.Policy
		kind    detect.Kind
		names   []string
		outcome string
		rule    string
	}{
		{"without config an agent gets a handoff", policy.Default(), detect.Agent, []string{"org/KEY"}, "handoff", "built-in default (agent = handoff)"},
		{"without config a person gets the value", policy.Default(), detect.Person, []string{"org/KEY"}, "plaintext", "built-in default (person = allow)"},
		{"without config an unknown caller is treated as an agent", policy.Default(), detect.Unknown, []string{"org/KEY"}, "handoff", "built-in default (unknown = handoff, as agent)"},
		{"a secret outside every rule gets the built-in default", asAgent, detect.Agent, []string{"other/KEY"}, "handoff", "built-in default (agent = handoff)"},
		{"the most specific prefix wins: org/prod beats org", asAgent, detect.Agent, []string{"org/prod/DB"}, "deny", `"org/prod" (agent = deny)`},
		{"a rule holds its prefix itself", asAgent, detect.Agent, []string{"org/prod"}, "deny", `"org/prod" (agent = deny)`},
		{"prefixes match whole segments: org/production is not org/prod", asAgent, detect.Agent, []string{"org/production/DB"}, "handoff", `"org" (agent = handoff)`},
		{"a deeper rule wins over its parent", asAgent, detect.Unknown, []string{"org/prod/ci/TOKEN"}, "handoff", `"org/prod/ci" (unknown = handoff)`},
		{"an unset unknown column follows the agent column", asAgent, detect.Unknown, []string{"org/prod/DB"}, "deny", `"org/prod" (unknown = deny, as agent)`},
		{"the person column applies to people", asAgent, detect.Person, []string{"org/prod/DB"}, "confirm", `"org/prod" (person = confirm)`},
		{"an unset person column allows", asAgent, detect.Person, []string{"team/KEY"}, "plaintext", `"team" (person = allow)`},
		{"agents may be asked about", asAgent, detect.Agent, []string{"team/KEY"}, "confirm", `"team" (agent = confirm)`},
		{"a trailing slash in a rule's prefix is ignored", asAgent, detect.Unknown, []string{"org/staging/KEY"}, "deny", `"org/staging" (unknown = deny)`},
		{"the CI switch makes unknown callers people", asPerson, detect.Unknown, []string{"org/KEY"}, "plaintext", `"org" (unknown = allow, as person)`},
		{"the CI switch keeps the person column's confirm", asPerson, detect.Unknown, []string{"org/prod/DB"}, "confirm", `"org/prod" (unknown = confirm, as person)`},
		{"the CI switch does not override an explicit unknown column", asPerson, detect.Unknown, []string{"org/staging/KEY"}, "deny", `"org/staging" (unknown = deny)`},
		{"the CI switch does not touch agents", asPerson, detect.Agent, []string{"org/prod/DB"}, "deny", `"org/prod" (agent = deny)`},
		{"a catch-all rule covers everything else", withCatchAll, detect.Agent, []string{"other/KEY"}, "deny", `"" (agent = deny)`},
		{"a catch-all rule loses to a specific one", withCatchAll, detect.Agent, []string{"org/KEY"}, "handoff", `"org" (agent = handoff)`},
		{"a prefix load with one denied secret is denied whole", asAgent, detect.Agent, []string{"org/A", "org/prod/DB", "team/B"}, "deny", `"org/prod" (agent = deny)`},
		{"a prefix load with one secret to confirm asks", asAgent, detect.Agent, []string{"org/A", "team/B"}, "confirm", `"team" (agent = confirm)`},
		{"a person's prefix load asks if one secret needs it", asAgent, detect.Person, []string{"org/A", "org/prod/DB"}, "confirm", `"org/prod" (person = confirm)`},
		{"a prefix load mixing plaintext and handoff is a handoff", asPerson, detect.Unknown, []string{"org/A", "org/prod/ci/T"}, "handoff", `"org/prod/ci" (unknown = handoff)`},
		{"an empty prefix load uses the rule for every secret", withCatchAll, detect.Agent, nil, "deny", `"" (agent = deny)`},
		{"an empty prefix load without a catch-all is the default", asAgent, detect.Person, nil, "plaintext", "built-in default (person = allow)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.p.Decide(tc.kind, tc.names...)
			if d.Outcome() != tc.outcome || d.Rule() != tc.rule {
				t.Errorf("Decide(%s, %q) = %s by %s, want %s by %s", tc.kind, tc.names, d.Outcome(), d.Rule(), tc.outcome, tc.rule)
			}
			err := d.Err()
			if (err != nil) != (tc.outcome == "deny") {
				t.Fatalf("Err() = %v for outcome %s", err, tc.outcome)
			}
			if err != nil {
				if !errors.Is(err, policy.ErrDenied) {
					t.Errorf("Err() = %v, want it to wrap ErrDenied", err)
				}
				if want := "denied by policy rule " + tc.rule; err.Error() != want {
					t.Errorf("Err() = %q, want %q", err, want)
				}
			}
		})
	}
}

func TestNewRefusesBadRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []policy.Rule
		want  string
	}{
		{"two rules for one prefix", []policy.Rule{{Prefix: "org"}, {Prefix: "org/"}}, `two rules for prefix "org"`},
		{"an invalid prefix", []policy.Rule{{Prefix: "org//x"}}, "segments"},
		{"allow for agents", []policy.Rule{{Prefix: "org", Agent: policy.Allow}}, `agent = "allow"`},
		{"allow for unknown callers", []policy.Rule{{Prefix: "org", Unknown: policy.Allow}}, `unknown = "allow"`},
		{"deny for people", []policy.Rule{{Prefix: "org", Person: policy.Deny}}, `person = "deny"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.New(policy.UnknownAsAgent, tc.rules...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		allowed []policy.Action
		want    policy.Action
		err     bool
	}{
		{"handoff", policy.AgentActions, policy.Handoff, false},
		{"confirm", policy.AgentActions, policy.Confirm, false},
		{"deny", policy.AgentActions, policy.Deny, false},
		{"", policy.AgentActions, policy.Inherit, false},
		{"allow", policy.AgentActions, 0, true},
		{"allow", policy.PersonActions, policy.Allow, false},
		{"deny", policy.PersonActions, 0, true},
		{"Deny", policy.AgentActions, 0, true},
	} {
		t.Run(fmt.Sprintf("%q among %v", tc.in, tc.allowed), func(t *testing.T) {
			got, err := policy.ParseAction(tc.in, tc.allowed)
			if (err != nil) != tc.err || (!tc.err && got != tc.want) {
				t.Errorf("ParseAction = %v, %v; want %v (error %v)", got, err, tc.want, tc.err)
			}
		})
	}
	if _, err := policy.ParseUnknown("human"); err == nil {
		t.Error(`ParseUnknown("human") succeeded`)
	}
	if u, err := policy.ParseUnknown("person"); err != nil || u != policy.UnknownAsPerson {
		t.Errorf(`ParseUnknown("person") = %v, %v`, u, err)
	}
}

func TestNeedsApproval(t *testing.T) {
	if policy.Default().NeedsApproval() {
		t.Error("the default policy asks for approval")
	}
	if !must(policy.New(policy.UnknownAsAgent, rules...)).NeedsApproval() {
		t.Error("a policy with confirm rules does not ask for approval")
	}
}

func must(p *policy.Policy, err error) *policy.Policy {
	if err != nil {
		panic(err)
	}
	return p
}

func TestAnUnsetColumnTakesTheParentRulesValue(t *testing.T) {
	// A rule that only tightens what people get must not loosen what a
	// parent rule denies to agents.
	p := must(policy.New(policy.UnknownAsAgent,
		policy.Rule{Prefix: "org", Agent: policy.Deny},
		policy.Rule{Prefix: "org/prod", Person: policy.Confirm},
	))
	for _, kind := range []detect.Kind{detect.Agent, detect.Unknown} {
		if got := p.Decide(kind, "org/prod/DB").Outcome(); got != "deny" {
			t.Errorf("%v caller: org/prod/DB is %s, want deny (inherited from org)", kind, got)
		}
	}
	if got := p.Decide(detect.Person, "org/prod/DB").Outcome(); got != "confirm" {
		t.Errorf("person: org/prod/DB is %s, want confirm", got)
	}
}
