package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/tinyforge/tinyforge-bot/internal/githubtest"
)

// benchBodies builds one realistic body per event kind of the load mix.
func benchBodies(b *testing.B, e *FakeEnv) map[string][]byte {
	b.Helper()
	e.AddRepo(testRepo, "web", inSyncFile, liveWeb)
	before := e.GitHub.Head(testRepo, "main")
	readme := "docs"
	after := e.GitHub.Commit(testRepo, "main", map[string]*string{"README.md": &readme}, "docs")
	pr, _ := openPR(e, "bench", portFile)
	issue := e.GitHub.AddIssue(testRepo, "", "bench")
	c := e.GitHub.AddComment(testRepo, issue, "octocat", "/tinyforge help")
	out := map[string][]byte{}
	for event, p := range map[string]any{
		"push":          e.GitHub.PushPayload(testRepo, "main", before, after, githubtest.PushOptions{}),
		"pull_request":  e.GitHub.PullRequestPayload("synchronize", testRepo, pr),
		"issue_comment": e.GitHub.IssueCommentPayload("created", testRepo, issue, c, ""),
	} {
		raw, err := json.Marshal(p)
		if err != nil {
			b.Fatal(err)
		}
		out[event] = raw
	}
	return out
}

// BenchmarkVerifyDecode is the CPU floor of acknowledging one delivery:
// the dispatcher's signature check (github.ValidatePayload: read the body,
// HMAC-SHA256, constant-time compare) plus a typed decode of the payload.
func BenchmarkVerifyDecode(b *testing.B) {
	e := newBenchEnv(b)
	secret := []byte(e.WebhookSecret)
	for event, raw := range benchBodies(b, e) {
		sig := githubtest.Sign(e.WebhookSecret, raw)
		b.Run(event, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, "/api/github/hook", bytes.NewReader(raw))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Hub-Signature-256", sig)
				payload, err := github.ValidatePayload(req, secret)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := github.ParseWebHook(event, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAck is the whole acknowledgement without the network: the bot's
// HTTP handler (logger, body cap, go-githubapp dispatcher, signature check,
// durable inbox write with group commit) answering signed push deliveries
// from many goroutines at once. Workers are not running, so only the ack
// path is measured.
func BenchmarkAck(b *testing.B) {
	e := newBenchEnv(b)
	raw := benchBodies(b, e)["push"]
	sig := githubtest.Sign(e.WebhookSecret, raw)
	srv, err := NewServer(b.Context(), e.Config, zerologDiscard())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	h := srv.Handler()
	var seq atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32) // 32 × GOMAXPROCS concurrent deliveries
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/api/github/hook", bytes.NewReader(raw))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", "push")
			req.Header.Set("X-GitHub-Delivery", fmt.Sprint("bench-", seq.Add(1)))
			req.Header.Set("X-Hub-Signature-256", sig)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code/100 != 2 {
				b.Errorf("status %d: %s", rec.Code, rec.Body.String())
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "acks/s")
}

// newBenchEnv starts the fakes only: each benchmark builds what it measures.
func newBenchEnv(b *testing.B) *FakeEnv {
	b.Helper()
	e, err := NewFakeEnv(FakeEnvOptions{NoServer: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Close)
	return e
}
