package diagram

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/portprobe/portprobe/internal/jsonx"
	"github.com/portprobe/portprobe/trace"
)

//go:embed diagram.html.tmpl
var diagramSource string

var diagramTemplate = template.Must(template.New("diagram").Parse(diagramSource))

// noRealm is the lane of the events that have no realm.
var noRealm trace.Source = &trace.Place{Name: "(no realm)", Info: trace.SourceInfo{Kind: "unknown"}}

// Write writes events as a self-contained HTML page (no network, no
// external scripts or fonts): a sequence diagram with one lane per realm, in
// the order the realms first appear, and one row per event, in the order of
// Seq, with its time in a left gutter. The lane headers and the gutter stay
// in view as the page scrolls.
//
// Arrows join the two ends of each connection, message and disconnection:
// connect to onConnect or onConnectExternal, post to message, disconnect to
// onDisconnect. Ports have no global ID, so the pairs are inferred: a connect
// reaches the later onConnect events of the same port name in other realms,
// which links its port to theirs, and a post on a port reaches the next
// message with equal JSON on each linked port. An event with no partner (an
// onDisconnect after a worker stop, a message from an unprobed sender, an
// exception) is a hollow marker on its own lane.
//
// Each event is labelled with its kind, port handle and name, and its message
// JSON, lastError (in red, or "no lastError") or exception; its full text is
// in a tooltip. All text is escaped. The output depends only on title and
// events, and costs about 1 KB per event.
func Write(w io.Writer, title string, events []trace.Event) error {
	events = slices.Clone(events)
	for i := range events {
		if events[i].Realm == nil {
			events[i].Realm = noRealm // an Event made by hand
		}
	}
	slices.SortStableFunc(events, func(a, b trace.Event) int { return a.Seq - b.Seq })
	if err := diagramTemplate.Execute(w, layoutDiagram(title, events)); err != nil {
		return fmt.Errorf("writing the diagram %q of %d events: %w", title, len(events), err)
	}
	return nil
}

// diagramArrow joins two events of a trace, by their indexes: the sender's
// (connect, post, disconnect) and the receiver's.
type diagramArrow struct{ from, to int }

// portKey names one port: a realm and its handle of the port.
type portKey struct {
	realm trace.Source
	port  int
}

func portKeyOf(e trace.Event) portKey { return portKey{e.Realm, e.Port} }

// realmSlot is where a realm lives. A restarted worker or a reloaded page is
// a new realm in the same slot, and one connect never reaches a slot twice.
type realmSlot struct {
	kind  trace.RealmKind
	extID string
	tab   string
	frame string
}

func slotOf(r trace.Source) realmSlot {
	i := r.Describe()
	return realmSlot{i.Kind, i.ExtensionID, i.Tab, i.Frame}
}

// info describes an event's realm.
func info(r trace.Source) trace.SourceInfo { return r.Describe() }

// diagramArrows infers which events cause which, since ports have no global
// ID, and returns the arrows in the order of their senders, then receivers.
//
// First, connections, in trace order. An onConnect or onConnectExternal in
// realm R with name N is the far end of an earlier connect with name N in
// another realm: of the same extension for onConnect, of another extension or
// a web page for onConnectExternal, and that has not yet reached a realm in
// R's slot (a connect can reach several realms: all frames of a tab, the
// worker and extension pages). Of those, the earliest whose port is still
// open and whose realm's URL is the onConnect's sender.url wins, else the
// earliest open one; when all are closed, the latest that reached nobody yet
// (a port disconnected at once). The connection links the two ports.
//
// Then, posts and disconnects, in trace order: a post pairs, on each port
// linked to its own, with the next unpaired message after it whose JSON is
// equal; a disconnect with the next unpaired onDisconnect after it. Both ends
// of a connection can send.
func diagramArrows(events []trace.Event) []diagramArrow {
	var arrows []diagramArrow
	links := map[portKey][]portKey{}
	closed := map[portKey]bool{}
	reached := map[int][]realmSlot{} // connect index -> slots it reached
	var connects []int
	for i, e := range events {
		switch e.Kind {
		case trace.KindConnect:
			if e.Port != 0 {
				connects = append(connects, i)
			}
		case trace.KindOnConnect, trace.KindOnConnectExternal, trace.KindOnUserScriptConnect:
			c := pickConnect(events, connects, i, closed, reached)
			if c < 0 {
				continue
			}
			reached[c] = append(reached[c], slotOf(e.Realm))
			a, b := portKeyOf(events[c]), portKeyOf(e)
			links[a] = append(links[a], b)
			links[b] = append(links[b], a)
			arrows = append(arrows, diagramArrow{c, i})
		case trace.KindDisconnect, trace.KindOnDisconnect:
			closed[portKeyOf(e)] = true
		}
	}

	arrows = append(arrows, oneTimeArrows(events)...)

	paired := make([]bool, len(events))
	for i, e := range events {
		var want trace.Kind
		switch e.Kind {
		case trace.KindPost:
			want = trace.KindMessage
		case trace.KindDisconnect:
			want = trace.KindOnDisconnect
		default:
			continue
		}
		for _, far := range links[portKeyOf(e)] {
			for j := i + 1; j < len(events); j++ {
				r := events[j]
				if r.Kind != want || paired[j] || portKeyOf(r) != far {
					continue
				}
				if want == trace.KindMessage && !sameJSON(e.Message, r.Message) {
					continue
				}
				paired[j] = true
				arrows = append(arrows, diagramArrow{i, j})
				break
			}
		}
	}
	slices.SortStableFunc(arrows, func(a, b diagramArrow) int {
		if a.from != b.from {
			return a.from - b.from
		}
		return a.to - b.to
	})
	return arrows
}

