// Package tinyforgetest is an in-memory Tinyforge API over a real
// httptest server, faithful to the contract in DESIGN.md ("Tinyforge API")
// and to Tinyforge's own GitOps rules: bearer auth with admin and read-only
// tokens, gitops status computed by the gitops core from a pluggable
// FileSource, path validation, and serialised, never-partial syncs recorded
// in an event log. Faults (latency, status codes, dropped connections,
// malformed bodies) can be injected per endpoint.
package tinyforgetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tinyforge/tinyforge-bot/tinyforge"
)

// Default tokens every Server accepts.
const (
	AdminToken = "tf-admin-7c1d93a0f2b84e6a"
	ReadToken  = "tf-read-4be02a8d61c9f357"
)

// MaxRequestBody is the largest request body accepted (larger: 413).
const MaxRequestBody = 1 << 20

// EventTypeGitOpsSync is the Event.Type of a sync.
const EventTypeGitOpsSync = "gitops_sync"

// Event is one entry of Tinyforge's event log.
type Event struct {
	ID         tinyforge.ID
	WorkloadID tinyforge.ID
	Type       string
	SHA        string
	Applied    []tinyforge.FieldChange // empty (not nil) when the sync changed nothing
	Time       time.Time
}

// Request is one request the server received, recorded when it arrived
// (before faults or auth). The bearer token is not recorded.
type Request struct {
	Method     string
	Path       string       // escaped path as sent
	Route      string       // template, e.g. /api/workloads/{id}/gitops; "" when unknown
	WorkloadID tinyforge.ID // "" for /api/workloads
	Body       []byte
	UserAgent  string
	Authorized bool // a known token was presented
	Time       time.Time
}

// Fault alters the answers to matching requests.
type Fault struct {
	Latency   time.Duration // wait before answering (or before applying the rest)
	Status    int           // answer with this status and Body (default: a JSON error)
	Body      string        // raw body for Status (also used with Status 200)
	Header    http.Header   // extra response headers (e.g. Retry-After)
	Drop      bool          // hijack the connection and close it without an answer
	Malformed bool          // answer 200 with a truncated JSON body
	Times     int           // apply to this many requests, then expire; 0 = always
}

// Option configures a Server.
type Option func(*Server)

// WithFileSource sets the FileSource (default: an empty MapFileSource).
func WithFileSource(fs FileSource) Option { return func(s *Server) { s.fs = fs } }

// WithWorkloads adds workloads at start (see AddWorkload).
func WithWorkloads(ws ...tinyforge.Workload) Option {
	return func(s *Server) { s.initial = append(s.initial, ws...) }
}

// WithToken accepts an extra token.
func WithToken(token string, admin bool) Option {
	return func(s *Server) { s.tokens[token] = admin }
}

// WithClock sets the clock used for sync times and events.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	hs      *httptest.Server
	closing chan struct{}
	once    sync.Once
	now     func() time.Time
	initial []tinyforge.Workload

	mu        sync.Mutex
	tokens    map[string]bool
	fs        FileSource
	workloads map[tinyforge.ID]tinyforge.Workload
	nextID    int
	events    []Event
	requests  []Request
	faults    map[faultKey]*Fault
	locks     map[tinyforge.ID]*sync.Mutex
}

type faultKey struct{ method, route string }

