package cli

import (
	"github.com/hush-dev/hush/internal/config"
	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/server"
)

// access is what config.toml's [detect], [policy] and [approval] give the
// daemon: the user's agent signatures for its detector, and its policy
// and approval gate.
type access struct {
	detect detect.Option
	server []server.Option
}

func accessOptions(cfg *config.Config) (access, error) {
	// config.Load has already checked the rules; this cannot fail for a
	// loaded config, but a Config built otherwise gets its error.
	p, err := cfg.Policy.Policy()
	if err != nil {
		return access{}, err
	}
	return access{
		detect: detect.WithSignatures(cfg.Detect.Signatures()...),
		server: []server.Option{server.WithPolicy(p), server.WithApproval(cfg.Approval.Gate())},
	}, nil
}
