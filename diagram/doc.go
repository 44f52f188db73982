// Package diagram draws a trace as a self-contained HTML sequence diagram:
// one lane per realm, an arrow from each connect, post, disconnect and
// one-time message to what it caused in another realm. It only reads events;
// harness.Browser.WriteArtifacts and portprobe trace call it.
package diagram
