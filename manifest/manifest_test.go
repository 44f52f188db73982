package manifest

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// testKey and testKeyID are a fixed vector for IDFromKey, made outside Go
// with OpenSSL 3.0 so the test does not check the code against itself:
//
//	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out k.pem
//	openssl pkey -in k.pem -pubout -outform DER > k.der
//	base64 -w0 k.der                               # testKey
//	sha256sum k.der | cut -c1-32 | tr 0-9a-f a-p   # testKeyID
//
// The private key was thrown away.
const (
	testKey   = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsdJur05gNCmNwzH7ov4BfgGPeCMr3hUBaKJIsp9jbXGjzKqX2jEreHmsz0D0xLRHlskxZyRENvIhqaKl4GS8ndqy0dcpNi92oInqSPAGI912U5UnOmNipy9kZyoPPb2vPQpiEbcp+QSSMhwPQVrHWfCZORTji0X+yu79DoHXlASny6dvjYHnYIOI7N5bviDWMrePvetfY/sD6Uscrx6rdUFnB6tCubeNAgzJDL3CYx5fT7pCzfWfLIEuD/31UdqVnfT2yIJF4aHeRvorxcxm0s6yKo4qO6rspZhQCIyYy0T65H+o4jX1ij1KYni2y04vKaNHZqJe+UbK+Wfr1iavBQIDAQAB"
	testKeyID = "ffghlmejommkfgokpahifbhnfmodjcal"
)

const mv3Manifest = `{
  "manifest_version": 3,
  "name": "ports",
  "version": "1.0",
  "background": {"service_worker": "sw.js", "type": "module"},
  "content_scripts": [
    {"matches": ["<all_urls>"], "js": ["cs.js", "shared.js"], "all_frames": true, "run_at": "document_start"},
    {"matches": ["https://example.com/*"], "js": ["main.js", "shared.js"], "css": ["cs.css"], "world": "MAIN", "match_about_blank": true}
  ],
  "action": {"default_popup": "popup.html"},
  "permissions": ["storage", "tabs"],
  "host_permissions": ["https://example.com/*"],
  "externally_connectable": {"ids": ["*"], "matches": ["https://example.com/*"]},
  "minimum_chrome_version": "120"
}`

func TestParseManifestMV3(t *testing.T) {
	m, err := Parse([]byte(mv3Manifest))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := &Manifest{
		ManifestVersion: 3,
		Name:            "ports",
		Version:         "1.0",
		Background:      &Background{ServiceWorker: "sw.js", Type: "module"},
		ContentScripts: []ContentScript{
			{Matches: []string{"<all_urls>"}, JS: []string{"cs.js", "shared.js"}, AllFrames: true, RunAt: "document_start"},
			{Matches: []string{"https://example.com/*"}, JS: []string{"main.js", "shared.js"}, CSS: []string{"cs.css"}, World: "MAIN", MatchAboutBlank: true},
		},
		Action:                json.RawMessage(`{"default_popup": "popup.html"}`),
		Permissions:           []string{"storage", "tabs"},
		HostPermissions:       []string{"https://example.com/*"},
		ExternallyConnectable: &ExternallyConnectable{IDs: []string{"*"}, Matches: []string{"https://example.com/*"}},
	}
	raw := m.Raw
	m.Raw = nil
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", m, want)
	}
	if got := raw["minimum_chrome_version"]; got != "120" {
		t.Errorf(`Raw["minimum_chrome_version"] = %v, want "120"`, got)
	}
	if got := raw["manifest_version"]; got != 3.0 {
		t.Errorf(`Raw["manifest_version"] = %v, want 3`, got)
	}
}

