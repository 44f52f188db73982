package diagram

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/portprobe/portprobe/trace"
)

// mermaidLabelMax bounds the text of an arrow or a note, in runes.
const mermaidLabelMax = 80

// WriteMermaid writes events as a Mermaid sequenceDiagram, which GitHub
// renders in Markdown inside a ```mermaid block. Each realm is a
// participant, in the order the realms first appear. The arrows are the
// ones Write draws (see there how the two ends are paired): connect to
// onConnect, post to message and sendMessage to onMessage as solid arrows,
// a reply to its response as a dotted one, disconnect to onDisconnect as a
// cross; each is drawn when its receiver's event comes, labelled with the
// sender's kind and a short form of its name or message. An event with no
// partner (an onDisconnect after a worker stop, an exception) is a note over
// its realm. Text is cut to 80 characters and escaped with Mermaid's entity
// codes (#59; for ;, #35; for #, #quot;, #lt;, #gt;), so no message can
// break the diagram.
func WriteMermaid(w io.Writer, events []trace.Event) error {
	events = slices.Clone(events)
	for i := range events {
		if events[i].Realm == nil {
			events[i].Realm = noRealm
		}
	}
	slices.SortStableFunc(events, func(a, b trace.Event) int { return a.Seq - b.Seq })

	bw := bufio.NewWriter(w)
	bw.WriteString("sequenceDiagram\n")
	ids := map[trace.Source]string{}
	seen := map[string]int{}
	for _, e := range events {
		if _, ok := ids[e.Realm]; ok {
			continue
		}
		id := "R" + strconv.Itoa(len(ids)+1)
		ids[e.Realm] = id
		name := e.Realm.String()
		seen[name]++
		if n := seen[name]; n > 1 {
			name += fmt.Sprintf(" [%d]", n) // a restarted worker, a reloaded page
		}
		fmt.Fprintf(bw, "    participant %s as %s\n", id, mermaidText(name))
	}

	arrows := diagramArrows(events)
	into := make([][]int, len(events)) // receiver -> its senders
	paired := make([]bool, len(events))
	for _, a := range arrows {
		into[a.to] = append(into[a.to], a.from)
		paired[a.from], paired[a.to] = true, true
	}
	for i, e := range events {
		for _, from := range into[i] {
			s := events[from]
			fmt.Fprintf(bw, "    %s%s%s: %s\n", ids[s.Realm], mermaidArrow(s.Kind), ids[e.Realm], mermaidText(mermaidLabel(s, e)))
		}
		if !paired[i] {
			fmt.Fprintf(bw, "    Note over %s: %s\n", ids[e.Realm], mermaidText(mermaidNote(e)))
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing the Mermaid diagram of %d events: %w", len(events), err)
	}
	return nil
}

// mermaidArrow is the arrow drawn from an event of kind k.
func mermaidArrow(k trace.Kind) string {
	switch k {
	case trace.KindDisconnect:
		return "-x"
	case trace.KindReply:
		return "-->>"
	}
	return "->>"
}

// mermaidLabel labels the arrow from the sender's event s to the receiver's
// event r.
func mermaidLabel(s, r trace.Event) string {
	switch s.Kind {
	case trace.KindConnect:
		l := "connect " + strconv.Quote(s.Name)
		if r.Kind == trace.KindOnConnectExternal {
			l += " (external)"
		}
		return l
	case trace.KindPost:
		return "post " + messageText(s)
	case trace.KindDisconnect:
		if r.LastError != "" {
			return "disconnect, lastError: " + r.LastError
		}
		return "disconnect"
	case trace.KindSendMessage:
		return "sendMessage " + messageText(s)
	case trace.KindReply:
		if r.Error != "" {
			return "response error: " + r.Error
		}
		return "response " + messageText(r)
	}
	return string(s.Kind)
}

// mermaidNote describes an event that has no partner.
func mermaidNote(e trace.Event) string {
	switch e.Kind {
	case trace.KindException:
		return fmt.Sprintf("exception in %s: %s", e.Call, e.Error)
	case trace.KindOnDisconnect:
		if e.LastError == "" {
			return fmt.Sprintf("onDisconnect %q, no lastError", e.Name)
		}
		return fmt.Sprintf("onDisconnect %q, lastError: %s", e.Name, e.LastError)
	case trace.KindConnect, trace.KindOnConnect, trace.KindOnConnectExternal, trace.KindOnUserScriptConnect, trace.KindDisconnect:
		return fmt.Sprintf("%s %q", e.Kind, e.Name)
	case trace.KindKeepOpen:
		return "keepOpen: returned " + e.Call
	}
	if e.Error != "" {
		return fmt.Sprintf("%s error: %s", e.Kind, e.Error)
	}
	return fmt.Sprintf("%s %s", e.Kind, messageText(e))
}

// messageText is an event's message JSON, or undefined.
func messageText(e trace.Event) string {
	if len(e.Message) == 0 {
		return "undefined"
	}
	return string(e.Message)
}

// mermaidEscaper writes the characters that Mermaid reads as syntax as
// entity codes, and line breaks as spaces.
var mermaidEscaper = strings.NewReplacer(
	"#", "#35;", ";", "#59;", `"`, "#quot;", "<", "#lt;", ">", "#gt;", "&", "#amp;",
	"\r\n", " ", "\n", " ", "\r", " ",
)

// mermaidText cuts s to mermaidLabelMax runes and escapes it.
func mermaidText(s string) string {
	return mermaidEscaper.Replace(shorten(s, mermaidLabelMax))
}
