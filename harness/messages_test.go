package harness

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/portprobe/portprobe/internal/jsonx"
	"github.com/portprobe/portprobe/trace"
)

// oneTimeExtension writes an extension whose worker answers one-time
// messages in each of the ways a listener can, chosen by the message's "how".
func oneTimeExtension(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"manifest.json": `{"manifest_version":3,"name":"one-time","version":"1","background":{"service_worker":"sw.js"}}`,
		"page.html":     `<!doctype html><script src="page.js"></script>`,
		"page.js":       `// drives nothing itself`,
		"sw.js": `
chrome.runtime.onMessage.addListener((m, sender, sendResponse) => {
  switch (m.how) {
    case "now": sendResponse({echo: m.text}); return;
    case "later": setTimeout(() => sendResponse({later: m.text}), 5); return true;
    case "promise": return Promise.resolve({promised: m.text});
    case "reject": return Promise.reject(new Error("no " + m.text));
    case "true-then-nothing": return true;
    case "nothing": return;
  }
});
chrome.runtime.onMessage.addListener((m, sender, sendResponse) => {
  if (m.how === "both") { sendResponse("second"); }
});
chrome.runtime.onMessage.addListener((m, sender, sendResponse) => {
  if (m.how === "both") { sendResponse("third"); }
});
`,
	})
	return dir
}

// Each way a listener answers shows in the trace as Chrome delivers it: the
// sender's sendMessage and response, the receiver's onMessage, keepOpen and
// replies, linked by their handles.
func TestOneTimeMessagesAreTraced(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b := benchLaunch(t, Options{Logf: t.Logf})
	ctx := t.Context()
	ext, err := b.LoadExtension(ctx, oneTimeExtension(t))
	if err != nil {
		t.Fatal(err)
	}
	w, err := ext.Worker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, page, err := ext.OpenPage(ctx, "page.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		how, want, err, keepOpen string
	}{
		{"now", `{"echo":"x"}`, "", ""},
		{"later", `{"later":"x"}`, "", "true"},
		{"promise", `{"promised":"x"}`, "", "promise"},
		{"reject", "", "no x", "promise"},
		{"nothing", "", "", ""},
		{"both", `"second"`, "", ""},
	} {
		resp, err := page.SendMessage(ctx, map[string]any{"how": tc.how, "text": "x"})
		var jerr *JSError
		if tc.err != "" {
			if !errors.As(err, &jerr) || !strings.Contains(jerr.Text, tc.err) {
				t.Errorf("%s: %s, %v; want the error %q", tc.how, resp, err, tc.err)
			}
		} else if err != nil || !jsonx.Equal(orNull(resp), []byte(orNullS(tc.want))) {
			t.Errorf("%s: %s, %v; want %s", tc.how, resp, err, tc.want)
		}
		sent, ok := b.Trace().Find(trace.SendMessage().In(page).WithMessage(map[string]any{"how": tc.how, "text": "x"}))
		if !ok {
			t.Errorf("%s: no sendMessage in\n%s", tc.how, b.Trace())
			continue
		}
		// The worker's events come on its own session, maybe after the
		// page's: wait for them.
		onMsg, err := b.Trace().Wait(ctx, trace.OnMessage().In(w).WithMessage(map[string]any{"how": tc.how, "text": "x"}))
		if err != nil {
			t.Errorf("%s: %v", tc.how, err)
			continue
		}
		resq := trace.Response().In(page).Where("of this message", func(e trace.Event) bool { return e.Port == sent.Port })
		if tc.err != "" {
			resq = resq.WithError(tc.err)
		} else {
			resq = resq.WithoutError()
			if tc.want == "" {
				resq = resq.Where("with no message (undefined)", func(e trace.Event) bool { return len(e.Message) == 0 })
			} else {
				resq = resq.WithMessage(json.RawMessage(tc.want))
			}
		}
		if _, ok := b.Trace().Find(resq); !ok {
			t.Errorf("%s: no %s in\n%s", tc.how, resq, b.Trace())
		}
		mine := func(e trace.Event) bool { return e.Port == onMsg.Port }
		if tc.keepOpen != "" {
			if _, err := b.Trace().Wait(ctx, trace.KeepOpen().In(w).Via(tc.keepOpen).ByListener(1).Where("of this message", mine)); err != nil {
				t.Errorf("%s: %v", tc.how, err)
			}
		}
		if tc.how == "both" {
			// Both later listeners answer; the first answer wins.
			if _, err := b.Trace().Wait(ctx, trace.Reply().In(w).ByListener(3).Where("of this message", mine)); err != nil {
				t.Errorf("both: %v", err)
			}
			if n := b.Trace().Count(trace.Reply().In(w).Where("of this message", mine)); n != 2 {
				t.Errorf("both: %d replies, want 2 (listeners 2 and 3)\n%s", n, b.Trace())
			}
		}
	}
	// The callback form: no answer gives lastError.
	if _, err := page.SendMessageJS(ctx, `{how: "nothing"}, function () { globalThis.le = chrome.runtime.lastError && chrome.runtime.lastError.message; }`); err != nil {
		t.Fatal(err)
	}
	q := trace.Response().In(page).Via("callback").WithError("The message port closed before a response was received.")
	if _, err := b.Trace().Wait(ctx, q); err != nil {
		t.Error(err)
	}
}

// A listener of Go's (ListenMessages) keeps the channel open until the test
// answers with ReplyTo(event).Send.
func TestGoAnswersAMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chrome")
	}
	b := benchLaunch(t, Options{Logf: t.Logf})
	ctx := t.Context()
	ext, err := b.LoadExtension(ctx, oneTimeExtension(t))
	if err != nil {
		t.Fatal(err)
	}
	_, page, err := ext.OpenPage(ctx, "page.html")
	if err != nil {
		t.Fatal(err)
	}
	if err := page.ListenMessages(ctx, trace.KindOnMessage); err != nil {
		t.Fatal(err)
	}
	w, err := ext.Worker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The worker's own listeners ignore "ask"; only the page's Go listener
	// answers.
	if _, err := w.Eval(ctx, `void chrome.runtime.sendMessage({how: "ask"}).then((r) => { globalThis.answer = r; })`); err != nil {
		t.Fatal(err)
	}
	ev, err := b.Trace().Wait(ctx, trace.OnMessage().In(page).WithMessage(map[string]any{"how": "ask"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := ReplyTo(ev).Send(ctx, map[string]any{"from": "go"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Trace().Wait(ctx, trace.Response().In(w).WithMessage(map[string]any{"from": "go"})); err != nil {
		t.Error(err)
	}
	if err := ReplyTo(ev).Send(ctx, "again"); err == nil {
		t.Error("a second answer from Go succeeded")
	}
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

func orNullS(s string) string {
	if s == "" {
		return "null"
	}
	return s
}
