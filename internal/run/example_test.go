package run_test

import (
	"context"
	"fmt"
	"os"

	"github.com/hush-dev/hush/internal/run"
	"github.com/hush-dev/hush/internal/secret"
)

func ExampleRun() {
	vars, err := run.Exported([]secret.Secret{
		{Name: "org/proj/STRIPE_KEY", Value: []byte("sk_test_4eC39HqLyjWDarjtT1zdp7dc")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	code, err := run.Run(context.Background(), run.Options{
		Argv:    []string{"printenv", "STRIPE_KEY"},
		Vars:    vars,
		Environ: []string{"PATH=/usr/bin:/bin"},
		Mask:    true,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
	})
	fmt.Println(code, err)
	// Output:
	// <hush:org/proj/STRIPE_KEY>
	// 0 <nil>
}