// oneTimeArrows links one-time messages. An onMessage or onMessageExternal
// in realm R is the far end of an earlier sendMessage of the same message
// (equal JSON) in another realm, of the same extension for onMessage and not
// for onMessageExternal, that has not yet reached a realm in R's slot (a
// message reaches every listening context): the earliest whose realm's URL
// is the sender's url, else the earliest. A response is the far end of the
// first reply, among the receivers of its message, that carries its value
// or its error: Chrome gives the sender the first answer.
func oneTimeArrows(events []trace.Event) []diagramArrow {
	var arrows []diagramArrow
	var sends []int
	reached := map[int][]realmSlot{}
	receivers := map[portKey][]portKey{} // a sendMessage -> the dispatches it reached
	for i, e := range events {
		switch e.Kind {
		case trace.KindSendMessage:
			sends = append(sends, i)
		case trace.KindOnMessage, trace.KindOnMessageExternal, trace.KindOnUserScriptMessage:
			fromURL := senderURL(e)
			pick := -1
			for _, c := range sends {
				ce := events[c]
				if ce.Realm == e.Realm || !sameJSON(ce.Message, e.Message) ||
					(info(ce.Realm).ExtensionID == info(e.Realm).ExtensionID) != (e.Kind != trace.KindOnMessageExternal) ||
					slices.Contains(reached[c], slotOf(e.Realm)) {
					continue
				}
				if fromURL != "" && info(ce.Realm).URL == fromURL {
					pick = c
					break
				}
				if pick < 0 {
					pick = c
				}
			}
			if pick < 0 {
				continue
			}
			reached[pick] = append(reached[pick], slotOf(e.Realm))
			receivers[portKeyOf(events[pick])] = append(receivers[portKeyOf(events[pick])], portKeyOf(e))
			arrows = append(arrows, diagramArrow{pick, i})
		case trace.KindResponse:
			far := receivers[portKeyOf(e)]
			for j := 0; j < i; j++ {
				r := events[j]
				if r.Kind != trace.KindReply || !slices.Contains(far, portKeyOf(r)) {
					continue
				}
				// The first reply is the one Chrome delivered; when it
				// does not carry this response, no reply did.
				if r.Error == e.Error && (e.Error != "" || sameJSON(orUndefined(r.Message), orUndefined(e.Message))) {
					arrows = append(arrows, diagramArrow{j, i})
				}
				break
			}
		}
	}
	return arrows
}

// orUndefined stands for an absent message (undefined).
func orUndefined(m json.RawMessage) []byte {
	if len(m) == 0 {
		return []byte("undefined")
	}
	return m
}

