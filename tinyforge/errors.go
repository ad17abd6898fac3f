package tinyforge

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode"
)

// Sentinel errors. Every error returned by the Client matches at most a few
// of them with errors.Is:
//
//	400, 413                 ErrBadRequest
//	401                      ErrUnauthorized
//	403                      ErrForbidden
//	404                      ErrNotFound
//	409                      ErrConflict
//	422                      ErrValidation
//	429                      ErrUnavailable
//	502                      ErrUpstream and ErrServer (Tinyforge could not fetch the file)
//	503                      ErrServer and ErrUnavailable
//	504                      ErrServer and ErrTimeout
//	other 5xx                ErrServer
//	attempt/ctx deadline     ErrTimeout (a ctx deadline also matches context.DeadlineExceeded)
//	connection refused/reset ErrUnavailable
//	bad or oversized body    ErrMalformedResponse
var (
	ErrBadRequest        = errors.New("tinyforge: bad request")
	ErrUnauthorized      = errors.New("tinyforge: unauthorized")
	ErrForbidden         = errors.New("tinyforge: forbidden")
	ErrNotFound          = errors.New("tinyforge: not found")
	ErrConflict          = errors.New("tinyforge: conflict")
	ErrValidation        = errors.New("tinyforge: validation failed")
	ErrUpstream          = errors.New("tinyforge: upstream fetch failed")
	ErrServer            = errors.New("tinyforge: server error")
	ErrTimeout           = errors.New("tinyforge: timeout")
	ErrUnavailable       = errors.New("tinyforge: unavailable")
	ErrMalformedResponse = errors.New("tinyforge: malformed response")
)

// APIError is a non-2xx answer from Tinyforge. Message is Tinyforge's own
// message (redacted: the client token never survives in it).
type APIError struct {
	Method  string // GET, PUT, POST
	Route   string // template, e.g. /api/workloads/{id}/gitops
	Path    string // concrete path, e.g. /api/workloads/7/gitops
	Status  int
	Code    string
	Message string

	attempts int
}

// Attempts is how many HTTP attempts the call made (1 when not retried).
func (e *APIError) Attempts() int { return max(e.attempts, 1) }

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.attempts > 1 {
		fmt.Fprintf(&b, " [after %d attempts]", e.attempts)
	}
	return b.String()
}

// Is maps the status to the sentinel errors (see the table above).
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest || e.Status == http.StatusRequestEntityTooLarge
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrValidation:
		return e.Status == http.StatusUnprocessableEntity
	case ErrUpstream:
		return e.Status == http.StatusBadGateway
	case ErrServer:
		return e.Status >= 500
	case ErrTimeout:
		return e.Status == http.StatusGatewayTimeout
	case ErrUnavailable:
		return e.Status == http.StatusServiceUnavailable || e.Status == http.StatusTooManyRequests
	}
	return false
}

// RequestError is a failure that is not an answer from Tinyforge: a transport
// error, a timeout, a cancelled context, or a response that could not be read
// or decoded. Its message is redacted. errors.Is matches Kind (one of the
// sentinels, may be nil) and the underlying cause (e.g. context.Canceled).
type RequestError struct {
	Method   string
	Route    string
	Path     string
	Kind     error // ErrTimeout, ErrUnavailable, ErrMalformedResponse or nil
	msg      string
	cause    error
	attempts int
}

// Attempts is how many HTTP attempts the call made.
func (e *RequestError) Attempts() int { return e.attempts }

func (e *RequestError) Error() string {
	s := e.Method + " " + e.Path + ": " + e.msg
	if e.attempts > 1 {
		s += fmt.Sprintf(" [after %d attempts]", e.attempts)
	}
	return s
}

// Unwrap exposes the kind sentinel and the cause.
func (e *RequestError) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.cause != nil {
		errs = append(errs, redactedCause{e.cause, e.msg})
	}
	return errs
}

// redactedCause keeps the cause reachable for errors.Is/As on its chain while
// making sure its own Error() text is the redacted one.
type redactedCause struct {
	err error
	msg string
}

func (r redactedCause) Error() string { return r.msg }
func (r redactedCause) Unwrap() error { return r.err }

// redactor removes a secret from text: verbatim, in any letter case, and
// with any of its bytes percent-encoded (as a URL or form would carry it).
type redactor struct{ re *regexp.Regexp }

const redacted = "[REDACTED]"

// secret is printable ASCII (New checks it).
func newRedactor(secret string) redactor {
	if secret == "" {
		return redactor{}
	}
	var b strings.Builder
	b.WriteString("(?i)")
	for i := 0; i < len(secret); i++ {
		fmt.Fprintf(&b, "(?:%s|%%%02X)", regexp.QuoteMeta(string(secret[i])), secret[i])
	}
	return redactor{re: regexp.MustCompile(b.String())}
}

func (r redactor) redact(s string) string {
	if r.re == nil {
		return s
	}
	return r.re.ReplaceAllLiteralString(s, redacted)
}

// sanitize redacts, strips control characters (then redacts again, since
// stripping could join the parts of a secret) and bounds a server-supplied
// message so it is safe to put in an error string or a log line.
func (r redactor) sanitize(s string, max int) string {
	s = r.redact(s)
	s = strings.Map(func(c rune) rune {
		if c == '\n' || c == '\r' || c == '\t' {
			return ' '
		}
		if unicode.IsControl(c) || c == unicode.ReplacementChar {
			return -1
		}
		return c
	}, s)
	s = strings.TrimSpace(r.redact(s))
	if len(s) > max {
		cut := max
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
