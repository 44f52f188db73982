package pages

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// Every path has the default page until a test hands the server its own.
func TestServerServesDefaultAndHandedPages(t *testing.T) {
	s, err := NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.URL("/x"), "http://127.0.0.1:") || !strings.HasSuffix(s.URL("/x"), "/x") {
		t.Errorf("URL(/x) = %s", s.URL("/x"))
	}
	if code, body := get(t, s.URL("/anything")); code != 200 || body != DefaultPage {
		t.Errorf("GET /anything = %d %q, want the default page", code, body)
	}
	s.Handle("/mine", "<p>mine</p>")
	if code, body := get(t, s.URL("/mine")); code != 200 || body != "<p>mine</p>" {
		t.Errorf("GET /mine = %d %q", code, body)
	}
	if got := s.String(); !strings.HasPrefix(got, "page server at http://127.0.0.1:") {
		t.Errorf("String() = %q", got)
	}
}
