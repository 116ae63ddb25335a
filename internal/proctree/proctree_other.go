//go:build !linux

package proctree

func read(int) (Process, error) { return Process{}, ErrNotImplemented }

func environ(int) ([]string, error) { return nil, ErrNotImplemented }

func alive(Process) error { return ErrNotImplemented }

func chain(int, int) ([]Process, error) { return nil, ErrNotImplemented }

func session(int, int, []Process) ([]Process, error) { return nil, ErrNotImplemented }

func ttyName(int) string { return "" }
