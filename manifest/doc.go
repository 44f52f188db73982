// Package manifest reads an extension's manifest.json (with the comments
// Chrome accepts) and works out extension IDs the way Chrome does: from a
// manifest key, from an unpacked extension's folder, or for a fresh key, so
// a test knows an extension's ID before the browser loads it.
package manifest
