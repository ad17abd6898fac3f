// Package tinyforge is a typed client for the Tinyforge API (DESIGN.md,
// "Tinyforge API"): workloads, their GitOps status, and GitOps sync.
//
// Every call takes a context. Idempotent calls (the GETs and the PUT) are
// retried on transport errors, timeouts and 429/502/503/504 answers with
// jittered exponential backoff, bounded by WithRetry and honouring
// Retry-After. The sync POST is retried only when the connection could not
// be established at all (a dial error: nothing was sent, so nothing can
// have been applied); never after a timeout or an answer.
//
// The token is never part of an error string, a log record, an observer
// callback or the fmt output of a Client, also when the server echoes it.
package tinyforge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults used by New.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultMaxAttempts      = 4
	DefaultMaxElapsed       = 30 * time.Second
	DefaultBackoffInitial   = 200 * time.Millisecond
	DefaultBackoffMax       = 5 * time.Second
	DefaultMaxRetryAfter    = 30 * time.Second
	DefaultMaxResponseBytes = 4 << 20
	DefaultUserAgent        = "tinyforge-bot"

	maxErrorBodyBytes = 64 << 10
	maxMessageLen     = 1024
)

// Route templates, as passed to the observer and stored in errors.
const (
	RouteWorkloads  = "/api/workloads"
	RouteWorkload   = "/api/workloads/{id}"
	RouteGitOps     = "/api/workloads/{id}/gitops"
	RouteGitOpsSync = "/api/workloads/{id}/gitops/sync"
)

// Observer is called once per HTTP attempt (so a retried call reports every
// attempt) with the route template, the status (0 when no answer arrived),
// the attempt's error (redacted; nil on success) and its duration.
type Observer func(method, route string, status int, err error, d time.Duration)

// Client talks to one Tinyforge instance. It is safe for concurrent use.
// Its fmt output never contains the token.
type Client struct {
	baseURL        string
	cred           *credential // pointer: fmt prints nested pointers as addresses
	hc             *http.Client
	userAgent      string
	timeout        time.Duration
	maxAttempts    int
	maxElapsed     time.Duration
	backoffInitial time.Duration
	backoffMax     time.Duration
	maxRetryAfter  time.Duration
	maxBody        int64
	observer       Observer
	logger         *slog.Logger

	sleep  func(ctx context.Context, d time.Duration) error
	now    func() time.Time
	jitter func(d time.Duration) time.Duration
}

type credential struct {
	token string
	red   redactor
}

// Option configures a Client.
type Option func(*Client)

// WithTimeout bounds each HTTP attempt (0 = no per-attempt bound; the
// context still applies). Default DefaultTimeout.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithHTTPClient sets the underlying HTTP client (its Timeout, if any, also
// applies per attempt).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithRetry bounds retries: at most maxAttempts attempts per call (1 = no
// retry) and no new attempt once maxElapsed would be exceeded (0 = no time
// bound beyond the context).
func WithRetry(maxAttempts int, maxElapsed time.Duration) Option {
	return func(c *Client) { c.maxAttempts, c.maxElapsed = maxAttempts, maxElapsed }
}

// WithBackoff sets the first retry delay and the cap of the exponential
// backoff (each delay is jittered to [d/2, d]).
func WithBackoff(initial, max time.Duration) Option {
	return func(c *Client) { c.backoffInitial, c.backoffMax = initial, max }
}

// WithMaxRetryAfter caps how long a Retry-After header can make the client
// wait. Default DefaultMaxRetryAfter.
func WithMaxRetryAfter(d time.Duration) Option { return func(c *Client) { c.maxRetryAfter = d } }

// WithMaxResponseBytes caps successful response bodies (larger is an
// ErrMalformedResponse). Default 4 MiB.
func WithMaxResponseBytes(n int64) Option { return func(c *Client) { c.maxBody = n } }

// WithObserver registers a per-attempt callback (for metrics).
func WithObserver(o Observer) Option { return func(c *Client) { c.observer = o } }

// WithLogger logs retries (Warn) and failed calls (Debug). Records carry the
// method, concrete path, attempt and the redacted error; never the token.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.logger = l } }

