package filevault

// SetStepHook makes every write of the vault call hook before each of its
// steps (see writeAtomic): an error hook returns is that step failing, and
// a hook may also end the process there, as a crash would.
func SetStepHook(hook func(step string) error) (restore func()) {
	old := stepHook
	stepHook = hook
	return func() { stepHook = old }
}
