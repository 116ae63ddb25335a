// Package dotenv reads .env files for `hush import`, on joho/godotenv.
package dotenv

import (
	"io"

	"github.com/hush-dev/hush/internal/secret"
)

// Parse reads a .env file. Secrets come back in file order. A malformed
// line is an error naming its line number.
func Parse(r io.Reader) ([]secret.Secret, error) { panic("TODO") }
