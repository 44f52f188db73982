package manifest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Manifest is the part of an extension's manifest.json that portprobe
// reads. Raw keeps the whole document.
type Manifest struct {
	// ManifestVersion is 2 or 3. Parse accepts any value; refusing
	// version 2 is Chrome's job, and the error it gives is part of what
	// portprobe reports.
	ManifestVersion       int                    `json:"manifest_version"`
	Name                  string                 `json:"name"`
	Version               string                 `json:"version"`
	Key                   string                 `json:"key,omitempty"`
	Background            *Background            `json:"background,omitempty"`
	ContentScripts        []ContentScript        `json:"content_scripts,omitempty"`
	Action                json.RawMessage        `json:"action,omitempty"`
	Permissions           []string               `json:"permissions,omitempty"`
	HostPermissions       []string               `json:"host_permissions,omitempty"`
	ExternallyConnectable *ExternallyConnectable `json:"externally_connectable,omitempty"`

	// Raw is the whole manifest as decoded by encoding/json, including the
	// keys the fields above do not cover.
	Raw map[string]any `json:"-"`
}

// Background is a manifest's "background" entry: a service worker in
// Manifest V3, scripts or a page in Manifest V2.
type Background struct {
	ServiceWorker string   `json:"service_worker,omitempty"`
	Type          string   `json:"type,omitempty"` // "module" for an ES module worker
	Scripts       []string `json:"scripts,omitempty"`
	Page          string   `json:"page,omitempty"`
}

// ContentScript is one entry of a manifest's "content_scripts".
type ContentScript struct {
	Matches         []string `json:"matches"`
	JS              []string `json:"js,omitempty"`
	CSS             []string `json:"css,omitempty"`
	AllFrames       bool     `json:"all_frames,omitempty"`
	RunAt           string   `json:"run_at,omitempty"`
	World           string   `json:"world,omitempty"` // "ISOLATED" (the default) or "MAIN"
	MatchAboutBlank bool     `json:"match_about_blank,omitempty"`
}

// ExternallyConnectable is a manifest's "externally_connectable" entry: which
// other extensions and web pages may message the extension.
type ExternallyConnectable struct {
	IDs                 []string `json:"ids,omitempty"`
	Matches             []string `json:"matches,omitempty"`
	AcceptsTLSChannelID bool     `json:"accepts_tls_channel_id,omitempty"`
}

// Read reads and parses <dir>/manifest.json.
func Read(dir string) (*Manifest, error) {
	data, err := ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("reading manifest of %q: %w", dir, err)
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("reading manifest of %q: %w", dir, err)
	}
	return m, nil
}

// MaxSize is the largest manifest.json portprobe reads; real ones are
// a few kilobytes.
const MaxSize = 16 << 20

// ReadFile reads a manifest.json that is a regular file of at most
// MaxSize bytes: a FIFO would block the read for ever, and /dev/zero
// would fill the memory.
func ReadFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, st.Mode().Type())
	}
	if st.Size() > MaxSize {
		return nil, fmt.Errorf("%s has %d bytes, more than the %d a manifest may have", path, st.Size(), MaxSize)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err == nil && len(data) > MaxSize {
		err = fmt.Errorf("%s has more than the %d bytes a manifest may have", path, MaxSize)
	}
	return data, err
}

// Parse parses the bytes of a manifest.json.
//
// Like Chrome, it accepts // and /* */ comments (real extensions ship them,
// Vimium among them) and skips a leading UTF-8 byte order mark. A syntax or
// type error gives the line and column (1-based, counted in characters) and
// wraps the *json.SyntaxError or *json.UnmarshalTypeError.
func Parse(data []byte) (*Manifest, error) {
	data = blankComments(bytes.TrimPrefix(data, []byte("\uFEFF")))
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, jsonError(data, err)
	}
	if err := json.Unmarshal(data, &m.Raw); err != nil {
		return nil, jsonError(data, err)
	}
	return &m, nil
}

