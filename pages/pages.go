// Package pages is the local web server of a test's pages: it serves HTML
// on 127.0.0.1 (a default page, and any page a test hands it), so no test
// needs the network. Every harness.Browser has one (Browser.Pages).
package pages

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// DefaultPage is the HTML the page server gives for "/" and any path without
// a page of its own: a body that fills the window, so a click on "body" lands.
const DefaultPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>portprobe test page</title>
<style>html, body { margin: 0; min-height: 100vh; }</style></head>
<body><h1>portprobe test page</h1><p id="text">A page for content scripts to run in.</p></body></html>
`

// Server serves test pages on 127.0.0.1, so no spec needs the network.
// Extensions' content scripts match it with "http://127.0.0.1/*".
type Server struct {
	srv *httptest.Server

	mu    sync.Mutex
	pages map[string]string
}

// NewServer starts a page server on a free port of 127.0.0.1.
func NewServer() (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the page server: %w", err)
	}
	ps := &Server{pages: map[string]string{}}
	ps.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(ps.serve)}}
	ps.srv.Start()
	return ps, nil
}

func (ps *Server) serve(w http.ResponseWriter, r *http.Request) {
	ps.mu.Lock()
	html, ok := ps.pages[r.URL.Path]
	ps.mu.Unlock()
	if !ok {
		html = DefaultPage
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// no-cache, not no-store: a no-store page is kept out of the
	// back/forward cache, or let in only sometimes.
	w.Header().Set("Cache-Control", "no-cache")
	fmt.Fprint(w, html)
}

// Handle serves html at path (such as "/frames.html").
func (ps *Server) Handle(path, html string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.pages["/"+strings.TrimPrefix(path, "/")] = html
}

// URL returns the address of path on the server.
func (ps *Server) URL(path string) string {
	return ps.srv.URL + "/" + strings.TrimPrefix(path, "/")
}

// String says where the server is, such as
// "page server at http://127.0.0.1:40123".
func (ps *Server) String() string {
	if ps.srv == nil {
		return "page server (not started)"
	}
	return "page server at " + ps.srv.URL
}

// GomegaString keeps Gomega's failure messages short: String, not the pages.
func (ps *Server) GomegaString() string { return ps.String() }

// Close stops the server.
func (ps *Server) Close() { ps.srv.Close() }
