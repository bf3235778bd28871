package query

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// openAPIPath is docs/openapi.yaml from this package's directory.
const openAPIPath = "../../docs/openapi.yaml"

// httpapiRoutes are the routes internal/httpapi serves itself, beside the
// query routes it mounts.
var httpapiRoutes = []string{"GET /healthz", "GET /readyz", "GET /metrics"}

// wantErrors lists the error statuses each operation must document, beyond
// what every /v1 operation must (401 with a token configured, 500, 503).
var wantErrors = map[string][]string{
	"GET /readyz":              {"503"},
	"GET /v1/carts/{id}":       {"404"},
	"GET /v1/offers/{cart_id}": {"404"},
	"GET /v1/inventory/{sku}":  {"400", "404"},
	"GET /v1/products/{sku}":   {"404"},
	"GET /v1/promotions/{id}":  {"404"},
	"POST /v1/evaluate":        {"400", "413"},
	"GET /v1/topology":         nil,
	"GET /v1/status":           nil,
	"GET /healthz":             nil,
	"GET /metrics":             nil,
}

// v1Errors must be documented by every /v1 operation.
var v1Errors = []string{"401", "500", "503"}

var operationMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// loadYAML reads a YAML (or JSON) document with every mapping as
// map[string]any.
func loadYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	m, ok := stringKeys(v).(map[string]any)
	if !ok {
		t.Fatalf("%s: not a mapping", path)
	}
	return m
}

// stringKeys turns map[any]any (a mapping with a non-string key, such as
// an unquoted status code) into map[string]any, recursively.
func stringKeys(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = stringKeys(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = stringKeys(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = stringKeys(e)
		}
	}
	return v
}

// servedRoutes is every "METHOD /path" an instance serves, in OpenAPI's
// path templating.
func servedRoutes() []string {
	s := New(Config{})
	s.Register(http.NewServeMux())
	out := slices.Clone(httpapiRoutes)
	for _, r := range s.Routes() {
		// ServeMux wildcards beyond OpenAPI's: {name...} and {$}.
		r = strings.ReplaceAll(r, "...}", "}")
		r = strings.TrimSuffix(r, "{$}")
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// documentedOperations maps "METHOD /path" to its operation object.
func documentedOperations(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("openapi.yaml: no paths")
	}
	ops := map[string]map[string]any{}
	for path, item := range paths {
		item, ok := item.(map[string]any)
		if !ok {
			t.Fatalf("path %s: not a mapping", path)
		}
		for _, m := range operationMethods {
			if op, ok := item[m].(map[string]any); ok {
				ops[strings.ToUpper(m)+" "+path] = op
			}
		}
	}
	return ops
}

// TestOpenAPIMatchesRoutes: docs/openapi.yaml describes exactly the routes
// an instance serves, no more and no fewer.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadYAML(t, openAPIPath)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi: %q, want 3.1.x", v)
	}
	var documented []string
	for k := range documentedOperations(t, doc) {
		documented = append(documented, k)
	}
	slices.Sort(documented)
	served := servedRoutes()
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("served but not in docs/openapi.yaml: %s", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("in docs/openapi.yaml but not served (Service.Routes and httpapi): %s", r)
		}
	}
}

// TestOpenAPIOperationsDocumentErrors: every operation documents a success
// and its error statuses, errors have the {"code","message"} body, path
// parameters are declared, operation ids are unique, and /v1 operations
// allow the optional bearer token.
func TestOpenAPIOperationsDocumentErrors(t *testing.T) {
	doc := loadYAML(t, openAPIPath)
	ops := documentedOperations(t, doc)
	ids := map[string]string{}
	for key, op := range ops {
		path := strings.SplitN(key, " ", 2)[1]
		v1 := strings.HasPrefix(path, "/v1/")

		id, _ := op["operationId"].(string)
		if id == "" {
			t.Errorf("%s: no operationId", key)
		} else if other, dup := ids[id]; dup {
			t.Errorf("%s: operationId %q also used by %s", key, id, other)
		}
		ids[id] = key

		responses, _ := op["responses"].(map[string]any)
		has2xx := false
		for code := range responses {
			if strings.HasPrefix(code, "2") {
				has2xx = true
			}
		}
		if !has2xx {
			t.Errorf("%s: no 2xx response", key)
		}
		want, listed := wantErrors[key]
		if !listed && !v1 {
			t.Errorf("%s: add it to wantErrors", key)
		}
		if v1 {
			want = append(slices.Clone(want), v1Errors...)
		}
		for _, code := range want {
			if _, ok := responses[code]; !ok {
				t.Errorf("%s: does not document %s", key, code)
			}
		}
		for code, r := range responses {
			n, err := strconv.Atoi(code)
			if err != nil || n < 400 || key == "GET /readyz" {
				continue // readyz's 503 is its readiness body
			}
			resp := resolveLocal(t, doc, r)
			schema := resolveLocal(t, doc, dig(resp, "content", "application/json", "schema"))
			if !isErrorSchema(schema) {
				t.Errorf("%s: %s response is not the Error body", key, code)
			}
		}

		// Every {name} in the path is a declared path parameter.
		declared := map[string]bool{}
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			pm := resolveLocal(t, doc, p)
			if pm["in"] == "path" {
				name, _ := pm["name"].(string)
				declared[name] = true
				if pm["required"] != true {
					t.Errorf("%s: path parameter %s not required", key, name)
				}
			}
		}
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") && !declared[seg[1:len(seg)-1]] {
				t.Errorf("%s: path parameter %s not declared", key, seg)
			}
		}

		if v1 {
			sec, _ := op["security"].([]any)
			var bearer, open bool
			for _, s := range sec {
				s, _ := s.(map[string]any)
				if _, ok := s["bearer"]; ok {
					bearer = true
				}
				if len(s) == 0 {
					open = true
				}
			}
			if !bearer || !open {
				t.Errorf("%s: security %v, want optional bearer ([{bearer: []}, {}])", key, sec)
			}
		}
	}
	if _, ok := dig(doc, "components", "securitySchemes", "bearer").(map[string]any); !ok {
		t.Error("no bearer security scheme")
	}
	for key := range wantErrors {
		if _, ok := ops[key]; !ok {
			t.Errorf("wantErrors lists %s, which the document does not have", key)
		}
	}
}