// blankComments returns data with its // and /* */ comments outside strings
// replaced by spaces (newlines kept), so the offsets of errors still point
// into the file as written. An unterminated comment is left for the JSON
// decoder to refuse.
func blankComments(data []byte) []byte {
	out := data
	copied := false
	blank := func(from, to int) {
		if !copied {
			out = bytes.Clone(data)
			copied = true
		}
		for i := from; i < to; i++ {
			if out[i] != '\n' && out[i] != '\r' {
				out[i] = ' '
			}
		}
	}
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '/' && i+1 < len(data) && data[i+1] == '/':
			end := bytes.IndexByte(data[i:], '\n')
			if end < 0 {
				end = len(data) - i
			}
			blank(i, i+end)
			i += end - 1
		case c == '/' && i+1 < len(data) && data[i+1] == '*':
			end := bytes.Index(data[i+2:], []byte("*/"))
			if end < 0 {
				return out
			}
			blank(i, i+2+end+2)
			i += 2 + end + 1
		}
	}
	return out
}

// jsonError adds the line and column of err's offset in data to err.
func jsonError(data []byte, err error) error {
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntaxErr):
		line, col := lineCol(data, syntaxErr.Offset)
		return fmt.Errorf("invalid JSON at %d:%d: %w", line, col, err)
	case errors.As(err, &typeErr):
		line, col := lineCol(data, typeErr.Offset)
		return fmt.Errorf("unexpected value at %d:%d: %w", line, col, err)
	}
	return err
}

// lineCol converts the offset encoding/json reports with an error (the
// number of bytes read when the error was found) into a 1-based line and
// column, counting the column in characters. It points at the last byte
// read, which is the offending one.
func lineCol(data []byte, offset int64) (line, col int) {
	end := int(min(max(offset-1, 0), int64(len(data))))
	before := data[:end]
	line = 1 + bytes.Count(before, []byte("\n"))
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return line, 1 + utf8.RuneCount(before[lineStart:])
}

// Files returns the files the manifest names as code to run: the background
// service worker, the background scripts or page of Manifest V2, and each
// content script's js and css, in that order, without duplicates. They are
// paths relative to the extension's folder, as written in the manifest
// (empty names included, since an empty name is a mistake worth reporting).
//
// Chrome's own error for a missing one can be as vague as
//
//	Could not load background script ''.
//
// and MissingFiles says which one it is.
func (m *Manifest) Files() []string {
	var files []string
	seen := make(map[string]bool)
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			files = append(files, f)
		}
	}
	if b := m.Background; b != nil {
		if b.ServiceWorker != "" {
			add(b.ServiceWorker)
		}
		for _, s := range b.Scripts {
			add(s)
		}
		if b.Page != "" {
			add(b.Page)
		}
	}
	for _, cs := range m.ContentScripts {
		for _, s := range cs.JS {
			add(s)
		}
		for _, s := range cs.CSS {
			add(s)
		}
	}
	return files
}

// MissingFiles returns those of m.Files() that are not regular files under
// dir. Like Chrome, it ignores one leading slash in a name.
func (m *Manifest) MissingFiles(dir string) []string {
	var missing []string
	for _, f := range m.Files() {
		rel := filepath.FromSlash(strings.TrimPrefix(f, "/"))
		fi, err := os.Stat(filepath.Join(dir, rel))
		if rel == "" || err != nil || !fi.Mode().IsRegular() {
			missing = append(missing, f)
		}
	}
	return missing
}

// idFromHash turns a SHA-256 digest into an extension ID: its first 16
// bytes in hexadecimal, with the digits 0-9a-f written as the letters a-p.
func idFromHash(sum [sha256.Size]byte) string {
	id := []byte(hex.EncodeToString(sum[:16]))
	for i, c := range id {
		if c <= '9' {
			id[i] = 'a' + c - '0'
		} else {
			id[i] = 'a' + 10 + c - 'a'
		}
	}
	return string(id)
}

