package harness

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"
)

// The faults the harness injects: each is one call, and afterwards the realms
// of what went away are Gone while new ones (a restarted worker, a reloaded
// page) are found and probed again on their own.

// swState follows the ServiceWorker domain of the browser's first tab, which
// sees the extensions' workers too.
type swState struct {
	once     sync.Once
	err      error
	mu       sync.Mutex
	versions map[string]*serviceworker.Version // by version ID
	regs     map[serviceworker.RegistrationID]string
	changed  chan struct{} // closed and replaced at each update
}

func (s *swState) updated() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (b *Browser) serviceWorkers(ctx context.Context) (*swState, error) {
	s := &b.sw
	s.once.Do(func() {
		s.versions = map[string]*serviceworker.Version{}
		s.regs = map[serviceworker.RegistrationID]string{}
		s.changed = make(chan struct{})
		if err := chromedp.Listen(b.ctx, func(ev any) {
			s.mu.Lock()
			defer s.mu.Unlock()
			switch ev := ev.(type) {
			case *serviceworker.EventWorkerVersionUpdated:
				for _, v := range ev.Versions {
					s.versions[v.VersionID] = v
					b.workerStatus(v)
				}
			case *serviceworker.EventWorkerRegistrationUpdated:
				for _, r := range ev.Registrations {
					s.regs[r.RegistrationID] = r.ScopeURL
				}
			default:
				return
			}
			close(s.changed)
			s.changed = make(chan struct{})
		}); err != nil {
			s.err = err
			return
		}
		_, s.err = callIn(ctx, b.ctx, serviceworker.Enable, cdp.Empty{})
	})
	if s.err != nil {
		return nil, fmt.Errorf("enabling the ServiceWorker domain: %w", s.err)
	}
	return s, nil
}

// StopWorker stops the extension's service worker, as Chrome does when it is
// idle (ServiceWorker.stopWorker). Its realm is gone afterwards; the next
// event that wakes the worker (a connect, a message) starts a new realm, and
// the harness probes it before its first line like the first one.
func (e *Extension) StopWorker(ctx context.Context) error {
	b := e.b
	ctx, cancel := b.bound(ctx)
	defer cancel()
	old, err := e.Worker(ctx)
	if err != nil {
		return fmt.Errorf("stopping the worker of %s: %w", e, err)
	}
	s, err := b.serviceWorkers(ctx)
	if err != nil {
		return fmt.Errorf("stopping the worker of %s: %w", e, err)
	}
	scope := "chrome-extension://" + e.ID + "/"
	var version string
	for version == "" {
		updated := s.updated()
		s.mu.Lock()
		for id, v := range s.versions {
			if strings.HasPrefix(s.regs[v.RegistrationID], scope) && v.RunningStatus == serviceworker.VersionRunningStatusRunning {
				version = id
			}
		}
		s.mu.Unlock()
		if version != "" {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopping the worker of %s: no running version reported by the ServiceWorker domain: %w", e, context.Cause(ctx))
		case <-updated:
		}
	}
	if _, err := callIn(ctx, b.ctx, serviceworker.StopWorker, serviceworker.StopWorkerParams{VersionID: version}); err != nil {
		return fmt.Errorf("stopping the worker of %s: %w", e, err)
	}
	select {
	case <-old.Done():
		return nil
	case <-ctx.Done():
		return &WaitError{What: "the old realm " + old.String() + " to go away after ServiceWorker.stopWorker", Cause: context.Cause(ctx), Detail: b.describeRealms(), Trace: b.trace.String()}
	}
}