// TestOpenAPIRefsResolve: every $ref in docs/openapi.yaml, and in the
// files it refers to, points at something that exists.
func TestOpenAPIRefsResolve(t *testing.T) {
	seen := map[string]bool{}
	docs := map[string]any{}
	load := func(path string) any {
		if d, ok := docs[path]; ok {
			return d
		}
		d := loadYAML(t, path)
		docs[path] = d
		return d
	}
	var check func(file string)
	check = func(file string) {
		if seen[file] {
			return
		}
		seen[file] = true
		doc := load(file)
		for _, ref := range collectRefs(doc, nil) {
			target, frag, _ := strings.Cut(ref, "#")
			targetFile := file
			if target != "" {
				if strings.Contains(target, "://") || strings.HasPrefix(target, "urn:") {
					t.Errorf("%s: $ref %q: only relative and local references are checked; keep them so", file, ref)
					continue
				}
				targetFile = filepath.Join(filepath.Dir(file), filepath.FromSlash(target))
				if _, err := os.Stat(targetFile); err != nil {
					t.Errorf("%s: $ref %q: %v", file, ref, err)
					continue
				}
				check(targetFile)
			}
			if _, err := pointer(load(targetFile), frag); err != nil {
				t.Errorf("%s: $ref %q: %v", file, ref, err)
			}
		}
	}
	check(openAPIPath)
	if len(seen) < 2 {
		t.Errorf("checked %d files; the document should refer to schemas/json", len(seen))
	}
}

// collectRefs appends the value of every "$ref" key under v.
func collectRefs(v any, out []string) []string {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "$ref" {
				out = append(out, s)
				continue
			}
			out = collectRefs(e, out)
		}
	case []any:
		for _, e := range x {
			out = collectRefs(e, out)
		}
	}
	return out
}

// pointer resolves a JSON Pointer fragment ("" is the whole document).
func pointer(doc any, frag string) (any, error) {
	if frag == "" {
		return doc, nil
	}
	if !strings.HasPrefix(frag, "/") {
		return nil, fmt.Errorf("fragment %q is not a JSON Pointer", frag)
	}
	cur := doc
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := cur.(type) {
		case map[string]any:
			next, ok := x[tok]
			if !ok {
				return nil, fmt.Errorf("no %q", tok)
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, fmt.Errorf("no index %q", tok)
			}
			cur = x[i]
		default:
			return nil, fmt.Errorf("%q: not a container", tok)
		}
	}
	return cur, nil
}

// resolveLocal follows local $refs ("#/...") until a non-reference mapping.
// An external or broken reference gives nil (TestOpenAPIRefsResolve
// reports broken ones).
func resolveLocal(t *testing.T, doc map[string]any, v any) map[string]any {
	t.Helper()
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		if !strings.HasPrefix(ref, "#") {
			return nil
		}
		if v, _ = pointer(doc, ref[1:]); v == nil {
			return nil
		}
	}
	t.Fatalf("$ref cycle at %v", v)
	return nil
}

// isErrorSchema reports whether s is the {"code","message"} error body.
func isErrorSchema(s map[string]any) bool {
	if s == nil {
		return false
	}
	req, _ := s["required"].([]any)
	props, _ := s["properties"].(map[string]any)
	codes, _ := dig(props, "code", "enum").([]any)
	var got []string
	for _, c := range codes {
		got = append(got, fmt.Sprint(c))
	}
	slices.Sort(got)
	want := []string{CodeBadRequest, CodeInternal, CodeNotFound, CodeRebalancing, CodeUnauthorized, CodeUnavailable}
	slices.Sort(want)
	return slices.Contains(req, any("code")) && slices.Contains(req, any("message")) &&
		props["message"] != nil && slices.Equal(got, want)
}

// dig walks nested mappings by key; nil when a key is missing.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
