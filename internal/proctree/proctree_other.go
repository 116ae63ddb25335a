//go:build !linux && !darwin

package proctree

func read(int) (Process, error) { return Process{}, ErrNotImplemented }

func environ(int) ([]string, error) { return nil, ErrNotImplemented }

func alive(Process) error { return ErrNotImplemented }

func ident(int) (int, uint64, error) { return 0, 0, ErrNotImplemented }

func scanSession(int, map[int]uint64) (map[int]node, []int, error) {
	return nil, nil, ErrNotImplemented
}

func ttyName(int) string { return "" }
