package specs

// A spec file as the suite writes them, for source_test.go: a Chrome
// difference in a "Catalog:" comment, Firefox's in a branch on the engine.

var _ = Describe("port names", Label("naming"), func() {
	DescribeTable("must be strings",
		Label("RN-05", "firefox-differs"),
		func(ctx SpecContext, name string) {
			want := "TypeError"
			if w.b.Engine() == Firefox {
				// Firefox throws a plain Error that shows the value.
				want = "Error"
			}
			Expect(err).To(MatchError(want))
		},
		Entry("42", "42"),
		Entry("1.5", "1.5"),
	)

	// Catalog: "found number". Chrome 156: "found integer".
	It("must be strings for tabs.connect too", Label("RN-05", "differs"), func(ctx SpecContext) {
		// A comment that says nothing of a browser.
		Expect(err).To(HaveOccurred())
	})
})
