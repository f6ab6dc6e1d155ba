package pvesim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const apiBase = "/api2/json"

// maxBody mirrors pveproxy's limit on request bodies.
const maxBody = 64 * 1024

// handlerFunc serves one route; data is wrapped as {"data": data}.
type handlerFunc func(c *Cluster, req *request) (data any, err error)

// route declares one API method: its path pattern ({name} captures a path
// parameter), every parameter it accepts (path parameters included, as in
// the official schema) and its handler.
type route struct {
	method string
	path   string
	params []Param
	handle handlerFunc
	// perm is the schema's "permissions", checked before the handler.
	perm permission
	// proxyNode marks routes PVE proxies to {node} (schema "proxyto"):
	// the node is resolved before parameters are validated.
	proxyNode bool
	// rest makes the last {param} take the rest of the path, slashes
	// included, as PVE's fragmentDelimiter '' does for volume IDs.
	rest bool
	// since is the major PVE version that has the route (0: every
	// version the simulator plays); older versions answer 501.
	since int

	segs []string
	set  paramSet
}

// request is what a handler sees: validated parameters and the caller.
type request struct {
	params map[string]string
	user   string // user@realm, or user@realm!tokenid for API tokens
	node   string // resolved {node} of proxied routes
	local  string // the node whose endpoint the request reached ("" the first node's)
}

func (r *request) has(key string) bool { _, ok := r.params[key]; return ok }

func (r *request) str(key string) string { return r.params[key] }

// flag reads a validated boolean (absent, "" and "0" are false).
func (r *request) flag(key string) bool { return r.params[key] == "1" }

// num reads a validated integer; absent gives def.
func (r *request) num(key string, def int64) int64 {
	v, ok := r.params[key]
	if !ok {
		return def
	}
	n, _ := strconv.ParseInt(strings.TrimPrefix(v, "+"), 10, 64)
	return n
}

// router holds the compiled route table.
type router struct {
	routes []*route
}

func newRouter(routes []route) *router {
	rt := &router{}
	for i := range routes {
		r := routes[i]
		r.params = withSchemaFormats(r.method, r.path, r.params)
		r.segs = splitPath(r.path)
		r.set = newParamSet(r.params)
		rt.routes = append(rt.routes, &r)
	}
	return rt
}

// splitPath drops empty segments, as PVE's find_handler does.
func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// find returns the route for method and path plus its path parameters.
// Literal segments win over captures.
func (rt *router) find(method, path string) (*route, map[string]string) {
	segs := splitPath(path)
	var best *route
	var bestVars map[string]string
	bestLiterals := -1
	for _, r := range rt.routes {
		if r.method != method || len(r.segs) != len(segs) && !(r.rest && len(segs) > len(r.segs)) {
			continue
		}
		vars := map[string]string{}
		literals := 0
		ok := true
		for i, s := range r.segs {
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
				vars[s[1:len(s)-1]] = segs[i]
				if r.rest && i == len(r.segs)-1 {
					vars[s[1:len(s)-1]] = strings.Join(segs[i:], "/")
				}
				continue
			}
			if s != segs[i] {
				ok = false
				break
			}
			literals++
		}
		if ok && literals > bestLiterals {
			best, bestVars, bestLiterals = r, vars, literals
		}
	}
	return best, bestVars
}

// readParams merges body (POST/PUT only, JSON or form) and query parameters
// into raw strings; query parameters win, as in pveproxy.
func readParams(r *http.Request, body []byte) (map[string]string, *apiError) {
	params := map[string]string{}
	if (r.Method == http.MethodPost || r.Method == http.MethodPut) && len(bytes.TrimSpace(body)) > 0 {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct == "application/json" {
			if err := decodeJSONParams(body, params); err != nil {
				return nil, err
			}
		} else {
			values, err := url.ParseQuery(string(body))
			if err != nil {
				return nil, failf("unable to parse request body: %v", err)
			}
			for k, v := range values {
				params[k] = v[0]
			}
		}
	}
	for k, v := range r.URL.Query() {
		params[k] = v[0]
	}
	return params, nil
}

