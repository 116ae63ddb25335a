// Package policy decides what a caller gets for a secret: a handoff, the
// value, a question to a person first, or a refusal. Rules are per prefix
// and the most specific one wins.
package policy

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/secret"
)

// ErrDenied is what a Deny decision's error wraps.
var ErrDenied = errors.New("denied by policy")

// Action is what a rule gives one kind of caller.
type Action int

const (
	// Inherit (the zero value) leaves the choice to the default: agents get
	// a handoff, people get the value, unknown callers follow the policy's
	// unknown switch.
	Inherit Action = iota
	// Allow shows the value (people).
	Allow
	// Handoff delivers through a handoff script: the value reaches the
	// process, never its output (agents, unknown callers).
	Handoff
	// Confirm asks a person first, then delivers as Allow or Handoff would.
	Confirm
	// Deny refuses.
	Deny
)

func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Handoff:
		return "handoff"
	case Confirm:
		return "confirm"
	case Deny:
		return "deny"
	}
	return "inherit"
}

// AgentActions and PersonActions are what config accepts for each column.
var (
	AgentActions  = []Action{Handoff, Confirm, Deny}
	PersonActions = []Action{Allow, Confirm}
)

// ParseAction reads one of allowed by name; "" is Inherit.
func ParseAction(s string, allowed []Action) (Action, error) {
	if s == "" {
		return Inherit, nil
	}
	for _, a := range allowed {
		if a.String() == s {
			return a, nil
		}
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = strconv.Quote(a.String())
	}
	return Inherit, fmt.Errorf("%q is not one of %s", s, strings.Join(names, ", "))
}

// Unknown says how callers with no terminal and no agent signal are
// treated where a rule does not name them.
type Unknown int

const (
	// UnknownAsAgent is the default: a setsid escape is still an agent.
	UnknownAsAgent Unknown = iota
	// UnknownAsPerson is for CI boxes and servers that run no agents:
	// jobs without a terminal get values.
	UnknownAsPerson
)

func (u Unknown) String() string {
	if u == UnknownAsPerson {
		return "person"
	}
	return "agent"
}

// ParseUnknown reads "agent" or "person"; "" is UnknownAsAgent.
func ParseUnknown(s string) (Unknown, error) {
	switch s {
	case "", "agent":
		return UnknownAsAgent, nil
	case "person":
		return UnknownAsPerson, nil
	}
	return UnknownAsAgent, fmt.Errorf(`%q is not one of "agent", "person"`, s)
}

// Rule is what each kind of caller gets for the secrets at or below Prefix
// ("" covers every secret).
type Rule struct {
	Prefix  string
	Agent   Action // Handoff, Confirm or Deny; Inherit is Handoff
	Unknown Action // Handoff, Confirm or Deny; Inherit follows the Unknown switch
	Person  Action // Allow or Confirm; Inherit is Allow
}

// Policy is an ordered set of rules.
type Policy struct {
	rules   []Rule // most specific first
	unknown Unknown
}

// New checks rules and returns a Policy. Two rules for one prefix are an
// error naming it, never a silent pick.
func New(unknown Unknown, rules ...Rule) (*Policy, error) {
	p := &Policy{unknown: unknown}
	seen := map[string]bool{}
	for _, r := range rules {
		if r.Prefix != "" {
			if err := secret.ValidatePrefix(r.Prefix); err != nil {
				return nil, fmt.Errorf("policy rule: %w", err)
			}
			r.Prefix = strings.TrimSuffix(r.Prefix, "/")
		}
		if seen[r.Prefix] {
			return nil, fmt.Errorf("policy: two rules for prefix %q", r.Prefix)
		}
		seen[r.Prefix] = true
		for _, c := range []struct {
			column  string
			a       Action
			allowed []Action
		}{{"agent", r.Agent, AgentActions}, {"unknown", r.Unknown, AgentActions}, {"person", r.Person, PersonActions}} {
			if c.a != Inherit && !slices.Contains(c.allowed, c.a) {
				return nil, fmt.Errorf("policy rule %q: %s = %q is not allowed", r.Prefix, c.column, c.a)
			}
		}
		p.rules = append(p.rules, r)
	}
	// Under is segment-wise, so of the rules that hold a name the longest
	// prefix is the most specific.
	slices.SortStableFunc(p.rules, func(a, b Rule) int { return len(b.Prefix) - len(a.Prefix) })
	// A column a rule leaves unset takes its parent rule's value, so a rule
	// written to make one column stricter (org/prod person = confirm) never
	// loosens another that a parent set (org agent = deny). Parents come
	// later in the slice; resolve from the least specific up.
	for i := len(p.rules) - 1; i >= 0; i-- {
		r := &p.rules[i]
		for j := i + 1; j < len(p.rules); j++ {
			parent := p.rules[j]
			if parent.Prefix != "" && !secret.Under(parent.Prefix, r.Prefix) {
				continue
			}
			if r.Agent == Inherit {
				r.Agent = parent.Agent
			}
			if r.Unknown == Inherit {
				r.Unknown = parent.Unknown
			}
			if r.Person == Inherit {
				r.Person = parent.Person
			}
			break
		}
	}
	return p, nil
}

