package trace

import (
	"encoding/json"
	"time"
)

// eventJSON is how an event is written in trace.json.
type eventJSON struct {
	Seq         int             `json:"seq"`
	At          time.Time       `json:"at"`
	Realm       string          `json:"realm"`
	RealmKind   RealmKind       `json:"realmKind"`
	ExtensionID string          `json:"extensionId,omitempty"`
	Tab         string          `json:"tab,omitempty"`
	FrameID     string          `json:"frameId,omitempty"`
	URL         string          `json:"url,omitempty"`
	Port        int             `json:"port"`
	Kind        Kind            `json:"kind"`
	Name        string          `json:"name,omitempty"`
	Message     json.RawMessage `json:"message,omitempty"`
	Sender      json.RawMessage `json:"sender,omitempty"`
	LastError   string          `json:"lastError,omitempty"`
	Call        string          `json:"call,omitempty"`
	Error       string          `json:"error,omitempty"`
	To          json.RawMessage `json:"to,omitempty"`
	Listener    int             `json:"listener,omitempty"`
	// A message left out (Limits.MaxMessage): its size and hash.
	MessageSize   int    `json:"messageSize,omitempty"`
	MessageSHA256 string `json:"messageSha256,omitempty"`
}

// MarshalJSON writes the event with its realm described by name, kind, tab
// and URL, as trace.json has it.
func (e Event) MarshalJSON() ([]byte, error) {
	j := eventJSON{Seq: e.Seq, At: e.At, Port: e.Port, Kind: e.Kind, Name: e.Name, Message: e.Message,
		Sender: e.Sender, LastError: e.LastError, Call: e.Call, Error: e.Error, To: e.To, Listener: e.Listener}
	if tr := e.Truncated; tr != nil {
		j.MessageSize, j.MessageSHA256 = tr.Size, tr.SHA256
	}
	if r := e.Realm; r != nil {
		info := r.Describe()
		j.Realm, j.RealmKind, j.ExtensionID, j.Tab, j.FrameID, j.URL = r.String(), info.Kind, info.ExtensionID, info.Tab, info.Frame, info.URL
	}
	return json.Marshal(j)
}

// MarshalJSON writes the trace as {"dropped": n, "events": [...]}: the
// events it keeps, and how many it dropped before them (Limits.MaxEvents).
func (t *Trace) MarshalJSON() ([]byte, error) {
	events, dropped := t.snapshot()
	return json.Marshal(struct {
		Dropped int     `json:"dropped"`
		Events  []Event `json:"events"`
	}{dropped, events})
}
