package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/hush-dev/hush/internal/approve"
	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/policy"
)

// DetectConfig is [detect]: the user's own agents, tried before the
// built-in ones.
//
//	[[detect.agent]]
//	name = "mybot"
//	names = ["mybot"]                 # distinctive: comm, exe, any argv basename, install dirs
//	programs = ["mb"]                 # ordinary words: only what a process runs as
//	argv_patterns = ["@acme/mybot"]   # install path fragments in the exe or argv
//	env_markers = ["MYBOT_SESSION", "AGENT=mybot"]
type DetectConfig struct {
	Agents []AgentSignature `toml:"agent"`
}

// AgentSignature is one [[detect.agent]].
type AgentSignature struct {
	Name         string   `toml:"name"`
	Names        []string `toml:"names"`
	Programs     []string `toml:"programs"`
	ArgvPatterns []string `toml:"argv_patterns"`
	EnvMarkers   []string `toml:"env_markers"`
}

// Signatures returns the user's signatures for detect.WithSignatures.
func (d DetectConfig) Signatures() []detect.Signature {
	out := make([]detect.Signature, 0, len(d.Agents))
	for _, a := range d.Agents {
		out = append(out, detect.Signature{
			Name:         a.Name,
			Names:        a.Names,
			ProgramNames: a.Programs,
			ArgvPatterns: a.ArgvPatterns,
			EnvMarkers:   a.EnvMarkers,
		})
	}
	return out
}

var envMarkerRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(=.*)?$`)

func (d DetectConfig) validate() error {
	for i, a := range d.Agents {
		where := fmt.Sprintf("detect.agent[%d]", i+1)
		if strings.TrimSpace(a.Name) == "" {
			return fmt.Errorf("%s: name is required", where)
		}
		where = fmt.Sprintf("detect.agent %q", a.Name)
		if len(a.Names)+len(a.Programs)+len(a.ArgvPatterns)+len(a.EnvMarkers) == 0 {
			return fmt.Errorf("%s: give at least one of names, programs, argv_patterns, env_markers", where)
		}
		for key, list := range map[string][]string{"names": a.Names, "programs": a.Programs, "argv_patterns": a.ArgvPatterns} {
			for _, s := range list {
				if strings.TrimSpace(s) == "" || strings.Trim(s, "/") == "" {
					return fmt.Errorf("%s: %s holds an empty entry", where, key)
				}
			}
		}
		for _, m := range a.EnvMarkers {
			if !envMarkerRE.MatchString(m) {
				return fmt.Errorf("%s: env marker %q is not NAME or NAME=VALUE", where, m)
			}
		}
	}
	return nil
}

// PolicyConfig is [policy]: what each kind of caller gets, per prefix.
//
//	[policy]
//	unknown = "agent"      # or "person": callers with no terminal and no agent signal (CI boxes)
//
//	[[policy.rule]]
//	prefix = "org/prod"    # this secret and everything below it; "" is every secret
//	agent = "deny"         # handoff (default) | confirm | deny
//	unknown = "deny"       # handoff | confirm | deny; default: as [policy] unknown says
//	person = "confirm"     # allow (default) | confirm
type PolicyConfig struct {
	Unknown string       `toml:"unknown"`
	Rules   []PolicyRule `toml:"rule"`
}

// PolicyRule is one [[policy.rule]].
type PolicyRule struct {
	Prefix  string `toml:"prefix"`
	Agent   string `toml:"agent"`
	Unknown string `toml:"unknown"`
	Person  string `toml:"person"`
}

// Policy builds the policy the section describes.
func (p PolicyConfig) Policy() (*policy.Policy, error) {
	unknown, err := policy.ParseUnknown(p.Unknown)
	if err != nil {
		return nil, fmt.Errorf("policy.unknown: %w", err)
	}
	rules := make([]policy.Rule, 0, len(p.Rules))
	for _, r := range p.Rules {
		where := fmt.Sprintf("policy.rule %q", r.Prefix)
		var rule policy.Rule
		rule.Prefix = r.Prefix
		if rule.Agent, err = policy.ParseAction(r.Agent, policy.AgentActions); err != nil {
			return nil, fmt.Errorf("%s: agent: %w", where, err)
		}
		if rule.Unknown, err = policy.ParseAction(r.Unknown, policy.AgentActions); err != nil {
			return nil, fmt.Errorf("%s: unknown: %w", where, err)
		}
		if rule.Person, err = policy.ParseAction(r.Person, policy.PersonActions); err != nil {
			return nil, fmt.Errorf("%s: person: %w", where, err)
		}
		rules = append(rules, rule)
	}
	return policy.New(unknown, rules...)
}

// ApprovalConfig is [approval]: who is asked when a rule says confirm, and
// how long an approval lasts.
//
//	[approval]
//	method = "pinentry"     # pinentry (default) | command | none
//	pinentry = "pinentry"   # the program: pinentry-gnome3, pinentry-qt, pinentry-tty, pinentry-mac, …
//	tty = ""                # the terminal a text pinentry asks on, e.g. "/dev/pts/3"
//	command = ["zenity", "--question", "--text", "{description}"]   # exit 0 approves
//	timeout = "60s"         # how long a question waits for its answer
//	idle = "30m"            # a grant lapses after this long unused…
//	max = "4h"              # …and after this long in any case
type ApprovalConfig struct {
	Method   string        `toml:"method"`
	Pinentry string        `toml:"pinentry"`
	TTY      string        `toml:"tty"`
	Command  []string      `toml:"command"`
	Timeout  time.Duration `toml:"timeout"`
	Idle     time.Duration `toml:"idle"`
	Max      time.Duration `toml:"max"`
}

// ApprovalMethods are the values `[approval] method` accepts.
var ApprovalMethods = []string{"pinentry", "command", "none"}

// Bounds on the approval durations.
const (
	MaxApprovalTimeout = 10 * time.Minute
	MaxGrantTTL        = 24 * time.Hour
)

// DefaultApproval is [approval] without a file.
func DefaultApproval() ApprovalConfig {
	return ApprovalConfig{
		Method:   "pinentry",
		Pinentry: "pinentry",
		Timeout:  approve.DefaultTimeout,
		Idle:     approve.DefaultIdle,
		Max:      approve.DefaultMax,
	}
}

// Approver builds the approver the section selects.
func (a ApprovalConfig) Approver() approve.Approver {
	switch a.Method {
	case "pinentry":
		return &approve.Pinentry{Program: a.Pinentry, TTY: a.TTY}
	case "command":
		return &approve.Command{Argv: a.Command}
	}
	return approve.None{}
}

// Gate builds the approval gate: the approver and the grant TTLs.
func (a ApprovalConfig) Gate() *approve.Gate {
	return approve.NewGate(a.Approver(), approve.WithTTL(a.Idle, a.Max), approve.WithTimeout(a.Timeout))
}

func (a ApprovalConfig) validate(md toml.MetaData) error {
	known := false
	for _, m := range ApprovalMethods {
		known = known || a.Method == m
	}
	if !known {
		return fmt.Errorf("approval.method %q is not one of %s", a.Method, strings.Join(ApprovalMethods, ", "))
	}
	switch {
	case a.Method == "pinentry" && strings.TrimSpace(a.Pinentry) == "":
		return fmt.Errorf(`approval.pinentry is empty: name a pinentry program, e.g. "pinentry-gnome3"`)
	case a.Method == "command" && (len(a.Command) == 0 || a.Command[0] == ""):
		return fmt.Errorf(`approval.method is "command" but approval.command is empty: give the program and its arguments, e.g. ["fprintd-verify"]`)
	case a.TTY != "" && !strings.HasPrefix(a.TTY, "/"):
		return fmt.Errorf("approval.tty %q is not a device path such as /dev/pts/3", a.TTY)
	}
	for _, d := range []struct {
		key      string
		v, limit time.Duration
	}{{"timeout", a.Timeout, MaxApprovalTimeout}, {"idle", a.Idle, MaxGrantTTL}, {"max", a.Max, MaxGrantTTL}} {
		// As for handoff_ttl: a bare number would be nanoseconds.
		if md.IsDefined("approval", d.key) && md.Type("approval", d.key) != "String" {
			return fmt.Errorf(`approval.%s must be a duration string such as "30m"`, d.key)
		}
		if d.v < time.Second || d.v > d.limit {
			return fmt.Errorf("approval.%s %s is outside 1s..%s", d.key, d.v, d.limit)
		}
	}
	if a.Idle > a.Max {
		return fmt.Errorf("approval.idle %s is longer than approval.max %s", a.Idle, a.Max)
	}
	return nil
}

// validateAccess checks [detect], [policy] and [approval] together: a
// confirm rule with nobody to ask would refuse every request it covers.
func (c *Config) validateAccess(md toml.MetaData) error {
	if err := c.Detect.validate(); err != nil {
		return err
	}
	p, err := c.Policy.Policy()
	if err != nil {
		return err
	}
	if err := c.Approval.validate(md); err != nil {
		return err
	}
	if p.NeedsApproval() && c.Approval.Method == "none" {
		return fmt.Errorf(`a policy rule says confirm, but approval.method is "none": nobody could approve`)
	}
	return nil
}
