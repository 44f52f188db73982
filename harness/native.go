package harness

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portprobe/portprobe/internal/wake"
	"github.com/portprobe/portprobe/trace"
)

// NativeHost declares a native messaging host written in Go, for
// Browser.InstallNativeHost.
//
// Chrome starts a host process for each runtime.connectNative and each
// runtime.sendNativeMessage. The harness's host process is this program
// itself, started again by a small script: it carries the messages between
// Chrome's pipes and the harness, and Serve, running in the test's process,
// decides what the host does. So Serve can use the test's state, and the
// host's side (started, each message in and out, ended) is in the browser's
// trace as a realm of its own.
type NativeHost struct {
	// Name is the host's name, as the extension passes it to connectNative:
	// lower-case letters, digits, dots and underscores, such as
	// "com.example.echo".
	Name string
	// AllowedOrigins are the extensions that may start the host, as
	// "chrome-extension://<id>/". Empty: every extension loaded when the
	// host is installed.
	AllowedOrigins []string
	// Serve runs once for each start of the host, in its own goroutine.
	// The host ends when Serve returns: Chrome then sees its output end
	// ("Native host has exited." for the extension). Nil: an echo host that
	// answers each message with the message itself.
	Serve func(ctx context.Context, conn *NativeConn) error
}

// nativeNamePattern is Chrome's rule for host names
// (native_messaging_host_manifest.cc).
var nativeNamePattern = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)*$`)

// The relay's framing on the socket between the host process and the
// harness: one type byte, a 4-byte big-endian length, the payload.
const (
	relayHello  = 'H' // host → harness: JSON {"name", "args", "pid"}
	relayStdin  = 'D' // host → harness: bytes Chrome wrote to the host
	relayEOF    = 'E' // host → harness: Chrome closed the host's stdin
	relayStdout = 'O' // harness → host: bytes for Chrome
	relayExit   = 'X' // harness → host: close stdout and exit with code payload[0]
	relayKill   = 'K' // harness → host: die by SIGKILL
)

// hostSocketPrefix starts the name of a host socket's folder.
const hostSocketPrefix = "portprobe-host-"

// relayEnv names the socket of a host process that the harness started; see
// runNativeRelay.
const relayEnv = "PORTPROBE_NATIVE_HOST_SOCKET"

// maxFromHost is Chrome's limit on a message from a host (1 MiB).
const maxFromHost = 1 << 20

func init() {
	if sock := os.Getenv(relayEnv); sock != "" {
		os.Exit(runNativeRelay(sock))
	}
}

// InstallNativeHost installs h for this browser only: a host manifest in
// the profile's NativeMessagingHosts folder, where Chromium looks for
// user-level hosts, naming a script that starts this program as the host.
// It can be called at any time; Chrome reads the manifest at each start.
// The host goes away with the browser.
//
// Not on Windows, where Chrome finds hosts through the registry.
func (b *Browser) InstallNativeHost(ctx context.Context, h NativeHost) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("installing native host %q: %w", h.Name, err)
	}
	if b.isClosed() {
		return fmt.Errorf("installing native host %q: %w", h.Name, ErrBrowserClosed)
	}
	if err := b.lost(); err != nil {
		return fmt.Errorf("installing native host %q: %w", h.Name, err)
	}
	if goruntime.GOOS == "windows" {
		return fmt.Errorf("installing native host %q: not supported on Windows (Chrome finds hosts through the registry there)", h.Name)
	}
	if !nativeNamePattern.MatchString(h.Name) {
		return fmt.Errorf("installing native host %q: Chrome accepts only lower-case letters, digits, '_' and '.' (not at the start or end, not doubled)", h.Name)
	}
	if b.profileDir == "" {
		return fmt.Errorf("installing native host %q: the browser has no profile folder", h.Name)
	}
	exe, err := b.hostExecutable()
	if err != nil {
		return fmt.Errorf("installing native host %q: %w", h.Name, err)
	}
	origins := h.AllowedOrigins
	if len(origins) == 0 {
		for _, e := range b.Extensions() {
			origins = append(origins, "chrome-extension://"+e.ID+"/")
		}
	}
	if len(origins) == 0 {
		return fmt.Errorf("installing native host %q: no AllowedOrigins and no extension loaded to allow", h.Name)
	}
	if h.Serve == nil {
		h.Serve = echoHost
	}

	dir := filepath.Join(b.profileDir, "NativeMessagingHosts")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("installing native host %q: %w", h.Name, err)
	}
	// Unix socket paths are short (104 bytes on macOS): the socket goes in
	// a folder of its own under the temporary folder, removed on Close, or
	// by the next Launch when this process died first (its name holds the
	// process ID, as a profile's does).
	sockDir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", hostSocketPrefix, os.Getpid()))
	if err != nil {
		return fmt.Errorf("installing native host %q: %w", h.Name, err)
	}
	b.addTempDir(sockDir)
	sock := filepath.Join(sockDir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("installing native host %q: listening on %s: %w", h.Name, sock, err)
	}
	script := filepath.Join(dir, h.Name+".sh")
	body := "#!/bin/sh\n" + relayEnv + "=" + shellQuote(sock) + " exec " + shellQuote(exe) + " \"$@\"\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		ln.Close()
		return fmt.Errorf("installing native host %q: %w", h.Name, err)
	}
	manifest, _ := json.MarshalIndent(map[string]any{
		"name":            h.Name,
		"description":     "portprobe native host " + h.Name,
		"path":            script,
		"type":            "stdio",
		"allowed_origins": origins,
	}, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, h.Name+".json"), manifest, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("installing native host %q: %w", h.Name, err)
	}
	go b.serveNativeHost(ln, h)
	go func() {
		<-b.ended
		ln.Close()
	}()
	return nil
}

// hostExecutable returns a copy of this program that lives as long as the
// browser, for the host scripts to start: the program's own file can go
// while the browser runs (Ginkgo removes its test binary when a run of the
// same package ends). A hard link costs nothing; a copy is made where links
// cannot be.
func (b *Browser) hostExecutable() (string, error) {
	b.hostExeOnce.Do(func() {
		exe, err := os.Executable()
		if err != nil {
			b.hostExeErr = fmt.Errorf("finding this program, which runs as the host: %w", err)
			return
		}
		dir, err := os.MkdirTemp(b.profileDir, "hostexe-") // removed with the profile
		if err != nil {
			b.hostExeErr = err
			return
		}
		b.addTempDir(dir)
		dst := filepath.Join(dir, filepath.Base(exe))
		if os.Link(exe, dst) != nil {
			if err := copyFile(exe, dst); err != nil {
				b.hostExeErr = fmt.Errorf("copying this program, which runs as the host: %w", err)
				return
			}
		}
		b.hostExe = dst
	})
	return b.hostExe, b.hostExeErr
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o700)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// addTempDir registers a folder that Close removes.
func (b *Browser) addTempDir(dir string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tempDirs = append(b.tempDirs, dir)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// echoHost answers each message with itself.
func echoHost(ctx context.Context, c *NativeConn) error {
	for {
		m, err := c.Read(ctx)
		if err != nil {
			return nil
		}
		if err := c.Write(m); err != nil {
			return err
		}
	}
}

// serveNativeHost accepts the host processes that Chrome starts.
func (b *Browser) serveNativeHost(ln net.Listener, h NativeHost) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go b.runNativeHost(conn, h)
	}
}

// NativeConn is one running host process, as Serve sees it.
type NativeConn struct {
	// Realm is the host's realm in the trace.
	Realm *Realm
	// Origin is the extension that started the host, as Chrome passes it:
	// "chrome-extension://<id>/".
	Origin string
	// Args are the host's command-line arguments after its path.
	Args []string

	b    *Browser
	conn net.Conn
	wmu  sync.Mutex // guards writes to conn

	// mu guards the messages from Chrome that Serve has not read, and eof
	// (Chrome closed the host's input, or the process went); pushed is
	// notified when either changes.
	mu     sync.Mutex
	queue  []json.RawMessage
	eof    bool
	pushed wake.Signal

	closed chan struct{} // closed when the host process has gone
	ended  atomic.Bool   // the host's end is in the trace (Serve returned, Exit, Kill)
}

// String names the host process by its realm and the extension that
// started it, such as
// "native-host(com.example.echo)~2 started by chrome-extension://abcd…/".
func (c *NativeConn) String() string {
	if c.Origin == "" {
		return c.Realm.String()
	}
	return c.Realm.String() + " started by " + c.Origin
}

// GomegaString keeps Gomega's failure messages short: String, not the
// connection and its queue.
func (c *NativeConn) GomegaString() string { return c.String() }

// Read returns the next message Chrome sent to the host, or io.EOF once
// Chrome closed the host's input (the port disconnected, or the one answer
// of sendNativeMessage arrived).
func (c *NativeConn) Read(ctx context.Context) (json.RawMessage, error) {
	m, err := wake.Until(ctx, &c.pushed, nil, func() (json.RawMessage, bool, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		switch {
		case len(c.queue) > 0:
			m := c.queue[0]
			c.queue = c.queue[1:]
			return m, true, nil
		case c.eof:
			return nil, false, io.EOF
		}
		return nil, false, nil
	})
	switch {
	case err == io.EOF:
		return nil, io.EOF
	case err != nil:
		return nil, fmt.Errorf("%s: reading a message from Chrome: %w", c.Realm, err)
	}
	return m, nil
}

// push queues a message from Chrome for Read, or marks the end (m nil).
func (c *NativeConn) push(m json.RawMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m == nil {
		c.eof = true
	} else {
		c.queue = append(c.queue, m)
	}
	c.pushed.Notify()
}

// Write sends v, encoded as JSON, to Chrome as one message.
func (c *NativeConn) Write(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: encoding a message: %w", c.Realm, err)
	}
	frame := binary.NativeEndian.AppendUint32(nil, uint32(len(data)))
	// Stamped before it goes: Chrome may answer it (close the host's
	// input, say) before send returns, and the trace must show the post
	// first.
	at := time.Now()
	if err := c.send(relayStdout, append(frame, data...)); err != nil {
		return err
	}
	c.record(trace.Event{At: at, Kind: trace.KindPost, Message: json.RawMessage(data)})
	return nil
}

// WriteRaw sends bytes to Chrome as they are, for faults: a message that is
// not JSON, one over Chrome's 1 MiB limit, a length without its message.
// The trace records it as a post whose message is the bytes' description.
func (c *NativeConn) WriteRaw(data []byte) error {
	at := time.Now() // as in Write
	if err := c.send(relayStdout, data); err != nil {
		return err
	}
	desc, _ := json.Marshal(map[string]any{"$type": "raw", "length": len(data)})
	c.record(trace.Event{At: at, Kind: trace.KindPost, Message: desc})
	return nil
}

// Exit ends the host process with this exit status, as a host that exits
// on its own would (Serve's return does the same with status 0).
func (c *NativeConn) Exit(status int) error {
	if err := c.send(relayExit, []byte{byte(status)}); err != nil {
		return err
	}
	c.end(trace.Event{Kind: trace.KindDisconnect, Call: fmt.Sprintf("exit(%d)", status)})
	return nil
}

// Kill makes the host process die by SIGKILL, as a crash would.
func (c *NativeConn) Kill() error {
	if err := c.send(relayKill, nil); err != nil {
		return err
	}
	c.end(trace.Event{Kind: trace.KindDisconnect, Call: "kill", Error: "the host process was killed (SIGKILL)"})
	return nil
}

// end records the host's end once: a disconnect event.
func (c *NativeConn) end(e trace.Event) {
	if c.ended.CompareAndSwap(false, true) {
		c.record(e)
	}
}

// Done is closed when the host process has gone.
func (c *NativeConn) Done() <-chan struct{} { return c.closed }

func (c *NativeConn) send(typ byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := writeRelayFrame(c.conn, typ, payload); err != nil {
		return fmt.Errorf("%s: writing to the host process: %w", c.Realm, err)
	}
	return nil
}

// record adds a host-side event to the trace; the host has one port,
// handle 1, named after the host.
func (c *NativeConn) record(e trace.Event) {
	e.Realm, e.Port, e.Name = c.Realm, 1, ""
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if t := c.b.traceFor(c.Realm); t != nil {
		t.Add(e)
	}
}

// runNativeHost runs one host process's session: the hello, then Serve
// while the reader turns Chrome's bytes into messages.
func (b *Browser) runNativeHost(conn net.Conn, h NativeHost) {
	defer conn.Close()
	typ, payload, err := readRelayFrame(conn)
	if err != nil || typ != relayHello {
		b.logf("native host %s: a process connected without its hello: %v", h.Name, err)
		return
	}
	var hello struct {
		Args []string `json:"args"`
		PID  int      `json:"pid"`
	}
	if err := json.Unmarshal(payload, &hello); err != nil {
		b.logf("native host %s: a bad hello: %v", h.Name, err)
		return
	}
	c := &NativeConn{b: b, conn: conn, Args: hello.Args, closed: make(chan struct{})}
	if len(hello.Args) > 0 {
		c.Origin = hello.Args[0]
	}
	r := newRealm(b, trace.NativeHostRealm, extensionIDOf(c.Origin))
	r.URL = h.Name
	c.Realm = r
	b.addRealm(r)
	sender, _ := json.Marshal(map[string]any{"origin": c.Origin, "args": hello.Args, "pid": hello.PID})
	c.record(trace.Event{Kind: trace.KindOnConnect, Sender: sender})

	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	go func() {
		defer close(c.closed)
		defer r.markGone()
		defer cancel()
		c.readFromChrome()
	}()
	err = h.Serve(ctx, c)
	if err != nil && ctx.Err() == nil {
		b.logf("%s: Serve: %v", r, err)
	}
	select {
	case <-c.closed: // the process is gone already (killed, or it exited)
	default:
		c.Exit(0)
		<-c.closed
	}
}

// readFromChrome decodes Chrome's length-prefixed messages until the host
// process goes.
func (c *NativeConn) readFromChrome() {
	var buf []byte
	defer c.push(nil)
	for {
		typ, payload, err := readRelayFrame(c.conn)
		if err != nil {
			// The process ended: after Exit or Kill, or Chrome ended
			// it (it kills a host 2 s after closing its input).
			c.end(trace.Event{Kind: trace.KindDisconnect, Call: "ended", Error: "the host process ended by itself or by Chrome"})
			return
		}
		switch typ {
		case relayEOF:
			c.record(trace.Event{Kind: trace.KindOnDisconnect})
			c.push(nil)
		case relayStdin:
			buf = append(buf, payload...)
			for len(buf) >= 4 {
				n := int(binary.NativeEndian.Uint32(buf))
				if len(buf) < 4+n {
					break
				}
				msg := json.RawMessage(append([]byte(nil), buf[4:4+n]...))
				buf = buf[4+n:]
				c.record(trace.Event{Kind: trace.KindMessage, Message: msg})
				c.push(msg)
			}
		}
	}
}

func writeRelayFrame(w io.Writer, typ byte, payload []byte) error {
	head := make([]byte, 5, 5+len(payload))
	head[0] = typ
	binary.BigEndian.PutUint32(head[1:], uint32(len(payload)))
	_, err := w.Write(append(head, payload...))
	return err
}

func readRelayFrame(r io.Reader) (byte, []byte, error) {
	var head [5]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(head[1:])
	if n > 80<<20 {
		return 0, nil, errors.New("relay frame too large")
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	return head[0], payload, nil
}
