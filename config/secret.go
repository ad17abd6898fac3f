package config

import "fmt"

// Secret is a string that never prints itself: fmt verbs, encoding/json,
// zerolog and YAML encoding all render it as "[redacted]" (or "" when empty).
// Use string(s) where the real value is needed.
type Secret string

const redacted = "[redacted]"

func (s Secret) redact() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String implements fmt.Stringer.
func (s Secret) String() string { return s.redact() }

// GoString implements fmt.GoStringer (for %#v).
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.redact()) }

// Format implements fmt.Formatter so that no verb (%s, %q, %x, %v, ...) leaks the value.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.redact())
	default:
		fmt.Fprint(f, s.redact())
	}
}

// MarshalText implements encoding.TextMarshaler (JSON, YAML, loggers).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.redact()), nil }
