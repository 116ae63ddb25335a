//go:build !unix

package config

import (
	"fmt"
	"os"
)

func checkPrivateDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory; remove it", dir)
	}
	return nil
}