// New returns a Client for baseURL (http or https, optionally with a path
// prefix; no credentials, query or fragment) authenticating with token.
// Errors never contain the token.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("tinyforge: invalid base URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("tinyforge: base URL must be http or https")
	}
	if u.Host == "" {
		return nil, fmt.Errorf("tinyforge: base URL has no host")
	}
	if u.User != nil {
		return nil, fmt.Errorf("tinyforge: base URL must not carry credentials")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf("tinyforge: base URL must not have a query or fragment")
	}
	if token == "" {
		return nil, fmt.Errorf("tinyforge: empty token")
	}
	for i := 0; i < len(token); i++ {
		if token[i] < 0x21 || token[i] > 0x7e {
			return nil, fmt.Errorf("tinyforge: token must be printable ASCII without spaces")
		}
	}
	c := &Client{
		baseURL:        strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"),
		cred:           &credential{token: token, red: newRedactor(token)},
		hc:             http.DefaultClient,
		userAgent:      DefaultUserAgent,
		timeout:        DefaultTimeout,
		maxAttempts:    DefaultMaxAttempts,
		maxElapsed:     DefaultMaxElapsed,
		backoffInitial: DefaultBackoffInitial,
		backoffMax:     DefaultBackoffMax,
		maxRetryAfter:  DefaultMaxRetryAfter,
		maxBody:        DefaultMaxResponseBytes,
		sleep:          sleepCtx,
		now:            time.Now,
		jitter:         halfJitter,
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	if c.hc == nil {
		c.hc = http.DefaultClient
	}
	if c.maxAttempts < 1 {
		c.maxAttempts = 1
	}
	if c.backoffInitial <= 0 {
		c.backoffInitial = DefaultBackoffInitial
	}
	if c.backoffMax < c.backoffInitial {
		c.backoffMax = c.backoffInitial
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxResponseBytes
	}
	return c, nil
}

// BaseURL returns the normalised base URL.
func (c *Client) BaseURL() string { return c.baseURL }

// String describes the client without its token.
func (c *Client) String() string {
	if c == nil {
		return "tinyforge.Client(nil)"
	}
	return "tinyforge.Client{BaseURL: " + c.baseURL + ", Token: " + redacted + "}"
}

// GoString is String: %#v never shows the token either.
func (c *Client) GoString() string { return c.String() }

// Format makes every fmt verb print String (or GoString for %#v).
func (c *Client) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, c.GoString())
		return
	}
	io.WriteString(f, c.String())
}

// Redact removes the client's token from s (for callers that log text
// derived from Tinyforge answers).
func (c *Client) Redact(s string) string { return c.cred.red.redact(s) }

// ListWorkloads returns every workload (GET /api/workloads).
func (c *Client) ListWorkloads(ctx context.Context) ([]Workload, error) {
	var out struct {
		Workloads *[]Workload `json:"workloads"`
	}
	rq := request{method: http.MethodGet, route: RouteWorkloads, path: RouteWorkloads, idempotent: true}
	if err := c.do(ctx, rq, &out); err != nil {
		return nil, err
	}
	if out.Workloads == nil {
		return nil, c.malformed(rq, "missing \"workloads\"", nil)
	}
	return *out.Workloads, nil
}

// GetWorkload returns one workload (GET /api/workloads/{id}).
func (c *Client) GetWorkload(ctx context.Context, id ID) (*Workload, error) {
	rq, err := workloadRequest(http.MethodGet, RouteWorkload, id, "")
	if err != nil {
		return nil, err
	}
	var w Workload
	if err := c.do(ctx, rq, &w); err != nil {
		return nil, err
	}
	return &w, nil
}

