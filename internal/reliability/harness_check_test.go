package reliability_test

import (
	"bytes"
	"testing"
)

// The suite's verdicts rest on checkValue: it must pass what valueFor made
// and nothing else.
func TestCheckValueTellsWholeValuesFromTornOnes(t *testing.T) {
	const name = "org/api/KEY"
	whole := valueFor(name, 7)
	if v, err := checkValue(name, whole); err != nil || v != 7 {
		t.Fatalf("checkValue(valueFor(%q, 7)) = %d, %v; want 7, nil", name, v, err)
	}
	other := valueFor("org/api/OTHER", 7)
	flipped := bytes.Clone(whole)
	flipped[len(valuePrefix)+3] ^= 1
	for _, tc := range []struct {
		name  string
		value []byte
	}{
		{"the first half of a value", whole[:len(whole)/2]},
		{"a value with its end missing", whole[:len(whole)-1]},
		{"two values spliced together", append(bytes.Clone(whole[:len(whole)/2]), other[len(other)/2:]...)},
		{"a value with one bit flipped", flipped},
		{"another secret's whole value", other},
		{"an empty value", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := checkValue(name, tc.value); err == nil {
				t.Error("checkValue accepted it")
			}
		})
	}
}
