// Package trace is portprobe's event model: what happened to a port or a
// one-time message in which realm, in one ordered Trace, and the queries that
// find events in it.
//
// The core (package harness) fills a trace from the probes it installs in
// every realm of an extension; anything else can too (Add, AddBatch), so a
// trace read back from trace.json, or made by hand in a test, is queried the
// same way. An event's realm is a Source: a *harness.Realm, or a Place.
//
// A Query is built from the kind of event it expects, named as the kind is
// (Connect, OnConnect, Post, Message, Disconnect, OnDisconnect, Exception,
// SendMessage, Response, OnMessage, Reply, KeepOpen, ...), and narrowed by
// methods that read like the behavior:
//
//	trace.OnConnect().In(worker).Named("port-from-cs").WithSender("frameId", 0)
//
// Wait blocks until an event matches; the Gomega matchers of package
// matchers check a trace in a test.
package trace
