package config

import (
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var documentType = reflect.TypeOf(document{})

// checkNode walks the YAML tree against document's yaml tags and reports
// unknown keys and values of the wrong type, each with its full key and line.
// Values are never echoed (they may be secrets).
func checkNode(root *yaml.Node, ps *problems) {
	n := root
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if n.Kind == 0 {
		return // empty input
	}
	checkValue(n, documentType, "", ps)
}

func checkValue(n *yaml.Node, t reflect.Type, key string, ps *problems) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // unset: defaults apply
	}
	switch {
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			ps.add(key, "expected a mapping (line %d)", n.Line)
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				continue // merge key; yaml.v3 validates the merged keys
			}
			child := joinKey(key, k.Value)
			ft, ok := fields[k.Value]
			if !ok {
				ps.add(child, "unknown key (line %d)", k.Line)
				continue
			}
			checkValue(v, ft, child, ps)
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			ps.add(key, "expected %s (line %d)", describe(t), n.Line)
			return
		}
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
				ps.add(key, "expected %s (line %d)", describe(t), item.Line)
				return
			}
		}
	default:
		if n.Kind != yaml.ScalarNode {
			ps.add(key, "expected %s (line %d)", describe(t), n.Line)
			return
		}
		v := reflect.New(t)
		if err := n.Decode(v.Interface()); err != nil {
			ps.add(key, "expected %s (line %d)", describe(t), n.Line)
		}
	}
}

func describe(t reflect.Type) string {
	switch {
	case t == reflect.TypeOf(time.Duration(0)):
		return "a duration such as 10s or 1m30s"
	case t.Kind() == reflect.Slice:
		return "a list of strings"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "an integer"
	case t.Kind() == reflect.Bool:
		return "true or false"
	}
	return t.String()
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

func joinKey(parent, k string) string {
	if parent == "" {
		return k
	}
	return parent + "." + k
}

// yamlKeys lists every leaf key of the file format, in declaration order.
func yamlKeys() []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if name == "-" || !f.IsExported() {
				continue
			}
			k := joinKey(prefix, name)
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
				walk(f.Type, k)
				continue
			}
			out = append(out, k)
		}
	}
	walk(documentType, "")
	return out
}
