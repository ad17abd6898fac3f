package tinyforge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge-bot/tinyforge"
	"github.com/tinyforge/tinyforge-bot/tinyforge/tinyforgetest"
)

func TestMalformedBodies(t *testing.T) {
	f := newFixture(t)
	c := f.admin(t)
	ctx := context.Background()
	deep := strings.Repeat("[", 200000) + strings.Repeat("]", 200000)
	deepObj := `{"workloads":` + strings.Repeat(`{"a":`, 50000) + "1" + strings.Repeat("}", 50000) + "}"
	bodies := []string{
		"", "   ", "not json", "null", "[]", "42", `"str"`, `{"workloads": 5}`, `{}`,
		`{"workloads": [{"id": true}]}`, `{"workloads": [{"id": {}}]}`, `{"workloads": [{"source_config": []}]}`,
		`{"workloads": []} trailing`, `{"workloads": []}{"workloads": []}`, `{"workloads": [`, deep, deepObj,
		"\xff\xfe{", `{"workloads": [{"gitops_last_sync_at": "yesterday"}]}`,
	}
	for _, b := range bodies {
		f.srv.InjectFault("GET", tinyforge.RouteWorkloads, tinyforgetest.Fault{Status: 200, Body: b})
		ws, err := c.ListWorkloads(ctx)
		if !errors.Is(err, tinyforge.ErrMalformedResponse) {
			t.Errorf("body %.40q: ws=%v err=%v, want ErrMalformedResponse", b, ws, err)
		}
	}
	if n := f.srv.RequestCount("GET", tinyforge.RouteWorkloads); n != len(bodies) {
		t.Errorf("requests = %d, want %d (malformed answers are not retried)", n, len(bodies))
	}
	// The fake's own malformed fault, on each GET route.
	for _, call := range []func() error{
		func() error { _, err := c.GetWorkload(ctx, "1"); return err },
		func() error { _, err := c.GetGitOps(ctx, "1"); return err },
		func() error { _, err := c.Sync(ctx, "1", ""); return err },
	} {
		f.srv.InjectFault("", tinyforge.RouteWorkload, tinyforgetest.Fault{Malformed: true})
		f.srv.InjectFault("", tinyforge.RouteGitOps, tinyforgetest.Fault{Malformed: true})
		f.srv.InjectFault("", tinyforge.RouteGitOpsSync, tinyforgetest.Fault{Malformed: true})
		if err := call(); !errors.Is(err, tinyforge.ErrMalformedResponse) {
			t.Errorf("malformed fault: %v", err)
		}
	}
	// Error bodies that are not JSON still map by status, with a bounded message.
	f.srv.InjectFault("GET", tinyforge.RouteWorkload, tinyforgetest.Fault{Status: 404, Body: "<html>\n<h1>Not Found</h1>\x00\x1b[31m</html>"})
	_, err := c.GetWorkload(ctx, "1")
	if !errors.Is(err, tinyforge.ErrNotFound) || strings.ContainsAny(err.Error(), "\n\x00\x1b") {
		t.Errorf("html 404: %q", err)
	}
}

