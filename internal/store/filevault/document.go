package filevault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"

	"github.com/hush-dev/hush/internal/secret"
)

// formatVersion is the version of the plaintext document. A vault written by
// a newer hush is refused rather than half-read and then overwritten.
const formatVersion = 1

// document is the plaintext inside the age file. Values are []byte so JSON
// carries them as base64 and every byte survives.
type document struct {
	Version int               `json:"version"`
	Secrets map[string][]byte `json:"secrets"`
}

func encodeDocument(secrets map[string][]byte) ([]byte, error) {
	return json.Marshal(document{Version: formatVersion, Secrets: secrets})
}

// decodeDocument parses the plaintext and holds it to the same rules Put
// enforces, so nothing hush could not have written gets delivered.
func decodeDocument(plain []byte) (map[string][]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(plain))
	var doc document
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("vault contents are not a hush document: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("vault contents have data after the document")
	}
	if doc.Version != formatVersion {
		return nil, fmt.Errorf("vault format version %d is not supported (this hush reads version %d)", doc.Version, formatVersion)
	}
	if doc.Secrets == nil {
		doc.Secrets = map[string][]byte{}
	}
	for name, value := range doc.Secrets {
		// Stored, not new: a name from before the rules for new names
		// must not make the whole vault unreadable.
		if err := secret.ValidateStored(name); err != nil {
			return nil, err
		}
		if value == nil {
			// JSON null is not a value; an empty secret is "".
			return nil, fmt.Errorf("secret %q has no value", name)
		}
		if err := secret.ValidateValue(name, value); err != nil {
			return nil, err
		}
	}
	return doc.Secrets, nil
}

// decodeFile decrypts an age file with id and decodes the document inside.
// It is the whole read path for a vault, and the fuzz target for it.
func decodeFile(r io.Reader, id age.Identity) (map[string][]byte, error) {
	pr, err := age.Decrypt(r, id)
	if err != nil {
		return nil, err
	}
	plain, err := io.ReadAll(pr)
	if err != nil {
		clear(plain)
		return nil, err
	}
	defer clear(plain)
	return decodeDocument(plain)
}
