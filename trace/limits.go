package trace

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/maphash"
)

// Limits bound what a trace keeps, for long sessions (portprobe trace
// --max-events) and floods of large messages. The zero value keeps every
// event, whole.
type Limits struct {
	// MaxEvents keeps at most this many events, the newest: past it, the
	// oldest are dropped, and Dropped counts them (String and MarshalJSON
	// say how many). A pending Wait and a Watch see every event before it
	// is dropped; Events, Find and the matchers see only what is kept. Seq
	// goes on counting from the first event ever added. Zero keeps every
	// event.
	MaxEvents int
	// MaxMessage keeps the JSON of a message (Event.Message) when it has at
	// most this many bytes. A longer one is left out of its event, whose
	// Truncated then gives its size and SHA-256; a query on the message no
	// longer matches it. Zero keeps every message whole.
	MaxMessage int
}

// Validate reports a limit that cannot be met.
func (l Limits) Validate() error {
	switch {
	case l.MaxEvents < 0:
		return fmt.Errorf("trace limits: MaxEvents is %d, want 0 (no bound) or more", l.MaxEvents)
	case l.MaxMessage < 0:
		return fmt.Errorf("trace limits: MaxMessage is %d, want 0 (no bound) or more", l.MaxMessage)
	}
	return nil
}

// Truncation says what a trace left out of an event (see Limits.MaxMessage).
type Truncation struct {
	// Size is the length of the message's JSON in bytes.
	Size int
	// SHA256 is the hex SHA-256 of the message's JSON, to tell two large
	// messages apart, or to compare one with what the extension sent.
	SHA256 string
}

// String reads as "67108864 bytes, sha256 9f86d081884c7d65…".
func (t Truncation) String() string {
	sum := t.SHA256
	if len(sum) > 16 {
		sum = sum[:16] + "…"
	}
	return fmt.Sprintf("%d bytes, sha256 %s", t.Size, sum)
}

// truncate leaves out e's message when it is over the limit. It runs
// before the trace is locked: hashing a large message takes a while.
func (l Limits) truncate(e *Event) {
	if l.MaxMessage <= 0 || len(e.Message) <= l.MaxMessage {
		return
	}
	sum := sha256.Sum256(e.Message)
	e.Truncated = &Truncation{Size: len(e.Message), SHA256: hex.EncodeToString(sum[:])}
	e.Message = nil
}

// canonicalKinds maps each known kind to its constant, so that an event
// keeps no string of its own for its kind.
var canonicalKinds = map[Kind]Kind{}

func init() {
	for _, k := range []Kind{KindConnect, KindOnConnect, KindOnConnectExternal, KindOnUserScriptConnect, KindPost, KindMessage,
		KindDisconnect, KindOnDisconnect, KindException, KindSendMessage, KindResponse, KindOnMessage,
		KindOnMessageExternal, KindOnUserScriptMessage, KindReply, KindKeepOpen} {
		canonicalKinds[k] = k
	}
}

// The bounds of what a trace shares between its events.
const (
	// maxInterned is how many distinct short strings (port names, calls)
	// a trace keeps one copy of.
	maxInterned = 4096
	// maxInternedLen is the longest string it interns.
	maxInternedLen = 256
	// shareMin is the size from which a message's JSON is looked up among
	// the recent large messages, to keep one copy of a message and its
	// post.
	shareMin = 1024
	// recentBodies is how many recent large messages are looked up.
	recentBodies = 16
)

// sharing keeps one copy of what many events of a trace repeat: the
// strings of a port's name and of a call, and a large message that a post
// and its message (and an exception that quotes it) carry alike. It is
// guarded by its trace's lock.
type sharing struct {
	strings map[string]string

	seed   maphash.Seed
	hashes [recentBodies]uint64
	bodies [recentBodies]json.RawMessage
	next   int
}

// share points e's strings and message at the copies the trace has.
func (s *sharing) share(e *Event) {
	if k, ok := canonicalKinds[e.Kind]; ok {
		e.Kind = k
	}
	e.Name = s.intern(e.Name)
	e.Call = s.intern(e.Call)
	e.LastError = s.intern(e.LastError)
	if len(e.Message) >= shareMin {
		e.Message = s.body(e.Message)
	}
}

func (s *sharing) intern(v string) string {
	if v == "" || len(v) > maxInternedLen {
		return v
	}
	if c, ok := s.strings[v]; ok {
		return c
	}
	if s.strings == nil {
		s.strings = map[string]string{}
	}
	if len(s.strings) < maxInterned {
		s.strings[v] = v
	}
	return v
}

// body returns the recent large message equal to m, or remembers m.
func (s *sharing) body(m json.RawMessage) json.RawMessage {
	if s.seed == (maphash.Seed{}) {
		s.seed = maphash.MakeSeed()
	}
	h := maphash.Bytes(s.seed, m)
	for i, b := range s.bodies {
		if s.hashes[i] == h && bytes.Equal(b, m) {
			return b
		}
	}
	s.hashes[s.next], s.bodies[s.next] = h, m
	s.next = (s.next + 1) % recentBodies
	return m
}
