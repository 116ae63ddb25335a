package mask_test

import (
	"fmt"
	"os"

	"github.com/hush-dev/hush/internal/mask"
	"github.com/hush-dev/hush/internal/secret"
)

func ExampleMasker_Writer() {
	m := mask.New([]secret.Secret{
		{Name: "org/proj/STRIPE_KEY", Value: []byte("sk_test_4eC39HqLyjWDarjtT1zdp7dc")},
	})
	w := m.Writer(os.Stdout)
	// The value arrives split across two writes, then base64-encoded.
	fmt.Fprint(w, "key=sk_test_4eC39Hq")
	fmt.Fprint(w, "LyjWDarjtT1zdp7dc\n")
	fmt.Fprint(w, "b64=c2tfdGVzdF80ZUMzOUhxTHlqV0Rhcmp0VDF6ZHA3ZGM=\n")
	w.Close()
	// Output:
	// key=<hush:org/proj/STRIPE_KEY>
	// b64=<hush:org/proj/STRIPE_KEY>
}
