//go:build tools

// Package tools pins the design card's modules in go.mod before every package
// that uses them exists, so parallel work never races on `go get`.
package tools

import (
	_ "github.com/bradleyfalzon/ghinstallation/v2"
	_ "github.com/getkin/kin-openapi/openapi3filter"
	_ "github.com/golang-jwt/jwt/v4"
	_ "github.com/google/go-github/v62/github"
	_ "github.com/gregjones/httpcache"
	_ "github.com/palantir/go-githubapp/githubapp"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/rs/zerolog"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)
