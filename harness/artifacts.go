package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/portprobe/portprobe/diagram"
)

// screenshotTimeout bounds the screenshot of one tab in WriteArtifacts.
const screenshotTimeout = 3 * time.Second

// WriteArtifacts writes what a person needs to see why a test failed into
// dir (created if needed), and returns the paths it wrote:
//
//   - trace.json: the trace's events;
//   - trace.html: the trace as a sequence diagram, one lane per realm;
//   - console.txt: console messages and uncaught exceptions of the realms;
//   - tabN.png: a screenshot of each open tab.
//
// It writes what it can and returns the errors of the rest joined.
func (b *Browser) WriteArtifacts(ctx context.Context, dir string) ([]string, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("writing artifacts: %w", err)
	}
	var paths []string
	var errs []error
	write := func(name string, data []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			errs = append(errs, fmt.Errorf("writing %s: %w", p, err))
			return
		}
		paths = append(paths, p)
	}
	tr := b.Trace()
	events := tr.Events()
	if data, err := json.MarshalIndent(events, "", "  "); err != nil {
		errs = append(errs, fmt.Errorf("encoding the trace: %w", err))
	} else {
		write("trace.json", data)
	}
	var html strings.Builder
	if err := diagram.Write(&html, "portprobe trace ("+b.version+")", events); err != nil {
		errs = append(errs, fmt.Errorf("drawing the trace: %w", err))
	} else {
		write("trace.html", []byte(html.String()))
	}
	var console strings.Builder
	for _, c := range tr.Console() {
		console.WriteString(c.String())
		console.WriteByte('\n')
	}
	if console.Len() == 0 {
		console.WriteString("(no console output from the traced realms)\n")
	}
	write("console.txt", []byte(console.String()))
	// A tab that is not its window's active one draws no frame, so its
	// screenshot never comes: each tab gets a few seconds, all at once.
	tabs := b.Tabs()
	shots := make([][]byte, len(tabs))
	shotErrs := make([]error, len(tabs))
	var wg sync.WaitGroup
	for i, t := range tabs {
		if t.ff != nil {
			wg.Go(func() {
				sctx, cancel := context.WithTimeout(ctx, screenshotTimeout)
				defer cancel()
				shots[i], shotErrs[i] = b.ff.screenshot(sctx, t)
				if shotErrs[i] != nil {
					shotErrs[i] = fmt.Errorf("screenshot of %s (%s): %w", t, t.URL(), shotErrs[i])
				}
			})
			continue
		}
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(ctx, screenshotTimeout)
			defer cancel()
			shot, err := callOn(sctx, t.main.sess, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng})
			if err != nil {
				shotErrs[i] = fmt.Errorf("screenshot of %s (%s): %w", t, t.URL(), t.callErr(sctx, err))
				return
			}
			shots[i] = shot.Data
		})
	}
	wg.Wait()
	for i, t := range tabs {
		if shotErrs[i] != nil {
			errs = append(errs, shotErrs[i])
			continue
		}
		write(t.String()+".png", shots[i])
	}
	if len(errs) > 0 {
		return paths, fmt.Errorf("writing artifacts to %s: %w", dir, errors.Join(errs...))
	}
	return paths, nil
}