// pickConnect returns the index of the connect whose far end is the
// onConnect or onConnectExternal events[i], or -1; see diagramArrows.
func pickConnect(events []trace.Event, connects []int, i int, closed map[portKey]bool, reached map[int][]realmSlot) int {
	e := events[i]
	fromURL := senderURL(e)
	open, fromSender, latestClosed := -1, -1, -1
	for _, c := range connects {
		ce := events[c]
		if ce.Name != e.Name || ce.Realm == e.Realm ||
			(ce.Call == "connectNative") != (info(e.Realm).Kind == trace.NativeHostRealm) ||
			(info(ce.Realm).ExtensionID == info(e.Realm).ExtensionID) != (e.Kind != trace.KindOnConnectExternal) ||
			slices.Contains(reached[c], slotOf(e.Realm)) {
			continue
		}
		switch {
		case !closed[portKeyOf(ce)]:
			if open < 0 {
				open = c
			}
			if fromSender < 0 && fromURL != "" && info(ce.Realm).URL == fromURL {
				fromSender = c
			}
		case len(reached[c]) == 0:
			latestClosed = c
		}
	}
	switch {
	case fromSender >= 0:
		return fromSender
	case open >= 0:
		return open
	default:
		return latestClosed
	}
}

// senderURL returns the port.sender.url of an onConnect event, or "".
func senderURL(e trace.Event) string {
	var url string
	if raw, ok := e.SenderField("url"); !ok || json.Unmarshal(raw, &url) != nil {
		return ""
	}
	return url
}

// sameJSON reports whether two messages are the same JSON value.
func sameJSON(a, b []byte) bool {
	return bytes.Equal(a, b) || jsonx.Equal(a, b)
}

// The geometry of the diagram, in CSS pixels.
const (
	diagramGutter   = 150  // width of the time gutter
	diagramFit      = 1320 // width that up to six lanes fit in
	diagramRow      = 32   // height of a row with a label of two lines
	diagramLine     = 13   // height of each further line of a wrapped detail
	diagramPad      = 8    // space above the first row and below the last
	diagramLabelMax = 480  // widest label
	diagramLabelGap = 10   // between a marker and its label
	diagramCharW    = 6.7  // width of a character of the 11px monospace font
	diagramMarker   = 5    // radius of a marker
)

// diagramView is what the template draws.
type diagramView struct {
	Title   string
	Summary string
	Width   int
	Height  int
	Lead    int // space between the gutter and the first lane's header
	Gutter  int
	Lanes   []laneView
	Rows    []rowView
	Arrows  []arrowView
}

// laneView is the header and lifeline of one realm.
type laneView struct {
	X       int
	Width   int
	Name    string
	About   string // kind and extension ID
	URL     string
	Tooltip string
}

// rowView is one event: its gutter cell, its marker and its label.
type rowView struct {
	Top, Height, Y int
	Stripe         bool
	Seq            int
	Time           string
	X              int
	Family         string // connect, message, disconnect or error
	Paired         bool
	Label          labelView
}

// labelView is the text beside an event's marker.
type labelView struct {
	OnRight  bool
	Offset   int // from the left edge when OnRight, else from the right edge
	MaxWidth int
	Head     string
	Detail   string
	// DetailClass styles the detail: "json", "err" (wrapped, red) or "none".
	DetailClass string
	Lines       int // lines of the detail
	Top         int
	Tooltip     string
}

// arrowView is an arrow from a sender's marker to a receiver's.
type arrowView struct {
	X1, Y1, X2, Y2 float64
	Family         string
}

// familyOf groups event kinds by what they are about, for colors.
func familyOf(k trace.Kind) string {
	switch k {
	case trace.KindConnect, trace.KindOnConnect, trace.KindOnConnectExternal, trace.KindOnUserScriptConnect:
		return "connect"
	case trace.KindPost, trace.KindMessage:
		return "message"
	case trace.KindDisconnect, trace.KindOnDisconnect:
		return "disconnect"
	case trace.KindSendMessage, trace.KindOnMessage, trace.KindOnMessageExternal, trace.KindOnUserScriptMessage, trace.KindReply, trace.KindResponse, trace.KindKeepOpen:
		return "request"
	default:
		return "error"
	}
}