// GetGitOps returns the workload's GitOps status, file and drift
// (GET /api/workloads/{id}/gitops). A missing or invalid file is a status,
// not an error.
func (c *Client) GetGitOps(ctx context.Context, id ID) (*GitOpsStatus, error) {
	rq, err := workloadRequest(http.MethodGet, RouteGitOps, id, "/gitops")
	if err != nil {
		return nil, err
	}
	var st GitOpsStatus
	if err := c.do(ctx, rq, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// SetGitOps enables or disables GitOps and sets the file path
// (PUT /api/workloads/{id}/gitops). ErrBadRequest for a bad path,
// ErrValidation for an ineligible workload, ErrForbidden for a non-admin token.
func (c *Client) SetGitOps(ctx context.Context, id ID, enabled bool, path string) (*GitOpsStatus, error) {
	rq, err := workloadRequest(http.MethodPut, RouteGitOps, id, "/gitops")
	if err != nil {
		return nil, err
	}
	rq.body = struct {
		Enabled bool   `json:"enabled"`
		Path    string `json:"path"`
	}{enabled, path}
	var st GitOpsStatus
	if err := c.do(ctx, rq, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Sync applies the workload's file (POST /api/workloads/{id}/gitops/sync).
// With a non-empty expectedSHA Tinyforge refuses (ErrConflict) when the file
// it fetches is at another commit. ErrValidation: invalid file, invalid merged
// config, GitOps disabled or not eligible. ErrUpstream: fetch failed.
// Never retried once a connection was made.
func (c *Client) Sync(ctx context.Context, id ID, expectedSHA string) (*SyncResult, error) {
	rq, err := workloadRequest(http.MethodPost, RouteGitOpsSync, id, "/gitops/sync")
	if err != nil {
		return nil, err
	}
	rq.body = struct {
		ExpectedSHA string `json:"expected_sha,omitempty"`
	}{expectedSHA}
	var res SyncResult
	if err := c.do(ctx, rq, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

type request struct {
	method, route, path string
	idempotent          bool
	body                any
}

func workloadRequest(method, route string, id ID, suffix string) (request, error) {
	if strings.TrimSpace(string(id)) == "" {
		return request{}, fmt.Errorf("%s %s: %w: empty workload id", method, route, ErrBadRequest)
	}
	return request{method: method, route: route, path: "/api/workloads/" + url.PathEscape(string(id)) + suffix,
		idempotent: method == http.MethodGet || method == http.MethodPut}, nil
}

type outcome struct {
	err        error
	status     int
	retryable  bool          // worth retrying for an idempotent call
	notSent    bool          // the request never left (dial failed): safe for any call
	retryAfter time.Duration // < 0: none given
}

func (c *Client) do(ctx context.Context, rq request, out any) error {
	var payload []byte
	if rq.body != nil {
		var err error
		if payload, err = json.Marshal(rq.body); err != nil {
			return fmt.Errorf("%s %s: encoding request: %w", rq.method, rq.path, err)
		}
	}
	start := c.now()
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return c.cancelled(rq, ctx, attempt-1, nil)
		}
		o := c.attempt(ctx, rq, payload, out)
		if o.err == nil {
			return nil
		}
		setAttempts(o.err, attempt)
		if !o.retryable || (!rq.idempotent && !o.notSent) || attempt >= c.maxAttempts || ctx.Err() != nil {
			c.log(ctx, slog.LevelDebug, "tinyforge request failed", rq, attempt, 0, o.err)
			return o.err
		}
		wait := c.backoff(attempt)
		if o.retryAfter >= 0 {
			wait = min(o.retryAfter, c.maxRetryAfter)
		}
		if c.maxElapsed > 0 && c.now().Sub(start)+wait > c.maxElapsed {
			c.log(ctx, slog.LevelDebug, "tinyforge retry budget exhausted", rq, attempt, wait, o.err)
			return o.err
		}
		c.log(ctx, slog.LevelWarn, "tinyforge request failed, retrying", rq, attempt, wait, o.err)
		if err := c.sleep(ctx, wait); err != nil {
			return c.cancelled(rq, ctx, attempt, o.err)
		}
	}
}

func (c *Client) attempt(ctx context.Context, rq request, payload []byte, out any) (o outcome) {
	o.retryAfter = -1
	actx, cancel := ctx, context.CancelFunc(func() {})
	if c.timeout > 0 {
		actx, cancel = context.WithTimeout(ctx, c.timeout)
	}
	defer cancel()
	t0 := time.Now()
	defer func() {
		if c.observer != nil {
			c.observer(rq.method, rq.route, o.status, o.err, time.Since(t0))
		}
	}()

	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, rq.method, c.baseURL+rq.path, body)
	if err != nil {
		o.err = &RequestError{Method: rq.method, Route: rq.route, Path: rq.path, msg: "building request failed"}
		return o
	}
	req.Header.Set("Authorization", "Bearer "+c.cred.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		o.err = c.transportError(ctx, actx, rq, err)
		o.retryable = ctx.Err() == nil
		o.notSent = isDialError(err)
		return o
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBodyBytes))
		resp.Body.Close()
	}()
	o.status = resp.StatusCode

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
		o.err = c.apiError(rq, resp.StatusCode, data)
		switch resp.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			o.retryable = true
			o.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
		}
		return o
	}

	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		o.err = c.transportError(ctx, actx, rq, err)
		o.retryable = ctx.Err() == nil
		return o
	}
	if int64(len(data)) > c.maxBody {
		o.err = c.malformed(rq, fmt.Sprintf("response body exceeds %d bytes", c.maxBody), nil)
		return o
	}
	if err := decodeObject(data, out); err != nil {
		o.err = c.malformed(rq, "decoding response: "+err.Error(), err)
		return o
	}
	return o
}

