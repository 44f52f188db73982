package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseTraceFlagsMaxEvents(t *testing.T) {
	var out bytes.Buffer
	_, f, err := parseTraceFlags([]string{"ext", "--max-events", "5000"}, &out)
	if err != nil || f.maxEvents != 5000 {
		t.Fatalf("--max-events 5000: maxEvents %d, err %v; want 5000, nil", f.maxEvents, err)
	}
	if _, f, err = parseTraceFlags([]string{"ext"}, &out); err != nil || f.maxEvents != 0 {
		t.Fatalf("no --max-events: maxEvents %d, err %v; want 0 (keep all), nil", f.maxEvents, err)
	}
	if _, _, err := parseTraceFlags([]string{"ext", "--max-events", "-1"}, &out); err == nil || !strings.Contains(err.Error(), "--max-events -1") {
		t.Errorf("--max-events -1: err %v, want one naming the flag", err)
	}
}