// decodeJSONParams flattens a JSON object the way Perl stringifies decoded
// values: numbers keep their text, booleans become 1/0, null is absent.
func decodeJSONParams(body []byte, into map[string]string) *apiError {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return failf("malformed JSON string: %v", err)
	}
	errs := map[string]string{}
	for k, v := range obj {
		switch t := v.(type) {
		case nil:
		case string:
			into[k] = t
		case json.Number:
			into[k] = t.String()
		case bool:
			into[k] = map[bool]string{true: "1", false: "0"}[t]
		case []any:
			errs[k] = "type check failed - got ARRAY"
		default:
			errs[k] = "type check failed - got HASH"
		}
	}
	if len(errs) > 0 {
		return paramError(errs)
	}
	return nil
}

// ServeHTTP implements the PVE request pipeline: count the request, apply
// injected faults, authenticate, find the handler (501 if none), merge path
// parameters, resolve the proxied node, validate, run.
func (c *Cluster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Read the body before anything can fail, so an early error answer does
	// not reset a connection that still carries unread request data.
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	m := c.match(r)
	c.requests.add(r.Method, m.pattern())
	if c.injectFault(w, r, body, m) {
		return
	}
	data, err := c.serve(r, body, m)
	if err != nil {
		writeError(w, err)
		return
	}
	if up, ok := data.(upgrade); ok { // WebSocket routes take over the connection
		up(w, r)
		return
	}
	writeData(w, data)
}

// match is a request's route lookup; rel is "" outside /api2/json.
type match struct {
	rel  string
	rt   *route
	vars map[string]string
}

func (c *Cluster) match(r *http.Request) match {
	path := r.URL.Path
	if path != apiBase && !strings.HasPrefix(path, apiBase+"/") {
		return match{}
	}
	rel := strings.TrimPrefix(path, apiBase)
	if rel == "" {
		rel = "/"
	}
	rt, vars := c.router.find(r.Method, rel)
	return match{rel: rel, rt: rt, vars: vars}
}

// pattern is the route's path pattern, for request accounting.
func (m match) pattern() string {
	if m.rt == nil {
		return UnknownPath
	}
	return m.rt.path
}

func (c *Cluster) serve(r *http.Request, body []byte, m match) (any, *apiError) {
	if m.rel == "" {
		return nil, notImplemented(r.Method, r.URL.Path)
	}
	rel := m.rel
	if len(body) > maxBody {
		return nil, &apiError{status: http.StatusRequestEntityTooLarge, message: "request too large"}
	}
	params, perr := readParams(r, body)

	user := ""
	if !isPublic(r.Method, rel) {
		var aerr *apiError
		if user, aerr = c.authenticate(r); aerr != nil {
			return nil, aerr
		}
	}
	if perr != nil {
		return nil, perr
	}

	rt, vars := m.rt, m.vars
	if rt == nil || rt.since > c.major() {
		return nil, notImplemented(r.Method, rel)
	}
	for k, v := range vars {
		if pv, dup := params[k]; dup && pv != v {
			return nil, paramErr(k, "duplicate parameter (already defined in URI) with conflicting values!")
		}
		params[k] = v
	}
	if err := c.authorize(rt.perm, user, params); err != nil {
		return nil, err
	}
	local, _ := r.Context().Value(localNodeKey{}).(string)
	req := &request{params: params, user: user, local: local}
	if rt.proxyNode {
		node, err := c.resolveNode(vars["node"], local)
		if err != nil {
			return nil, err
		}
		req.node = node
		params["node"] = node
	}
	if errs := rt.set.validate(params); len(errs) > 0 {
		return nil, paramError(errs)
	}
	data, err := rt.handle(c, req)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return nil, ae
		}
		return nil, failf("%v", err)
	}
	return data, nil
}

// isPublic lists the calls pveproxy serves without authentication.
func isPublic(method, rel string) bool {
	return rel == "/access/ticket" && (method == http.MethodPost || method == http.MethodGet)
}