// decodeObject decodes exactly one JSON object into out.
func decodeObject(data []byte, out any) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return errors.New("expected a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(out); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after JSON object")
	}
	return nil
}

func (c *Client) apiError(rq request, status int, data []byte) *APIError {
	e := &APIError{Method: rq.method, Route: rq.route, Path: rq.path, Status: status}
	var eb ErrorBody
	if json.Unmarshal(data, &eb) == nil && (eb.Error != "" || eb.Code != "") {
		e.Message = c.cred.red.sanitize(eb.Error, maxMessageLen)
		e.Code = c.cred.red.sanitize(eb.Code, 64)
	} else if len(data) > 0 {
		e.Message = c.cred.red.sanitize(string(data), 256)
	}
	return e
}

func (c *Client) malformed(rq request, msg string, cause error) error {
	return &RequestError{Method: rq.method, Route: rq.route, Path: rq.path, Kind: ErrMalformedResponse,
		msg: c.cred.red.sanitize("malformed response: "+msg, maxMessageLen), cause: cause}
}

func (c *Client) transportError(ctx, actx context.Context, rq request, err error) error {
	e := &RequestError{Method: rq.method, Route: rq.route, Path: rq.path, cause: err}
	switch {
	case ctx.Err() != nil:
		return c.cancelled(rq, ctx, 0, nil)
	case errors.Is(err, context.DeadlineExceeded) || actx.Err() != nil || isTimeout(err):
		e.Kind = ErrTimeout
		e.msg = fmt.Sprintf("timed out after %s", c.timeout)
	default:
		e.Kind = ErrUnavailable
		inner := err
		var ue *url.Error
		if errors.As(err, &ue) {
			inner = ue.Err
		}
		e.msg = c.cred.red.sanitize(inner.Error(), maxMessageLen)
	}
	return e
}

// cancelled reports a caller-side cancellation or deadline; it wraps
// ctx.Err() (and ErrTimeout for a deadline) and mentions the last failure.
func (c *Client) cancelled(rq request, ctx context.Context, attempts int, last error) error {
	cause := ctx.Err()
	e := &RequestError{Method: rq.method, Route: rq.route, Path: rq.path, cause: cause, msg: cause.Error()}
	if errors.Is(cause, context.DeadlineExceeded) {
		e.Kind = ErrTimeout
	}
	if last != nil {
		e.msg += fmt.Sprintf(" (while waiting to retry after %d attempt(s); last error: %s)", attempts, last.Error())
	}
	return e
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.backoffInitial
	for i := 1; i < attempt && d < c.backoffMax; i++ {
		d *= 2
	}
	d = min(d, c.backoffMax)
	return c.jitter(d)
}

func (c *Client) log(ctx context.Context, level slog.Level, msg string, rq request, attempt int, wait time.Duration, err error) {
	if c.logger == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", rq.method),
		slog.String("path", rq.path),
		slog.Int("attempt", attempt),
		slog.String("error", err.Error()),
	}
	if wait > 0 {
		attrs = append(attrs, slog.Duration("retry_in", wait))
	}
	c.logger.LogAttrs(ctx, level, msg, attrs...)
}

func setAttempts(err error, n int) {
	var ae *APIError
	if errors.As(err, &ae) {
		ae.attempts = n
	}
	var re *RequestError
	if errors.As(err, &re) {
		re.attempts = n
	}
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return -1
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d
	}
	return -1
}

func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// halfJitter returns a random duration in [d/2, d].
func halfJitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
