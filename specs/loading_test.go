package specs_test

import (
	"context"
	"errors"
	"github.com/portprobe/portprobe/manifest"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/portprobe/portprobe/harness"
)

// writeExtension writes files (name -> content) into a new temporary folder
// and returns it.
func writeExtension(files map[string]string) string {
	GinkgoHelper()
	dir := GinkgoT().TempDir()
	for name, content := range files {
		Expect(os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)).To(Succeed())
	}
	return dir
}

const okWorker = `chrome.runtime.onConnect.addListener(() => {});`

// The harness's answers to bad input: each names the cause, none hangs.
var _ = Describe("Loading extensions", Label("harness", "loading"), func() {
	var b *Browser

	BeforeEach(func(ctx SpecContext) {
		b = launch(ctx)
	})

	// Firefox reads the same folders with its own rules and words
	// (firefoxSays; "" where Firefox loads it).
	DescribeTable("a broken extension fails with the folder's name and Chrome's own message",
		func(ctx SpecContext, files map[string]string, chromeSays string, hint string, firefoxSays string) {
			dir := GinkgoT().TempDir() + "/missing"
			if files != nil {
				dir = writeExtension(files)
			}
			_, err := b.LoadExtension(ctx, dir)
			if b.Engine() == Firefox && firefoxSays == "" {
				Expect(err).NotTo(HaveOccurred())
				return
			}
			Expect(err).To(HaveOccurred())
			var loadErr *ExtensionLoadError
			Expect(errors.As(err, &loadErr)).To(BeTrue(), "an *ExtensionLoadError, got %T: %v", err, err)
			Expect(err.Error()).To(ContainSubstring(dir))
			if b.Engine() == Firefox {
				Expect(loadErr.Chrome).To(ContainSubstring(firefoxSays))
				return
			}
			Expect(loadErr.Chrome).To(ContainSubstring(chromeSays))
			Expect(loadErr.Hint).To(ContainSubstring(hint))
		},
		// Firefox's messages are its installer's exceptions, as is.
		Entry("a folder that does not exist", Label("firefox-differs"), nil,
			"File path cannot be resolved.", "", "(NS_ERROR_FILE_NOT_FOUND)"),
		Entry("a manifest that is not JSON", Label("firefox-differs"),
			map[string]string{"manifest.json": `{"manifest_version": 3, "name": "x",`},
			"Manifest is not valid JSON.", "", "SyntaxError: JSON.parse: end of data when property name was expected at line 1 column 37 of the JSON data"),
		// Firefox refuses a Manifest V3 service worker before it looks
		// for the file: it runs background.scripts as an event page
		// (toolkit/components/extensions/Extension.sys.mjs).
		Entry("a service worker file that does not exist", Label("firefox-differs"),
			map[string]string{"manifest.json": `{"manifest_version": 3, "name": "x", "version": "1", "background": {"service_worker": "gone.js"}}`},
			"Could not load background script", "gone.js", "Error: background.service_worker is currently disabled. Add background.scripts."),
		// Firefox still loads Manifest V2 extensions.
		Entry("a Manifest V2 extension", Label("firefox-differs"),
			map[string]string{"manifest.json": `{"manifest_version": 2, "name": "x", "version": "1", "background": {"scripts": ["bg.js"]}}`, "bg.js": okWorker},
			"Cannot install extension because it uses an unsupported manifest version.", "", ""),
	)

	It("fails Launch itself with the same error, and leaves no browser behind", func(ctx SpecContext) {
		dir := writeExtension(map[string]string{"manifest.json": `not json`})
		_, err := Launch(ctx, Options{Browser: b.Engine(), Extensions: []string{dir}, Logf: GinkgoWriter.Printf})
		var loadErr *ExtensionLoadError
		Expect(errors.As(err, &loadErr)).To(BeTrue(), "an *ExtensionLoadError, got %v", err)
		Expect(err.Error()).To(ContainSubstring(dir))
	})

	It("fails at once when the Chrome binary does not exist", func(ctx SpecContext) {
		if b.Engine() == Firefox {
			_, err := Launch(ctx, Options{Browser: Firefox, FirefoxPath: "/nonexistent/firefox", Logf: GinkgoWriter.Printf})
			Expect(err).To(MatchError(ContainSubstring(`"/nonexistent/firefox"`)))
			return
		}
		_, err := Launch(ctx, Options{ChromePath: "/nonexistent/chrome", Logf: GinkgoWriter.Printf})
		Expect(err).To(MatchError(ContainSubstring(`"/nonexistent/chrome"`)))
	})

	It("names the loaded extensions when asked for one that is not loaded", func(ctx SpecContext) {
		must(b.LoadExtension(ctx, fixture("mdn-example")))
		_, err := b.Extension("no-such-extension")
		Expect(err).To(MatchError(And(ContainSubstring(`"no-such-extension"`), ContainSubstring(`"mdn-example"`))))
	})

	It("gives the known ID before launch for a folder without a key", Label("firefox-differs"), func(ctx SpecContext) {
		want := must(manifest.PredictID(fixture("mdn-example")))
		ext := must(b.LoadExtension(ctx, fixture("mdn-example")))
		if b.Engine() == Firefox {
			// Firefox's ID is the manifest's
			// browser_specific_settings.gecko.id, not one derived from
			// the folder.
			Expect(ext.ID).To(Equal("mdn-example@portprobe.test"))
			Expect(ext.ID).NotTo(Equal(want))
			return
		}
		Expect(ext.ID).To(Equal(want))
	})

	It("gives the known ID before launch from the manifest key", Label("firefox-differs"), func(ctx SpecContext) {
		key, id, _, err := manifest.NewKey()
		Expect(err).NotTo(HaveOccurred())
		dir := writeExtension(map[string]string{
			"manifest.json": `{"manifest_version": 3, "name": "keyed", "version": "1", "key": "` + key + `"}`,
		})
		Expect(must(manifest.PredictID(dir))).To(Equal(id))
		ext := must(b.LoadExtension(ctx, dir))
		if b.Engine() == Firefox {
			// Firefox ignores "key": a temporary add-on without a gecko
			// ID gets one made from a hash of its path and a secret of the
			// session, "<40 hex digits>@temporary-addon"
			// (toolkit/mozapps/extensions/internal/XPIInstall.sys.mjs,
			// generateTemporaryInstallID).
			Expect(ext.ID).To(MatchRegexp(`^[0-9a-f]{40}@temporary-addon$`))
			return
		}
		Expect(ext.ID).To(Equal(id))
	})

	It("reports a closed tab and a gone realm clearly instead of hanging", func(ctx SpecContext) {
		ext := must(b.LoadExtension(ctx, fixture("mdn-example")))
		tab := must(b.OpenTab(ctx, b.Pages().URL("/")))
		cs := must(ext.ContentScript(ctx, tab))
		Expect(tab.Close(ctx)).To(Succeed())

		Expect(tab.Navigate(ctx, b.Pages().URL("/again"))).To(MatchError(ContainSubstring(tab.String())))
		_, err := cs.Connect(ctx, map[string]any{"name": "late"})
		Expect(err).To(MatchError(ErrRealmGone))

		short, cancel := context.WithTimeout(ctx, 300_000_000) // 0.3 s
		defer cancel()
		_, err = ext.ContentScript(short, tab)
		Expect(err).To(MatchError(And(ContainSubstring("content script of"), ContainSubstring(tab.String()), ContainSubstring("trace so far"))))
	})
})
