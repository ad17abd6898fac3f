package githubtest

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

//go:embed testdata/openapi-subset.json testdata/webhooks/*.json
var testdata embed.FS

var (
	specOnce sync.Once
	spec     *openapi3.T
	specErr  error
	// raw examples (components.examples.*.value), decoded with encoding/json
	examples map[string]json.RawMessage
)

func loadSpec() (*openapi3.T, error) {
	specOnce.Do(func() {
		raw, err := testdata.ReadFile("testdata/openapi-subset.json")
		if err != nil {
			specErr = err
			return
		}
		loader := openapi3.NewLoader()
		spec, specErr = loader.LoadFromData(raw)
		if specErr != nil {
			return
		}
		var doc struct {
			Components struct {
				Examples map[string]struct {
					Value json.RawMessage `json:"value"`
				} `json:"examples"`
			} `json:"components"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			specErr = err
			return
		}
		examples = map[string]json.RawMessage{}
		for k, v := range doc.Components.Examples {
			examples[k] = v.Value
		}
	})
	return spec, specErr
}

// example returns a fresh copy of GitHub's example response `name`
// (components.examples) as a map.
func example(name string) map[string]any {
	if _, err := loadSpec(); err != nil {
		panic(err)
	}
	raw, ok := examples[name]
	if !ok {
		panic("githubtest: no example " + name)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		// array examples: return the first item
		var arr []map[string]any
		if err2 := json.Unmarshal(raw, &arr); err2 != nil || len(arr) == 0 {
			panic(fmt.Sprintf("githubtest: example %s: %v", name, err))
		}
		return arr[0]
	}
	return m
}

// specPath converts a route template to the OpenAPI path key.
func specPath(template string) (method, path string) {
	m, p, _ := strings.Cut(template, " ")
	return strings.ToLower(m), p
}

func docURL(template string) string {
	sp, err := loadSpec()
	if err != nil {
		return docsRoot
	}
	m, p := specPath(template)
	if item := sp.Paths.Value(p); item != nil {
		if op := item.GetOperation(strings.ToUpper(m)); op != nil && op.ExternalDocs != nil {
			return op.ExternalDocs.URL
		}
	}
	switch template {
	case RouteTeamMembership:
		return "https://docs.github.com/rest/teams/members#get-team-membership-for-a-user"
	case RouteGetRepo:
		return "https://docs.github.com/rest/repos/repos#get-a-repository"
	case RouteGetCheckRun:
		return "https://docs.github.com/rest/checks/runs#get-a-check-run"
	case RouteRepoInstallation:
		return "https://docs.github.com/rest/apps/apps#get-a-repository-installation-for-the-authenticated-app"
	}
	return docsRoot
}

// validateOpenAPI validates the request (path and query parameters, body)
// against the operation of GitHub's OpenAPI description; authentication is
// the fake's own business. Routes without an operation in the subset pass.
func (s *Server) validateOpenAPI(req *request, doc string) (response, bool) {
	sp, err := loadSpec()
	if err != nil {
		return ghError(500, "fake: openapi: "+err.Error(), ""), true
	}
	m, p := specPath(req.route.template)
	item := sp.Paths.Value(p)
	if item == nil {
		return response{}, false
	}
	op := item.GetOperation(strings.ToUpper(m))
	if op == nil {
		return response{}, false
	}
	r := req.r.Clone(context.Background())
	r.Body = nopBody(req.body)
	// ghinstallation sends the JSON literal null when it has no token
	// options; GitHub takes that as no body.
	if b := bytes.TrimSpace(req.body); len(b) == 0 || string(b) == "null" {
		r.Body = nil
		r.ContentLength = 0
	} else if r.Header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if req.route.template == RouteCreateCheckRun {
		// The description's oneOf is discriminated on "status", which GitHub
		// defaults (queued; completed when a conclusion is given): validate
		// the body as GitHub sees it.
		var m map[string]any
		if json.Unmarshal(req.body, &m) == nil && m != nil {
			if _, ok := m["status"]; !ok {
				m["status"] = "queued"
				if _, ok := m["conclusion"]; ok {
					m["status"] = "completed"
				}
				nb, _ := json.Marshal(m)
				r.Body = nopBody(nb)
				r.ContentLength = int64(len(nb))
			}
		}
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: req.params,
		Route:      &routers.Route{Spec: sp, Path: p, PathItem: item, Method: strings.ToUpper(m), Operation: op},
		Options: &openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			MultiError:         false,
		},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return ghInvalidRequest(doc, describeValidation(err)), true
	}
	return response{}, false
}

// describeValidation turns a kin-openapi error into a GitHub-like sentence,
// e.g. `For 'properties/conclusion', "bogus" is not one of [...]`.
func describeValidation(err error) string {
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		var se *openapi3.SchemaError
		if errors.As(re.Err, &se) {
			ptr := se.JSONPointer()
			where := "properties"
			if len(ptr) > 0 {
				where = "properties/" + strings.Join(ptr, "/")
			}
			if re.Parameter != nil {
				where = re.Parameter.In + "/" + re.Parameter.Name
			}
			val, _ := json.Marshal(se.Value)
			if se.SchemaField == "required" {
				name := strings.TrimSuffix(strings.TrimPrefix(se.Reason, "property "), " is missing")
				return fmt.Sprintf("%s wasn't supplied.", name)
			}
			return fmt.Sprintf("For '%s', %s %s.", where, val, strings.TrimSuffix(se.Reason, "."))
		}
		if re.Parameter != nil {
			return fmt.Sprintf("For '%s/%s', %v.", re.Parameter.In, re.Parameter.Name, re.Err)
		}
		if re.Err != nil {
			return re.Err.Error()
		}
		return re.Reason
	}
	return err.Error()
}
