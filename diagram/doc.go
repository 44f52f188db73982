// Package diagram draws a trace as a self-contained HTML sequence diagram:
// one lane per realm, an arrow from each connect, post, disconnect and
// one-time message to what it caused in another realm (Write), or as the
// same exchange in Mermaid's sequenceDiagram text, which GitHub renders in
// Markdown (WriteMermaid). It only reads events; harness.Browser.WriteArtifacts,
// portprobe trace and portprobe check call it.
package diagram