// layoutDiagram places the lanes, rows, labels and arrows of events.
func layoutDiagram(title string, events []trace.Event) diagramView {
	var realms []trace.Source
	lane := map[trace.Source]int{}
	for _, e := range events {
		if _, ok := lane[e.Realm]; !ok {
			lane[e.Realm] = len(realms)
			realms = append(realms, e.Realm)
		}
	}
	margin, step := diagramGeometry(len(realms))
	laneX := func(i int) int { return diagramGutter + margin + i*step }
	width := diagramGutter + 2*margin + max(len(realms)-1, 0)*step

	v := diagramView{Title: title, Width: width, Lead: margin - step/2, Gutter: diagramGutter}
	seen := map[string]int{}
	for i, realm := range realms {
		name, r := realm.String(), realm.Describe()
		seen[name]++
		if n := seen[name]; n > 1 {
			name += fmt.Sprintf(" [%d]", n) // a restarted worker, a reloaded page
		}
		about := string(r.Kind)
		if r.ExtensionID != "" {
			about += " · " + r.ExtensionID
		}
		v.Lanes = append(v.Lanes, laneView{
			X:       laneX(i),
			Width:   step - 10,
			Name:    name,
			About:   about,
			URL:     r.URL,
			Tooltip: fmt.Sprintf("%s\nkind: %s\nextension: %s\nURL: %s", name, r.Kind, cmp.Or(r.ExtensionID, "(none)"), cmp.Or(r.URL, "(none)")),
		})
	}

	arrows := diagramArrows(events)
	partners := make([][]int, len(events))
	for _, a := range arrows {
		partners[a.from] = append(partners[a.from], a.to)
		partners[a.to] = append(partners[a.to], a.from)
	}

	y := diagramPad
	for i, e := range events {
		x := laneX(lane[e.Realm])
		label := labelFor(e, events, partners[i])
		placeLabel(&label, x, width, partners[i], func(j int) int { return laneX(lane[events[j].Realm]) })
		h := diagramRow + (label.Lines-1)*diagramLine
		label.Top = y + (h-label.height())/2
		v.Rows = append(v.Rows, rowView{
			Top: y, Height: h, Y: y + h/2,
			Stripe: i%2 == 1,
			Seq:    e.Seq,
			Time:   e.At.Format("15:04:05.000000"),
			X:      x,
			Family: familyOf(e.Kind),
			Paired: len(partners[i]) > 0,
			Label:  label,
		})
		y += h
	}
	v.Height = y + diagramPad

	for _, a := range arrows {
		from, to := v.Rows[a.from], v.Rows[a.to]
		x1, y1, x2, y2 := float64(from.X), float64(from.Y), float64(to.X), float64(to.Y)
		d := math.Hypot(x2-x1, y2-y1)
		ux, uy := (x2-x1)/d, (y2-y1)/d
		v.Arrows = append(v.Arrows, arrowView{
			X1: round1(x1 + ux*diagramMarker), Y1: round1(y1 + uy*diagramMarker),
			X2: round1(x2 - ux*(diagramMarker+1)), Y2: round1(y2 - uy*(diagramMarker+1)),
			Family: familyOf(events[a.from].Kind),
		})
	}

	v.Summary = fmt.Sprintf("%d events · %d realms · %d arrows", len(events), len(realms), len(arrows))
	return v
}

// diagramGeometry returns the room for labels beside the outer lanes and the
// distance between lanes, for n lanes: roomy up to four lanes, then narrower,
// so that six lanes fit in a window 1400 pixels wide.
func diagramGeometry(n int) (margin, step int) {
	if n <= 4 {
		return 300, 220
	}
	margin = 200
	return margin, max(150, (diagramFit-diagramGutter-2*margin)/(n-1))
}