func TestParseManifestMV2(t *testing.T) {
	// Chrome refuses Manifest V2; that refusal is what a spec observes, so
	// parsing must not get in the way.
	m, err := Parse([]byte(`{
		"manifest_version": 2,
		"name": "old",
		"version": "0.1",
		"background": {"scripts": ["a.js", "b.js"], "persistent": false},
		"browser_action": {}
	}`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if m.ManifestVersion != 2 {
		t.Errorf("ManifestVersion = %d, want 2", m.ManifestVersion)
	}
	if want := []string{"a.js", "b.js"}; !slices.Equal(m.Background.Scripts, want) {
		t.Errorf("Background.Scripts = %q, want %q", m.Background.Scripts, want)
	}
	if _, ok := m.Raw["browser_action"]; !ok {
		t.Error(`Raw has no "browser_action"`)
	}
}

func TestParseManifestByteOrderMark(t *testing.T) {
	m, err := Parse([]byte("\uFEFF{\"manifest_version\": 3, \"name\": \"bom\", \"version\": \"1\"}"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if m.Name != "bom" {
		t.Errorf("Name = %q, want %q", m.Name, "bom")
	}
}

func TestParseManifestErrors(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		wantErr  any      // pointer to the error type it must wrap
		contains []string // substrings of the message
	}{
		{
			name:     "trailing comma",
			data:     "{\n  \"name\": \"x\",\n}",
			wantErr:  new(*json.SyntaxError),
			contains: []string{"invalid JSON at 3:1", "invalid character '}'"},
		},
		{
			name:     "column counts characters, not bytes",
			data:     "{\n  \"name\": \"é\" x}",
			wantErr:  new(*json.SyntaxError),
			contains: []string{"at 2:15"},
		},
		{
			name:     "error after a comment keeps its place",
			data:     "{\n  /* a \"quote\"\n  */ // why\n  \"name\": x}",
			wantErr:  new(*json.SyntaxError),
			contains: []string{"at 4:11"},
		},
		{
			name:     "unterminated comment",
			data:     "{\n  /* why\n  \"name\": \"x\"}",
			wantErr:  new(*json.SyntaxError),
			contains: []string{"at 2:3"},
		},
		{
			name:     "empty",
			data:     "",
			wantErr:  new(*json.SyntaxError),
			contains: []string{"at 1:1", "unexpected end of JSON input"},
		},
		{
			name:     "wrong type",
			data:     "{\n  \"manifest_version\": \"3\"\n}",
			wantErr:  new(*json.UnmarshalTypeError),
			contains: []string{"at 2:25", "manifest_version"},
		},
		{
			name:     "not an object",
			data:     `["manifest_version", 3]`,
			wantErr:  new(*json.UnmarshalTypeError),
			contains: []string{"at 1:1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.data))
			if err == nil {
				t.Fatalf("Parse = %+v, want an error", m)
			}
			if !errors.As(err, tt.wantErr) {
				t.Errorf("error %v does not wrap %T", err, tt.wantErr)
			}
			for _, want := range tt.contains {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// writeExtension makes a folder with the given files (name -> contents).
func writeExtension(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReadManifest(t *testing.T) {
	dir := writeExtension(t, map[string]string{"manifest.json": mv3Manifest})
	m, err := Read(dir)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if m.Name != "ports" {
		t.Errorf("Name = %q, want %q", m.Name, "ports")
	}

	t.Run("missing", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Read(dir)
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Read error = %v, want one wrapping os.ErrNotExist", err)
		}
		if want := fmt.Sprintf("reading manifest of %q", dir); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Read error = %v, want it to contain %s", err, want)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		dir := writeExtension(t, map[string]string{"manifest.json": "{\n  \"name\": \"x\",\n}"})
		_, err := Read(dir)
		want := fmt.Sprintf("reading manifest of %q: invalid JSON at 3:1: ", dir)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Read error = %v, want it to start with %s", err, want)
		}
	})
}

func TestManifestFiles(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		files    []string // present in the folder besides manifest.json
		want     []string // Files()
		missing  []string // MissingFiles()
	}{
		{
			name:     "service worker and content scripts",
			manifest: mv3Manifest,
			files:    []string{"sw.js", "cs.js", "main.js", "cs.css"},
			want:     []string{"sw.js", "cs.js", "shared.js", "main.js", "cs.css"},
			missing:  []string{"shared.js"},
		},
		{
			name:     "all present",
			manifest: `{"background": {"service_worker": "bg/sw.js"}, "content_scripts": [{"matches": ["<all_urls>"], "js": ["/cs.js"]}]}`,
			files:    []string{"bg/sw.js", "cs.js"},
			want:     []string{"bg/sw.js", "/cs.js"},
		},
		{
			name:     "Manifest V2 scripts and page",
			manifest: `{"manifest_version": 2, "background": {"scripts": ["a.js", "b.js"], "page": "bg.html"}}`,
			files:    []string{"b.js"},
			want:     []string{"a.js", "b.js", "bg.html"},
			missing:  []string{"a.js", "bg.html"},
		},
		{
			name:     "empty name is listed and missing",
			manifest: `{"background": {"scripts": [""]}}`,
			want:     []string{""},
			missing:  []string{""},
		},
		{
			name:     "a folder is not a file",
			manifest: `{"background": {"service_worker": "bg"}}`,
			files:    []string{"bg/x.js"},
			want:     []string{"bg"},
			missing:  []string{"bg"},
		},
		{
			name:     "nothing to run",
			manifest: `{"manifest_version": 3, "name": "n", "version": "1"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"manifest.json": tt.manifest}
			for _, f := range tt.files {
				files[f] = "// " + f
			}
			dir := writeExtension(t, files)
			m, err := Read(dir)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if got := m.Files(); !slices.Equal(got, tt.want) {
				t.Errorf("Files() = %q, want %q", got, tt.want)
			}
			if got := m.MissingFiles(dir); !slices.Equal(got, tt.missing) {
				t.Errorf("MissingFiles() = %q, want %q", got, tt.missing)
			}
		})
	}
}

func TestIDFromPath(t *testing.T) {
	tests := []struct {
		path, goos, want string
	}{
		// Observed in Chromium 156 on Linux, loading the folder with
		// --load-extension.
		{"/work/shared/bench/puppeteer-mdn/ext-mdn", "linux", "liehgmkdomhpddpbcehgkbiflhpnlcma"},
		// Windows hashes UTF-16LE code units after upper-casing the drive
		// letter, so both spellings give the same ID. Computed with
		//   printf 'C:\\ext' | iconv -t UTF-16LE | sha256sum | cut -c1-32 | tr 0-9a-f a-p
		{`C:\ext`, "windows", "eheacmjelahhklcclddcbkcipeeljojp"},
		{`c:\ext`, "windows", "eheacmjelahhklcclddcbkcipeeljojp"},
	}
	for _, tt := range tests {
		if got := idFromPath(tt.path, tt.goos); got != tt.want {
			t.Errorf("idFromPath(%q, %q) = %q, want %q", tt.path, tt.goos, got, tt.want)
		}
	}
	if runtime.GOOS != "windows" {
		if got, want := IDFromPath(tests[0].path), tests[0].want; got != want {
			t.Errorf("IDFromPath(%q) = %q, want %q", tests[0].path, got, want)
		}
	}
}

func TestIDFromKey(t *testing.T) {
	got, err := IDFromKey(testKey)
	if err != nil {
		t.Fatalf("IDFromKey: %v", err)
	}
	if got != testKeyID {
		t.Errorf("IDFromKey(testKey) = %q, want %q", got, testKeyID)
	}

	der, _ := base64.StdEncoding.DecodeString(testKey)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if got, err := IDFromKey(pemKey); err != nil || got != testKeyID {
		t.Errorf("IDFromKey(PEM of testKey) = %q, %v; want %q", got, err, testKeyID)
	}
}

func TestIDFromKeyErrors(t *testing.T) {
	for _, key := range []string{
		"not base64!",
		"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsdJur05gNCmNwzH7ov4B=", // bad padding
		"",
		"-----BEGIN PUBLIC KEY-----\nno end",
	} {
		id, err := IDFromKey(key)
		if err == nil {
			t.Errorf("IDFromKey(%q) = %q, want an error", key, id)
			continue
		}
		if !strings.Contains(err.Error(), "decoding extension key") {
			t.Errorf("IDFromKey(%q) error %q does not say what was being done", key, err)
		}
	}
}

func TestNewKey(t *testing.T) {
	pub, id, privPEM, err := NewKey()
	if err != nil {
		t.Fatalf("NewKey: %v", err)
	}
	if got, err := IDFromKey(pub); err != nil || got != id {
		t.Errorf("IDFromKey(NewKey's key) = %q, %v; want NewKey's ID %q", got, err, id)
	}
	if len(id) != 32 || strings.Trim(id, "abcdefghijklmnop") != "" {
		t.Errorf("ID %q is not 32 letters a-p", id)
	}

	block, _ := pem.Decode(privPEM)
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("private key is not a PRIVATE KEY PEM block:\n%s", privPEM)
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("parsing private key: %v", err)
	}
	rsaKey, ok := priv.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("private key is a %T, want *rsa.PrivateKey", priv)
	}
	if bits := rsaKey.N.BitLen(); bits != 2048 {
		t.Errorf("key has %d bits, want 2048", bits)
	}
	wantPub, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if base64.StdEncoding.EncodeToString(wantPub) != pub {
		t.Error("public key does not belong to the private key")
	}

	if pub2, id2, _, err := NewKey(); err != nil || pub2 == pub || id2 == id {
		t.Errorf("second NewKey gave %q, %v; want a different key", id2, err)
	}
}

func TestPredictID(t *testing.T) {
	t.Run("from key", func(t *testing.T) {
		dir := writeExtension(t, map[string]string{
			"manifest.json": `{"manifest_version": 3, "name": "k", "version": "1", "key": "` + testKey + `"}`,
		})
		if got, err := PredictID(dir); err != nil || got != testKeyID {
			t.Errorf("PredictID = %q, %v; want %q", got, err, testKeyID)
		}
	})
	t.Run("from path", func(t *testing.T) {
		dir := writeExtension(t, map[string]string{"manifest.json": `{"manifest_version": 3, "name": "p", "version": "1"}`})
		resolved, err := filepath.EvalSymlinks(dir)
		if err != nil {
			t.Fatal(err)
		}
		want := IDFromPath(resolved)
		if got, err := PredictID(dir); err != nil || got != want {
			t.Errorf("PredictID(%q) = %q, %v; want %q", dir, got, err, want)
		}

		// A relative path and a symbolic link name the same folder.
		link := filepath.Join(t.TempDir(), "link")
		if err := os.Symlink(dir, link); err != nil {
			t.Skipf("cannot make a symbolic link: %v", err)
		}
		if got, err := PredictID(link); err != nil || got != want {
			t.Errorf("PredictID(%q) = %q, %v; want %q", link, got, err, want)
		}
		t.Chdir(filepath.Dir(dir))
		if got, err := PredictID(filepath.Base(dir)); err != nil || got != want {
			t.Errorf("PredictID(%q) = %q, %v; want %q", filepath.Base(dir), got, err, want)
		}
	})
	t.Run("bad key", func(t *testing.T) {
		dir := writeExtension(t, map[string]string{"manifest.json": `{"key": "%%%"}`})
		_, err := PredictID(dir)
		if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "decoding extension key") {
			t.Errorf("PredictID error = %v, want one naming %s and the key", err, dir)
		}
	})
	t.Run("no manifest", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := PredictID(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("PredictID error = %v, want one wrapping os.ErrNotExist", err)
		}
	})
}

func ExamplePredictID() {
	id, err := PredictID("fixtures/extensions/ports")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("chrome-extension://" + id + "/")
}

func ExampleIDFromKey() {
	id, err := IDFromKey(testKey) // the manifest's "key"
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(id)
	// Output: ffghlmejommkfgokpahifbhnfmodjcal
}

// Chrome reads manifest.json with comments, and real extensions ship them
// (Vimium does): so does the harness, and a "//" or "/*" inside a string
// stays.
func TestParseManifestComments(t *testing.T) {
	m, err := Parse([]byte(`{
  // the name
  "manifest_version": 3, /* a block
  over lines */ "name": "a // b /* c */",
  "version": "1" // last
}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "a // b /* c */" || m.ManifestVersion != 3 || m.Raw["version"] != "1" {
		t.Errorf("got %+v", m)
	}
}