func TestOversizedBodies(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	huge := `{"workloads": [` + strings.Repeat(`{"id": 1, "name": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},`, 60000) + `{"id": 2}]}`
	if len(huge) <= tinyforge.DefaultMaxResponseBytes {
		t.Fatalf("test body too small: %d", len(huge))
	}
	f.srv.InjectFault("GET", tinyforge.RouteWorkloads, tinyforgetest.Fault{Status: 200, Body: huge})
	_, err := f.admin(t).ListWorkloads(ctx)
	if !errors.Is(err, tinyforge.ErrMalformedResponse) || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("err = %v", err)
	}
	// A smaller configured cap.
	c := f.admin(t, tinyforge.WithMaxResponseBytes(256))
	if _, err := c.ListWorkloads(ctx); !errors.Is(err, tinyforge.ErrMalformedResponse) {
		t.Errorf("default list with 256-byte cap: %v", err)
	}
	// Huge error bodies: the status wins, the message is bounded.
	f.srv.InjectFault("GET", tinyforge.RouteWorkload, tinyforgetest.Fault{Status: 422,
		Body: `{"error": "` + strings.Repeat("e", 8<<20) + `", "code": "invalid"}`})
	_, err = f.admin(t).GetWorkload(ctx, "1")
	if !errors.Is(err, tinyforge.ErrValidation) || len(err.Error()) > 2048 {
		t.Errorf("huge error body: %d bytes, %v", len(err.Error()), errors.Is(err, tinyforge.ErrValidation))
	}
	f.srv.InjectFault("GET", tinyforge.RouteWorkload, tinyforgetest.Fault{Status: 422,
		Body: `{"error": "` + strings.Repeat("é", 600) + `", "code": "invalid"}`})
	_, err = f.admin(t).GetWorkload(ctx, "1")
	var ae *tinyforge.APIError
	if !errors.As(err, &ae) || len(ae.Message) > 1100 || !strings.HasSuffix(ae.Message, "…") || !isValidUTF8(ae.Message) {
		t.Errorf("truncated message: %q", ae.Message)
	}
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestIDJSON(t *testing.T) {
	for in, want := range map[string]tinyforge.ID{`7`: "7", `"7"`: "7", `"wl-abc"`: "wl-abc", `12345678901234567890`: "12345678901234567890", `-1`: "-1", `1.5`: "1.5", `null`: ""} {
		var id tinyforge.ID
		if err := json.Unmarshal([]byte(in), &id); err != nil || id != want {
			t.Errorf("%s -> %q, %v; want %q", in, id, err, want)
		}
	}
	for _, in := range []string{`true`, `{}`, `[]`, `"unterminated`} {
		var id tinyforge.ID
		if err := json.Unmarshal([]byte(in), &id); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
	out, _ := json.Marshal(struct{ ID tinyforge.ID }{"7"})
	if string(out) != `{"ID":"7"}` {
		t.Errorf("marshal = %s", out)
	}
	var w tinyforge.Workload
	if err := json.Unmarshal([]byte(`{"id": 42, "name": "x"}`), &w); err != nil || w.ID != "42" {
		t.Errorf("workload id = %q, %v", w.ID, err)
	}
}

func TestNewValidation(t *testing.T) {
	const token = "sekrit-token-value-1234"
	for _, base := range []string{"", "forge.example.com", "ftp://forge", "http://", "https://user:" + token + "@forge", "https://forge/?q=1", "https://forge/#x", "://bad"} {
		_, err := tinyforge.New(base, token)
		if err == nil {
			t.Errorf("%q: no error", base)
		} else if strings.Contains(err.Error(), token) {
			t.Errorf("%q: error leaks token: %v", base, err)
		}
	}
	for _, tok := range []string{"", "a\nb", "a b", "tök", "a\x00"} {
		if _, err := tinyforge.New("https://forge", tok); err == nil {
			t.Errorf("token %q accepted", tok)
		}
	}
	c, err := tinyforge.New("https://forge.example.com/tf/", token)
	if err != nil || c.BaseURL() != "https://forge.example.com/tf" {
		t.Errorf("%v %v", c, err)
	}
}

type holder struct {
	Client  *tinyforge.Client
	Value   tinyforge.Client
	private *tinyforge.Client
}

// TestRedaction fails if the token shows up anywhere: errors (also when the
// server echoes it), fmt output of the client, log records, observer errors.
func TestRedaction(t *testing.T) {
	f := newFixture(t)
	const token = "tf-SECRET-token-9f8e7d6c5b4a"
	f.srv.AddToken(token, true)

	var logs bytes.Buffer
	var mu sync.Mutex
	var observed []string
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := f.client(t, token, tinyforge.WithLogger(logger), tinyforge.WithObserver(func(method, route string, status int, err error, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		observed = append(observed, fmt.Sprintf("%s %s %d %v %+v %#v", method, route, status, err, err, err))
	}))

	var texts []string
	check := func(label string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: expected an error", label)
		}
		texts = append(texts, label+": "+err.Error(), fmt.Sprintf("%v|%+v|%#v|%s|%q", err, err, err, err, err))
		for e := err; e != nil; e = errors.Unwrap(e) {
			texts = append(texts, e.Error())
		}
		var ae *tinyforge.APIError
		if errors.As(err, &ae) {
			texts = append(texts, ae.Message, ae.Code, fmt.Sprintf("%#v", *ae))
		}
		var re *tinyforge.RequestError
		if errors.As(err, &re) {
			texts = append(texts, fmt.Sprintf("%#v", *re))
		}
	}
	ctx := context.Background()
	echoes := []tinyforgetest.Fault{
		{Status: 401, Body: `{"error": "token ` + token + ` is not valid", "code": "unauthorized"}`},
		{Status: 400, Body: `{"error": "Bearer ` + token + `", "code": "` + token + `"}`},
		{Status: 502, Body: "upstream said: Authorization: Bearer " + token},
		{Status: 500, Body: `{"error": "tok\u0000en split: ` + token[:10] + "\x00" + token[10:] + `"}`},
		{Status: 422, Body: `{"error": "url-encoded ` + strings.ReplaceAll(token, "-", "%2D") + ` and upper ` + strings.ToUpper(token) + `"}`},
		{Status: 200, Body: `{"workloads": "` + token + `"}`},
		{Status: 200, Body: token},
	}
	for i, fault := range echoes {
		f.srv.InjectFault("", tinyforge.RouteWorkloads, fault)
		_, err := c.ListWorkloads(ctx)
		check(fmt.Sprintf("echo %d", i), err)
	}
	f.srv.ClearFaults()
	f.srv.InjectFault("", tinyforge.RouteWorkload, tinyforgetest.Fault{Drop: true})
	_, err := c.GetWorkload(ctx, "1")
	check("drop", err)
	_, err = c.Sync(ctx, "404", "")
	check("not found", err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.GetGitOps(cctx, "1")
	check("cancelled", err)

	var h = holder{Client: c, Value: *c, private: c}
	texts = append(texts,
		fmt.Sprintf("%v %+v %#v %s %q %x %d", c, c, c, c, c, c, c),
		fmt.Sprintf("%v %+v %#v", *c, *c, *c),
		fmt.Sprintf("%v %+v %#v", h, h, h),
		fmt.Sprint(c), fmt.Sprintln(c), c.String(), c.GoString(),
		c.Redact("x "+token+" y"),
	)
	mu.Lock()
	texts = append(texts, logs.String())
	texts = append(texts, observed...)
	mu.Unlock()
	if !strings.Contains(logs.String(), "retrying") {
		t.Error("expected retry log records")
	}
	for _, s := range texts {
		for _, form := range []string{token, strings.ToUpper(token), strings.ReplaceAll(token, "-", "%2D"), token[:10] + "\x00" + token[10:]} {
			if strings.Contains(s, form) {
				t.Errorf("token leaked: %q", s)
			}
		}
	}
	if !strings.Contains(strings.Join(texts, "\n"), "[REDACTED]") {
		t.Error("expected [REDACTED] markers")
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestObserverRoutes(t *testing.T) {
	f := newFixture(t)
	type obs struct {
		method, route string
		status        int
		failed        bool
	}
	var mu sync.Mutex
	var got []obs
	c := f.admin(t, tinyforge.WithObserver(func(method, route string, status int, err error, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, obs{method, route, status, err != nil})
	}))
	ctx := context.Background()
	id := f.ids["shop-api"]
	f.srv.InjectFault("GET", tinyforge.RouteWorkloads, tinyforgetest.Fault{Status: 503, Times: 1})
	c.ListWorkloads(ctx)
	c.GetWorkload(ctx, id)
	c.GetGitOps(ctx, id)
	c.SetGitOps(ctx, id, true, ".tinyforge.yml")
	c.Sync(ctx, id, "nope")
	want := []obs{
		{"GET", "/api/workloads", 503, true},
		{"GET", "/api/workloads", 200, false},
		{"GET", "/api/workloads/{id}", 200, false},
		{"GET", "/api/workloads/{id}/gitops", 200, false},
		{"PUT", "/api/workloads/{id}/gitops", 200, false},
		{"POST", "/api/workloads/{id}/gitops/sync", 409, true},
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("observed %v\nwant     %v", got, want)
	}
}
