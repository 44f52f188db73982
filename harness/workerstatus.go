package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/chromedp/cdproto/serviceworker"
	"github.com/portprobe/portprobe/trace"
)

// WorkerStatus is the running status of an extension's service worker, as
// Chrome's ServiceWorker domain reports it.
type WorkerStatus string

// The statuses a worker goes through: stopped, starting, running, stopping,
// stopped again.
const (
	WorkerStopped  WorkerStatus = WorkerStatus(serviceworker.VersionRunningStatusStopped)
	WorkerStarting WorkerStatus = WorkerStatus(serviceworker.VersionRunningStatusStarting)
	WorkerRunning  WorkerStatus = WorkerStatus(serviceworker.VersionRunningStatusRunning)
	WorkerStopping WorkerStatus = WorkerStatus(serviceworker.VersionRunningStatusStopping)
)

// WorkerChange is one change of a worker's running status, stamped when the
// harness received it.
type WorkerChange struct {
	Status WorkerStatus
	At     time.Time
	// Version is the ServiceWorker domain's version ID: a reloaded or
	// updated extension has a new one.
	Version string
}

// String formats the change on one line, such as
// "03:04:05.123 running (version 7)".
func (c WorkerChange) String() string {
	return fmt.Sprintf("%s %s (version %s)", c.At.Format("15:04:05.000"), c.Status, c.Version)
}

// GomegaString keeps Gomega's failure messages short.
func (c WorkerChange) GomegaString() string { return c.String() }

// recordWorkerStatus notes v's status when it changed. s.mu is held.
func (s *swState) recordWorkerStatus(v *serviceworker.Version, at time.Time) {
	id := extensionIDOf(v.ScriptURL)
	if id == "" {
		return
	}
	status := WorkerStatus(v.RunningStatus)
	if s.last[v.VersionID] == status {
		return
	}
	s.last[v.VersionID] = status
	s.history[id] = append(s.history[id], WorkerChange{Status: status, At: at, Version: v.VersionID})
}

// WorkerHistory returns the changes of the running status of the extension's
// service worker, oldest first, since the harness began to follow them
// through the ServiceWorker domain: at Launch with Options.IdleWorkers, and
// otherwise at the first call of WorkerHistory, WaitWorkerStatus or
// StopWorker (the domain costs Chrome a page of its own, so it is not
// opened unasked). The first change then is the status at that moment, and
// the first call can return nothing while the domain opens. With
// Options.IdleWorkers it shows Chrome stopping an idle worker and starting it
// again for the next event. Firefox reports no such status (its background
// is an event page): there the history is empty, and WaitWorkerStatus fails
// at once.
func (e *Extension) WorkerHistory() []WorkerChange {
	e.b.startControl()
	s := &e.b.sw
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]WorkerChange(nil), s.history[e.ID]...)
}

// WaitWorkerStatus waits until the latest status of the extension's service
// worker is status, and returns that change.
func (e *Extension) WaitWorkerStatus(ctx context.Context, status WorkerStatus) (WorkerChange, error) {
	ctx, cancel := e.b.bound(ctx)
	defer cancel()
	s, err := e.b.serviceWorkers(ctx)
	if err != nil {
		return WorkerChange{}, fmt.Errorf("waiting for the worker of %s to be %s: %w", e, status, err)
	}
	var h []WorkerChange // the history at the last check
	last, err := untilSW(ctx, e.b, s, func() (WorkerChange, bool, error) {
		h = e.WorkerHistory()
		if len(h) > 0 && h[len(h)-1].Status == status {
			return h[len(h)-1], true, nil
		}
		return WorkerChange{}, false, nil
	})
	if err == nil {
		return last, nil
	}
	var lines []string
	for _, c := range h {
		lines = append(lines, c.String())
	}
	return WorkerChange{}, &trace.WaitError{
		What:   fmt.Sprintf("the service worker of %s to be %s", e, status),
		Cause:  err,
		Detail: "its status so far: " + orNone(lines),
		Trace:  e.b.Trace().WaitText(),
	}
}

// waitWorkersStopped waits until no service worker version of the extension
// with this ID is starting, running or stopping.
func (b *Browser) waitWorkersStopped(ctx context.Context, id string) error {
	s, err := b.serviceWorkers(ctx)
	if err != nil {
		return err
	}
	var busy []string // at the last check
	_, err = untilSW(ctx, b, s, func() (struct{}, bool, error) {
		busy = nil
		s.mu.Lock()
		defer s.mu.Unlock()
		for vid, v := range s.versions {
			// A redundant version (the uninstalled one) still counts
			// until it has stopped.
			if extensionIDOf(v.ScriptURL) == id && v.RunningStatus != serviceworker.VersionRunningStatusStopped {
				busy = append(busy, fmt.Sprintf("version %s %s", vid, v.RunningStatus))
			}
		}
		return struct{}{}, len(busy) == 0, nil
	})
	if err != nil {
		return &trace.WaitError{
			What:   fmt.Sprintf("the service worker of the uninstalled extension %s to stop", id),
			Cause:  err,
			Detail: "still: " + orNone(busy),
			Trace:  b.Trace().WaitText(),
		}
	}
	return nil
}