// IDFromKey returns the extension ID Chrome derives from a manifest "key"
// (base64 of the DER SubjectPublicKeyInfo): the first 16 bytes of SHA-256 of
// the decoded key, hex-encoded, with 0-9a-f mapped to a-p.
//
// Like Chrome, it also accepts the key wrapped in a PEM "-----BEGIN PUBLIC
// KEY-----" block, and it does not check that the bytes are a valid key.
func IDFromKey(key string) (string, error) {
	var der []byte
	if strings.HasPrefix(key, "-----BEGIN") {
		block, _ := pem.Decode([]byte(key))
		if block == nil {
			return "", fmt.Errorf("decoding extension key %q: malformed PEM block", shortenKey(key))
		}
		der = block.Bytes
	} else {
		var err error
		der, err = base64.StdEncoding.DecodeString(key)
		if err != nil {
			return "", fmt.Errorf("decoding extension key %q: %w", shortenKey(key), err)
		}
	}
	if len(der) == 0 {
		return "", fmt.Errorf("decoding extension key %q: key is empty", shortenKey(key))
	}
	return idFromHash(sha256.Sum256(der)), nil
}

// shortenKey shortens a key for an error message.
func shortenKey(s string) string {
	const limit = 24
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}

// IDFromPath returns the ID Chrome gives an unpacked extension without a
// key: the same mapping as IDFromKey applied to SHA-256 of the absolute
// path (crx_file::id_util::GenerateIdForPath). The path must be the one
// Chrome sees, which is absolute with symbolic links resolved; PredictID
// takes care of that.
//
// On Windows Chrome first upper-cases a lower-case drive letter and hashes
// the path's UTF-16 code units (little-endian), so the same folder gets a
// different ID there than its bytes would suggest; IDFromPath does the same.
func IDFromPath(absDir string) string {
	return idFromPath(absDir, runtime.GOOS)
}

// idFromPath is IDFromPath for the operating system goos.
func idFromPath(absDir, goos string) string {
	if goos != "windows" {
		return idFromHash(sha256.Sum256([]byte(absDir)))
	}
	if len(absDir) >= 2 && 'a' <= absDir[0] && absDir[0] <= 'z' && absDir[1] == ':' {
		absDir = strings.ToUpper(absDir[:1]) + absDir[1:]
	}
	var b []byte
	for _, u := range utf16.Encode([]rune(absDir)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return idFromHash(sha256.Sum256(b))
}

// PredictID returns the ID Chrome will give the unpacked extension in dir:
// from its key if the manifest has one, else from its absolute path with
// symbolic links resolved (Chrome resolves them when it loads the folder).
// It reads dir/manifest.json.
func PredictID(dir string) (string, error) {
	m, err := Read(dir)
	if err != nil {
		return "", fmt.Errorf("predicting extension ID: %w", err)
	}
	if m.Key != "" {
		id, err := IDFromKey(m.Key)
		if err != nil {
			return "", fmt.Errorf("predicting extension ID of %q: %w", dir, err)
		}
		return id, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("predicting extension ID of %q: %w", dir, err)
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("predicting extension ID of %q: %w", dir, err)
	}
	return IDFromPath(resolved), nil
}

// NewKey generates a fresh RSA-2048 key pair and returns the base64 public
// key for a manifest's "key" field, its ID, and the PEM of the private key
// (PKCS #8, "-----BEGIN PRIVATE KEY-----", the form Chrome writes when it
// packs an extension). Generating the key takes tens of milliseconds.
func NewKey() (publicKeyBase64, id string, privatePEM []byte, err error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", nil, fmt.Errorf("generating extension key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return "", "", nil, fmt.Errorf("encoding extension public key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", "", nil, fmt.Errorf("encoding extension private key: %w", err)
	}
	privatePEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return base64.StdEncoding.EncodeToString(pub), idFromHash(sha256.Sum256(pub)), privatePEM, nil
}
