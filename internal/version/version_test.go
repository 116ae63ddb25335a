package version

import "testing"

func TestOverrideWinsAndOtherwiseThereIsAVersion(t *testing.T) {
	if got := String(); got == "" || got == "(devel)" {
		t.Errorf("String() = %q, want a version or dev", got)
	}
	defer func(o string) { Override = o }(Override)
	Override = "v9.9.9"
	if got := String(); got != "v9.9.9" {
		t.Errorf("String() = %q with Override set, want v9.9.9", got)
	}
}