// Default is the policy without config: agents and unknown callers get
// handoffs, people get values.
func Default() *Policy { return &Policy{} }

// NeedsApproval reports whether any rule can ask a person.
func (p *Policy) NeedsApproval() bool {
	return slices.ContainsFunc(p.rules, func(r Rule) bool {
		return r.Agent == Confirm || r.Unknown == Confirm || r.Person == Confirm
	})
}

// Decision is the policy's answer for one request.
type Decision struct {
	// Action is Deny, Confirm, or the delivery: Allow (plaintext) or
	// Handoff.
	Action Action
	// Plaintext says how an allowed (or approved) request is delivered.
	Plaintext bool
	// Prefix is the deciding rule's prefix; Builtin when no rule held.
	Prefix  string
	Builtin bool
	// Column is the rule column that decided ("agent", "unknown",
	// "person") and As, for an unknown caller without its own column, the
	// column it followed.
	Column, As string
	// Name is the secret whose rule decided (the strictest one of a
	// prefix request).
	Name string
}

// Rule describes the deciding rule, e.g. `"org/prod" (agent = deny)` or
// `"org" (unknown = handoff, as agent)`.
func (d Decision) Rule() string {
	where := strconv.Quote(d.Prefix)
	if d.Builtin {
		where = "built-in default"
	}
	as := ""
	if d.As != "" {
		as = ", as " + d.As
	}
	return fmt.Sprintf("%s (%s = %s%s)", where, d.Column, d.Action, as)
}

// Outcome is what the caller would get: "plaintext", "handoff",
// "confirm" or "deny".
func (d Decision) Outcome() string {
	switch d.Action {
	case Deny, Confirm:
		return d.Action.String()
	}
	if d.Plaintext {
		return "plaintext"
	}
	return "handoff"
}

// Err is the refusal of a Deny decision, nil otherwise. It wraps ErrDenied
// and names the rule.
func (d Decision) Err() error {
	if d.Action != Deny {
		return nil
	}
	return &DeniedError{Decision: d}
}

// DeniedError is a request a rule refused.
type DeniedError struct{ Decision Decision }

func (e *DeniedError) Error() string { return "denied by policy rule " + e.Decision.Rule() }
func (e *DeniedError) Unwrap() error { return ErrDenied }

// strictness orders decisions for a prefix request: refusing beats asking
// beats handing off beats showing.
func strictness(d Decision) int {
	switch d.Action {
	case Deny:
		return 4
	case Confirm:
		return 3
	}
	if !d.Plaintext {
		return 2
	}
	return 1
}

// Decide says what a caller of kind gets for names: one secret, or every
// secret a prefix request would return. For several names the strictest
// decision wins, so a prefix load is all or nothing: one denied secret
// below it refuses the whole load (ask for a narrower prefix), one that
// needs confirmation makes the load ask once, and one handed off makes
// the load a handoff. With no names (an empty prefix), the rule for
// "every secret" decides.
func (p *Policy) Decide(kind detect.Kind, names ...string) Decision {
	if len(names) == 0 {
		names = []string{""}
	}
	var out Decision
	for i, n := range names {
		d := p.decideOne(kind, n)
		if i == 0 || strictness(d) > strictness(out) {
			out = d
		}
	}
	return out
}

func (p *Policy) decideOne(kind detect.Kind, name string) Decision {
	r, builtin := p.rule(name)
	d := Decision{Prefix: r.Prefix, Builtin: builtin, Name: name}
	person := func() Decision {
		d.Plaintext = true
		d.Action = r.Person
		if d.Action == Inherit {
			d.Action = Allow
		}
		return d
	}
	agent := func() Decision {
		d.Action = r.Agent
		if d.Action == Inherit {
			d.Action = Handoff
		}
		return d
	}
	switch kind {
	case detect.Person:
		d.Column = "person"
		return person()
	case detect.Unknown:
		d.Column = "unknown"
		if r.Unknown != Inherit {
			d.Action = r.Unknown
			return d
		}
		d.As = p.unknown.String()
		if p.unknown == UnknownAsPerson {
			return person()
		}
		return agent()
	default:
		d.Column = "agent"
		return agent()
	}
}

// rule returns the most specific rule holding name, or the built-in one.
func (p *Policy) rule(name string) (Rule, bool) {
	for _, r := range p.rules {
		if r.Prefix == "" || (name != "" && secret.Under(r.Prefix, name)) {
			return r, false
		}
	}
	return Rule{}, true
}