// New starts a Server; Close it when done.
func New(opts ...Option) *Server {
	s := &Server{
		closing:   make(chan struct{}),
		now:       time.Now,
		tokens:    map[string]bool{AdminToken: true, ReadToken: false},
		workloads: map[tinyforge.ID]tinyforge.Workload{},
		faults:    map[faultKey]*Fault{},
		locks:     map[tinyforge.ID]*sync.Mutex{},
		nextID:    1,
	}
	for _, o := range opts {
		o(s)
	}
	if s.fs == nil {
		s.fs = NewMapFileSource()
	}
	for _, w := range s.initial {
		s.AddWorkload(w)
	}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the base URL to give the client.
func (s *Server) URL() string { return s.hs.URL }

// Client returns an *http.Client for the server.
func (s *Server) Client() *http.Client { return s.hs.Client() }

// Close stops the server (ending injected latencies early).
func (s *Server) Close() {
	s.once.Do(func() { close(s.closing) })
	s.hs.CloseClientConnections()
	s.hs.Close()
}

// AddToken accepts another token (admin: may PUT and sync).
func (s *Server) AddToken(token string, admin bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = admin
}

// SetFileSource replaces the FileSource.
func (s *Server) SetFileSource(fs FileSource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fs = fs
}

// FileSource returns the current FileSource.
func (s *Server) FileSource() FileSource {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fs
}

// AddWorkload stores a copy of w (normalised through JSON, as Tinyforge
// would store it) and returns its id; an empty id gets the next free number.
func (s *Server) AddWorkload(w tinyforge.Workload) tinyforge.ID {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.ID == "" {
		for {
			id := tinyforge.ID(strconv.Itoa(s.nextID))
			s.nextID++
			if _, used := s.workloads[id]; !used {
				w.ID = id
				break
			}
		}
	}
	s.workloads[w.ID] = jsonCopy(w)
	return w.ID
}

// SetWorkload replaces (or adds) the workload with w.ID.
func (s *Server) SetWorkload(w tinyforge.Workload) { s.AddWorkload(w) }

// Workload returns a deep copy of the stored workload.
func (s *Server) Workload(id tinyforge.ID) (tinyforge.Workload, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.workloads[id]
	if !ok {
		return tinyforge.Workload{}, false
	}
	return w.Clone(), true
}

// Workloads returns deep copies of every workload, ordered by id.
func (s *Server) Workloads() []tinyforge.Workload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sortedLocked()
}

// Events returns a copy of the event log, oldest first.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Event, len(s.events))
	for i, e := range s.events {
		e.Applied = append([]tinyforge.FieldChange{}, e.Applied...)
		out[i] = e
	}
	return out
}

// Requests returns a copy of every request received, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// RequestCount counts requests by method ("" = any) and route template.
func (s *Server) RequestCount(method, route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if (method == "" || r.Method == method) && r.Route == route {
			n++
		}
	}
	return n
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// InjectFault makes requests to method ("" or "*" = any) and route (a
// template such as tinyforge.RouteGitOps) behave as f. It replaces an
// earlier fault for the same key.
func (s *Server) InjectFault(method, route string, f Fault) {
	if method == "*" {
		method = ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[faultKey{method, route}] = &f
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[faultKey]*Fault{}
}

func (s *Server) sortedLocked() []tinyforge.Workload {
	out := make([]tinyforge.Workload, 0, len(s.workloads))
	for _, w := range s.workloads {
		out = append(out, w.Clone())
	}
	sort.Slice(out, func(i, j int) bool { return idLess(out[i].ID, out[j].ID) })
	return out
}

func idLess(a, b tinyforge.ID) bool {
	ai, aerr := strconv.ParseInt(string(a), 10, 64)
	bi, berr := strconv.ParseInt(string(b), 10, 64)
	switch {
	case aerr == nil && berr == nil:
		return ai < bi
	case aerr == nil:
		return true
	case berr == nil:
		return false
	}
	return a < b
}

func (s *Server) lockFor(id tinyforge.ID) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.locks[id]
	if !ok {
		l = &sync.Mutex{}
		s.locks[id] = l
	}
	return l
}

// jsonCopy round-trips a workload through JSON: a deep copy whose values
// have the types a JSON store gives back (numbers are float64).
func jsonCopy(w tinyforge.Workload) tinyforge.Workload {
	data, err := json.Marshal(w)
	if err != nil {
		panic("tinyforgetest: workload is not JSON-encodable: " + err.Error())
	}
	var out tinyforge.Workload
	if err := json.Unmarshal(data, &out); err != nil {
		panic("tinyforgetest: " + err.Error())
	}
	return out
}

// ---- HTTP ----

type route struct {
	template string
	id       tinyforge.ID
	ok       bool
}

