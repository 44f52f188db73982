package cdppipe

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
)

// fakePipe connects a relay to a fake Chrome and a fake chromedp.
type fakePipe struct {
	chromeOut *io.PipeWriter // what Chrome writes
	chromeIn  *bufio.Reader  // what Chrome reads
	cdpOut    *io.PipeWriter // what chromedp writes
	cdpIn     *bufio.Reader  // what chromedp reads
}

func newFakePipe(r *Relay) *fakePipe {
	fromChromeR, fromChromeW := io.Pipe()
	toChromeR, toChromeW := io.Pipe()
	downR, downW := io.Pipe()
	upR, upW := io.Pipe()
	r.fromChrome, r.toChrome, r.down, r.up = fromChromeR, toChromeW, downR, upW
	r.start()
	return &fakePipe{chromeOut: fromChromeW, chromeIn: bufio.NewReader(toChromeR), cdpOut: downW, cdpIn: bufio.NewReader(upR)}
}

func readFrame(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	b, err := r.ReadString(0)
	if err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	return strings.TrimSuffix(b, "\x00")
}

func writeFrame(t *testing.T, w io.Writer, s string) {
	t.Helper()
	if _, err := io.WriteString(w, s+"\x00"); err != nil {
		t.Errorf("writing a frame: %v", err) // not Fatal: it runs in goroutines
	}
}

// The relay passes chromedp's traffic through untouched, keeps the messages
// of the sessions the harness takes, and answers the harness's own calls.
func TestRelayRoutesTheHarnesssSessions(t *testing.T) {
	r := NewRelay()
	events := make(chan any, 8)
	r.Claim = func(parent *Session, ev *target.EventAttachedToTarget, s *Session) func(any) {
		if ev.TargetInfo.Type != "page" {
			return nil
		}
		return func(ev any) { events <- ev }
	}
	p := newFakePipe(r)

	// chromedp's command reaches Chrome as it was written.
	go writeFrame(t, p.cdpOut, `{"id":1,"method":"Target.getTargets"}`)
	if got := readFrame(t, p.chromeIn); got != `{"id":1,"method":"Target.getTargets"}` {
		t.Errorf("Chrome read %s", got)
	}

	// A page's auto-attach: chromedp sees the browser's event too.
	attached := `{"method":"Target.attachedToTarget","params":{"sessionId":"S1","targetInfo":{"targetId":"T1","type":"page","title":"","url":"about:blank","attached":true,"canAccessOpener":false},"waitingForDebugger":true}}`
	go writeFrame(t, p.chromeOut, attached)
	if got := readFrame(t, p.cdpIn); got != attached {
		t.Errorf("chromedp read %s", got)
	}
	// The session's events are the harness's; a worker's stay chromedp's.
	go func() {
		writeFrame(t, p.chromeOut, `{"method":"Runtime.executionContextsCleared","params":{},"sessionId":"S1"}`)
		writeFrame(t, p.chromeOut, `{"method":"Runtime.executionContextsCleared","params":{},"sessionId":"OTHER"}`)
	}()
	if got := readFrame(t, p.cdpIn); !strings.Contains(got, `"OTHER"`) {
		t.Errorf("chromedp read %s, want only the other session's event", got)
	}
	select {
	case <-events:
	case <-time.After(5 * time.Second):
		t.Fatal("the harness's session got no event")
	}

	// A call on the session goes out with the session's ID and a relay ID;
	// its answer is the harness's alone.
	r.mu.Lock()
	s := r.sessions["S1"]
	r.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- s.Call(context.Background(), "Runtime.runIfWaitingForDebugger", nil, nil) }()
	var cmd struct {
		ID        int64  `json:"id"`
		Method    string `json:"method"`
		SessionID string `json:"sessionId"`
	}
	if err := json.Unmarshal([]byte(readFrame(t, p.chromeIn)), &cmd); err != nil {
		t.Fatal(err)
	}
	if cmd.ID < firstRelayID || cmd.ID >= 1<<31 || cmd.SessionID != "S1" || cmd.Method != "Runtime.runIfWaitingForDebugger" {
		t.Errorf("Chrome read %+v", cmd)
	}
	go writeFrame(t, p.chromeOut, `{"id":`+itoa(cmd.ID)+`,"result":{},"sessionId":"S1"}`)
	if err := <-done; err != nil {
		t.Errorf("the call: %v", err)
	}

	// When Chrome goes, chromedp reads end of file and calls fail at once.
	p.chromeOut.Close()
	if _, err := p.cdpIn.ReadString(0); err != io.EOF {
		t.Errorf("chromedp read error %v, want EOF", err)
	}
	if err := s.Call(context.Background(), "Runtime.enable", nil, nil); err == nil {
		t.Error("a call after Chrome went succeeded")
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