// labelFor returns the text of an event's label; placeLabel places it.
func labelFor(e trace.Event, events []trace.Event, partners []int) labelView {
	port := "#-"
	if e.Port != 0 {
		port = "#" + strconv.Itoa(e.Port)
	}
	l := labelView{Head: fmt.Sprintf("%s %s %s", e.Kind, port, strconv.Quote(e.Name)), DetailClass: "json", Lines: 1}
	if !e.Kind.IsPort() {
		l.Head = fmt.Sprintf("%s %s", e.Kind, port)
		if e.Listener != 0 {
			l.Head += fmt.Sprintf(" (listener %d)", e.Listener)
		}
	}
	switch e.Kind {
	case trace.KindSendMessage, trace.KindOnMessage, trace.KindOnMessageExternal, trace.KindOnUserScriptMessage, trace.KindReply, trace.KindResponse:
		l.Detail = shorten(string(e.Message), 300)
		if len(e.Message) == 0 {
			l.Detail, l.DetailClass = "undefined", "none"
		}
		if e.Error != "" {
			l.Detail, l.DetailClass = e.Error, "err"
		}
	case trace.KindKeepOpen:
		l.Detail, l.DetailClass = "returned "+e.Call, "none"
		if e.Call == "promise" {
			l.Detail = "returned a promise"
		}
	case trace.KindPost, trace.KindMessage:
		l.Detail = shorten(string(e.Message), 300)
		if len(e.Message) == 0 {
			l.Detail = "undefined"
		}
	case trace.KindOnConnect, trace.KindOnConnectExternal, trace.KindOnUserScriptConnect:
		if url := senderURL(e); url != "" {
			l.Detail = "from " + shorten(url, 300)
		}
	case trace.KindOnDisconnect:
		l.Detail, l.DetailClass = e.LastError, "err"
		if e.LastError == "" {
			l.Detail, l.DetailClass = "no lastError", "none"
		}
	case trace.KindException:
		l.Head = fmt.Sprintf("exception in %s %s", e.Call, port)
		l.Detail, l.DetailClass = e.Error, "err"
	}

	var tip strings.Builder
	fmt.Fprintf(&tip, "#%d %s %s %s", e.Seq, e.At.Format("15:04:05.000000"), e.Kind, e.PortRef())
	if e.Kind.IsPort() {
		fmt.Fprintf(&tip, "\nname: %s", strconv.Quote(e.Name))
	} else if e.Call != "" {
		fmt.Fprintf(&tip, "\nvia: %s", e.Call)
	}
	if len(e.To) > 0 {
		fmt.Fprintf(&tip, "\nto: %s", e.To)
	}
	if e.Error != "" && e.Kind != trace.KindException {
		fmt.Fprintf(&tip, "\nerror: %s", e.Error)
	}
	if len(e.Message) > 0 {
		fmt.Fprintf(&tip, "\nmessage: %s", e.Message)
	}
	if len(e.Sender) > 0 {
		fmt.Fprintf(&tip, "\nsender: %s", e.Sender)
	}
	if e.Kind == trace.KindOnDisconnect {
		fmt.Fprintf(&tip, "\nlastError: %s", cmp.Or(e.LastError, "(none)"))
	}
	if e.Kind == trace.KindException {
		fmt.Fprintf(&tip, "\ncall: %s\nerror: %s", e.Call, e.Error)
	}
	for _, j := range partners {
		fmt.Fprintf(&tip, "\nwith #%d %s in %s", events[j].Seq, events[j].Kind, events[j].PortRef())
	}
	l.Tooltip = tip.String()
	return l
}

// placeLabel puts a label beside its marker at x, on the side away from its
// partners (their arrows leave from the other side), or on the roomier side
// when it has none or some on each side. Red details wrap onto up to three
// lines; the rest is cut to the room there is.
func placeLabel(l *labelView, x, width int, partners []int, partnerX func(int) int) {
	left, right := false, false
	for _, j := range partners {
		left = left || partnerX(j) < x
		right = right || partnerX(j) > x
	}
	roomLeft := x - diagramLabelGap - diagramGutter - 8
	roomRight := width - x - diagramLabelGap - 8
	l.OnRight = roomRight >= roomLeft
	if left != right {
		l.OnRight = left
	}
	room := roomLeft
	if l.OnRight {
		room = roomRight
	}
	room = min(room, diagramLabelMax)

	// The label is as wide as its longest line, up to the room.
	l.MaxWidth = room
	if l.DetailClass == "err" {
		l.Lines = min(wrappedLines(l.Detail, int(float64(room-10)/diagramCharW)), 3)
	}
	l.Offset = x + diagramLabelGap
	if !l.OnRight {
		l.Offset = width - (x - diagramLabelGap)
	}
}

// height returns the height of the label's box.
func (l labelView) height() int {
	if l.Detail == "" {
		return 4 + diagramLine
	}
	return 4 + diagramLine*(1+l.Lines)
}

// wrappedLines returns how many lines of perLine characters s takes when
// wrapped at spaces, as the browser wraps it; a long word is broken.
func wrappedLines(s string, perLine int) int {
	perLine = max(perLine, 1)
	lines, used := 1, 0
	for _, word := range strings.Fields(s) {
		n := utf8.RuneCountInString(word)
		switch {
		case used == 0:
			used = n
		case used+1+n <= perLine:
			used += 1 + n
		default:
			lines++
			used = n
		}
		for used > perLine {
			lines++
			used -= perLine
		}
	}
	return lines
}

// shorten cuts s to at most n runes, ending it with "…" when cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
