package tinyforgetest

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/tinyforge/tinyforge-bot/tinyforge"
)

// ErrFileNotFound is returned (possibly wrapped) by a FileSource when the
// file does not exist at the branch; the fake then answers no_file.
var ErrFileNotFound = errors.New("file not found")

// FileSource is how the fake reads a workload's .tinyforge.yml: the content
// at the tip of branch and that commit's SHA.
type FileSource interface {
	Fetch(ctx context.Context, repoURL, branch, path string) (content []byte, sha string, err error)
}

// FileSourceFunc adapts a function to FileSource.
type FileSourceFunc func(ctx context.Context, repoURL, branch, path string) ([]byte, string, error)

// Fetch calls f.
func (f FileSourceFunc) Fetch(ctx context.Context, repoURL, branch, path string) ([]byte, string, error) {
	return f(ctx, repoURL, branch, path)
}

// MapFileSource is an in-memory FileSource, safe for concurrent use. Repo
// URLs are matched after tinyforge.NormalizeRepoURL (so https and ssh forms
// of one repo are the same); branch and path match exactly.
type MapFileSource struct {
	mu      sync.Mutex
	files   map[fileKey]fileEntry
	fail    map[string]error
	version int
}

type fileKey struct{ repo, branch, path string }

type fileEntry struct {
	content []byte
	sha     string
}

// NewMapFileSource returns an empty MapFileSource.
func NewMapFileSource() *MapFileSource {
	return &MapFileSource{files: map[fileKey]fileEntry{}, fail: map[string]error{}}
}

func repoKey(repoURL string) string {
	if n, ok := tinyforge.NormalizeRepoURL(repoURL); ok {
		return n
	}
	return repoURL
}

// Put stores content as a new commit and returns its SHA (a fresh, stable
// 40-hex value per Put, as a new commit would have, even for equal content).
func (m *MapFileSource) Put(repoURL, branch, path string, content []byte) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.version++
	h := sha1.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00", repoKey(repoURL), branch, path, m.version)
	h.Write(content)
	sha := hex.EncodeToString(h.Sum(nil))
	m.files[fileKey{repoKey(repoURL), branch, path}] = fileEntry{append([]byte(nil), content...), sha}
	return sha
}

// PutSHA stores content at an explicit commit SHA.
func (m *MapFileSource) PutSHA(repoURL, branch, path string, content []byte, sha string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[fileKey{repoKey(repoURL), branch, path}] = fileEntry{append([]byte(nil), content...), sha}
}

// Delete removes a file (fetches then answer ErrFileNotFound).
func (m *MapFileSource) Delete(repoURL, branch, path string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.files, fileKey{repoKey(repoURL), branch, path})
}

// Fail makes every fetch from repoURL return err (nil clears it).
func (m *MapFileSource) Fail(repoURL string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		delete(m.fail, repoKey(repoURL))
		return
	}
	m.fail[repoKey(repoURL)] = err
}

// Fetch implements FileSource.
func (m *MapFileSource) Fetch(ctx context.Context, repoURL, branch, path string) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail[repoKey(repoURL)]; err != nil {
		return nil, "", err
	}
	e, ok := m.files[fileKey{repoKey(repoURL), branch, path}]
	if !ok {
		return nil, "", fmt.Errorf("%s@%s:%s: %w", repoURL, branch, path, ErrFileNotFound)
	}
	return append([]byte(nil), e.content...), e.sha, nil
}