func parseRoute(escapedPath string) route {
	p := strings.TrimSuffix(escapedPath, "/")
	if p == "/api/workloads" {
		return route{template: tinyforge.RouteWorkloads, ok: true}
	}
	rest, found := strings.CutPrefix(p, "/api/workloads/")
	if !found {
		return route{}
	}
	parts := strings.Split(rest, "/")
	raw, err := url.PathUnescape(parts[0])
	if err != nil || raw == "" {
		return route{}
	}
	id := tinyforge.ID(raw)
	switch {
	case len(parts) == 1:
		return route{tinyforge.RouteWorkload, id, true}
	case len(parts) == 2 && parts[1] == "gitops":
		return route{tinyforge.RouteGitOps, id, true}
	case len(parts) == 3 && parts[1] == "gitops" && parts[2] == "sync":
		return route{tinyforge.RouteGitOpsSync, id, true}
	}
	return route{}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rt := parseRoute(r.URL.EscapedPath())
	token, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")

	// Read the body first (bounded) so it can be recorded.
	body, bodyErr := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))

	s.mu.Lock()
	admin, known := s.tokens[token]
	known = known && hasBearer && token != ""
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: r.URL.EscapedPath(), Route: rt.template, WorkloadID: rt.id,
		Body: body, UserAgent: r.UserAgent(), Authorized: known, Time: s.now(),
	})
	fault := s.takeFaultLocked(r.Method, rt.template)
	s.mu.Unlock()

	if fault != nil && s.applyFault(w, r, fault) {
		return
	}
	if bodyErr != nil {
		var mbe *http.MaxBytesError
		if errors.As(bodyErr, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, tinyforge.CodeTooLarge, "request body too large")
			return
		}
		writeError(w, http.StatusBadRequest, tinyforge.CodeBadRequest, "could not read request body")
		return
	}
	if !known {
		writeError(w, http.StatusUnauthorized, tinyforge.CodeUnauthorized, "missing or invalid bearer token")
		return
	}
	if !rt.ok {
		writeError(w, http.StatusNotFound, tinyforge.CodeNotFound, "no such endpoint")
		return
	}
	allowed := map[string]string{
		tinyforge.RouteWorkloads:  "GET",
		tinyforge.RouteWorkload:   "GET",
		tinyforge.RouteGitOps:     "GET, PUT",
		tinyforge.RouteGitOpsSync: "POST",
	}[rt.template]
	if !strings.Contains(allowed, r.Method) {
		w.Header().Set("Allow", allowed)
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed")
		return
	}
	if (r.Method == http.MethodPut || r.Method == http.MethodPost) && !admin {
		writeError(w, http.StatusForbidden, tinyforge.CodeForbidden, "admin role required")
		return
	}
	switch rt.template {
	case tinyforge.RouteWorkloads:
		s.mu.Lock()
		list := s.sortedLocked()
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"workloads": list})
	case tinyforge.RouteWorkload:
		wl, ok := s.Workload(rt.id)
		if !ok {
			writeError(w, http.StatusNotFound, tinyforge.CodeNotFound, "workload not found")
			return
		}
		writeJSON(w, http.StatusOK, wl)
	case tinyforge.RouteGitOps:
		if r.Method == http.MethodGet {
			s.handleGetGitOps(w, r, rt.id)
		} else {
			s.handlePutGitOps(w, r, rt.id, body)
		}
	case tinyforge.RouteGitOpsSync:
		s.handleSync(w, r, rt.id, body)
	}
}

func (s *Server) takeFaultLocked(method, route string) *Fault {
	for _, k := range []faultKey{{method, route}, {"", route}} {
		f, ok := s.faults[k]
		if !ok {
			continue
		}
		cp := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				delete(s.faults, k)
			}
		}
		return &cp
	}
	return nil
}

// applyFault reports whether the fault answered the request.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		case <-s.closing:
			return true
		}
	}
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	switch {
	case f.Drop:
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("tinyforgetest: response writer cannot hijack")
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			conn.Close()
		}
		return true
	case f.Malformed:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"id": "1", "name": "trunc`)
		return true
	case f.Status != 0:
		if f.Body == "" {
			writeError(w, f.Status, "injected", http.StatusText(f.Status))
			return true
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		io.WriteString(w, f.Body)
		return true
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(v); err != nil {
		writeError(w, http.StatusInternalServerError, tinyforge.CodeInternal, "encoding response failed")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	data, _ := json.Marshal(tinyforge.ErrorBody{Error: msg, Code: code})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}
