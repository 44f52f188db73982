// Package matchers holds portprobe's Gomega matchers on a trace: HaveEvent
// and HaveEventsInOrder. It is the one package of portprobe that imports
// Gomega, besides the testing package probetest.
//
//	Eventually(b.Trace()).Should(matchers.HaveEvent(
//		trace.OnConnect().In(worker).Named("port-from-cs")))
//
// A failure names each expected event as found or MISSING, shows the events
// closest to a missing one, and prints the whole trace.
package matchers
