package specs_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/portprobe/portprobe/harness"
	. "github.com/portprobe/portprobe/matchers"
	. "github.com/portprobe/portprobe/trace"
)

// The example of MDN's runtime.connect() page (../shared/reference), run as an
// MV3 extension whose scripts are MDN's own, step by step.
var _ = Describe("The runtime.connect() example from MDN", Ordered, Label("mdn", "connect"), func() {
	var (
		b       *Browser
		ext     *Extension
		worker  *Realm
		tab     *Tab
		cs      *Realm
		pageURL string
	)

	BeforeAll(func(ctx SpecContext) {
		b = launch(ctx, fixture("mdn-example"))
		ext = must(b.Extension("mdn-example"))
		worker = must(ext.Worker(ctx))
		pageURL = b.Pages().URL("/")
		tab = must(b.OpenTab(ctx, pageURL))
		cs = must(ext.ContentScript(ctx, tab))
	})

	It("connects from the content script with the name port-from-cs and posts its greeting", func() {
		Eventually(b.Trace()).Should(HaveEventsInOrder(
			Connect().In(cs).Named("port-from-cs"),
			Post().In(cs).WithMessage(greeting("hello from content script")),
		))
	})

	It("fires onConnect in the worker with the name and the content script's tab as sender", func() {
		Eventually(b.Trace()).Should(HaveEvent(
			OnConnect().In(worker).Named("port-from-cs").
				WithSender("id", ext.ID).
				WithSender("url", pageURL).
				WithSender("frameId", 0).
				WithSender("tab.url", pageURL),
		))
	})

	It("delivers the greeting to the worker, after its onConnect", func() {
		// Not ordered against each other: the content script's post and the
		// worker's onConnect race (onConnect may well come first).
		Eventually(b.Trace()).Should(HaveEventsInOrder(
			Post().In(cs).WithMessage(greeting("hello from content script")),
			Message().In(worker).WithMessage(greeting("hello from content script")),
		))
		Expect(b.Trace()).To(HaveEventsInOrder(
			OnConnect().In(worker).Named("port-from-cs"),
			Message().In(worker).WithMessage(greeting("hello from content script")),
		))
	})

	It("answers from the worker with hi there content script!", func() {
		Eventually(b.Trace()).Should(HaveEventsInOrder(
			OnConnect().In(worker).Named("port-from-cs"),
			Post().In(worker).WithMessage(greeting("hi there content script!")),
			Message().In(cs).WithMessage(greeting("hi there content script!")),
		))
	})

	It("sends they clicked the page! when the user clicks the document", func(ctx SpecContext) {
		Expect(tab.Click(ctx, "body")).To(Succeed())
		Eventually(b.Trace()).Should(HaveEventsInOrder(
			Post().In(cs).WithMessage(greeting("they clicked the page!")),
			Message().In(worker).WithMessage(greeting("they clicked the page!")),
		))
	})

	It("sends they clicked the button! when the user clicks the toolbar action", func(ctx SpecContext) {
		Expect(ext.ClickAction(ctx, tab)).To(Succeed())
		Eventually(b.Trace()).Should(HaveEventsInOrder(
			Post().In(worker).WithMessage(greeting("they clicked the button!")),
			Message().In(cs).WithMessage(greeting("they clicked the button!")),
		))
	})

	It("keeps the port open through the whole exchange", func() {
		Consistently(b.Trace()).ShouldNot(HaveEvent(OnDisconnect()))
		Expect(b.Trace()).NotTo(HaveEvent(Exception()))
		AddReportEntry("trace", b.Trace().String())
	})
})
