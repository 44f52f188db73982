package compat

// This file maps catalog behaviors onto browser-compat-data's features.

import (
	"regexp"
	"strings"
)

// Every catalog behavior is finer than any feature browser-compat-data has:
// BCD records that runtime.connect exists, not that it returns its Port
// synchronously. So each behavior becomes a sub-feature of the nearest real
// BCD feature, the one whose page on MDN would describe it. bcdParents says
// which feature that is for each ID prefix, and bcdParentOf for the IDs whose
// nearest feature is another one. bcd_test.go checks that every parent named
// here is a feature of browser-compat-data (testdata/bcd/features.txt).
//
// BCD has no feature for Port's methods and events (postMessage, disconnect,
// onDisconnect, name): their behaviors go under runtime.Port itself.
var bcdParents = map[string]string{
	"RC": "webextensions.api.runtime.connect",
	"RN": "webextensions.api.runtime.Port",
	"RS": "webextensions.api.runtime.MessageSender",
	"RM": "webextensions.api.runtime.Port",
	"RD": "webextensions.api.runtime.Port",
	"RL": "webextensions.api.runtime.Port",
	"RX": "webextensions.api.runtime.onConnectExternal",
	"RT": "webextensions.api.tabs.connect",
	"RE": "webextensions.api.runtime.connect",
	"RZ": "webextensions.api.runtime.Port",
	"MS": "webextensions.api.runtime.onMessage",
	"MX": "webextensions.api.runtime.onMessageExternal",
	"MT": "webextensions.api.runtime.sendMessage",
	"MN": "webextensions.api.runtime.connectNative",
	"MU": "webextensions.api.userScripts",
}

// bcdParentOf overrides bcdParents for single behaviors.
var bcdParentOf = map[string]string{
	// Connect basics that are about the receiving side.
	"RC-02": "webextensions.api.runtime.onConnect",
	"RC-03": "webextensions.api.runtime.onConnect",
	"RC-07": "webextensions.api.runtime.onConnect",
	"RC-12": "webextensions.api.runtime.onConnect",
	"RC-13": "webextensions.api.tabs.connect",
	"RN-06": "webextensions.api.tabs.connect",
	// Sender fields that BCD lists one by one.
	"RS-01": "webextensions.api.runtime.Port",
	"RS-03": "webextensions.api.runtime.MessageSender.url",
	"RS-04": "webextensions.api.runtime.MessageSender.origin",
	"RS-09": "webextensions.api.runtime.MessageSender.tab",
	"RS-11": "webextensions.api.runtime.MessageSender.tlsChannelId",
	// Native messaging and the web page's side of serialization.
	"RM-10": "webextensions.api.runtime.connectNative",
	"RM-11": "webextensions.api.runtime.connectNative",
	"RM-14": "webextensions.api.runtime.connect",
	"RD-06": "webextensions.api.runtime.lastError",
	// externally_connectable is a manifest key of its own in BCD.
	"RX-02": "webextensions.manifest.externally_connectable",
	"RX-03": "webextensions.manifest.externally_connectable",
	"RX-06": "webextensions.manifest.externally_connectable",
	"RX-08": "webextensions.manifest.externally_connectable",
	"RX-11": "webextensions.manifest.externally_connectable",
	"RX-13": "webextensions.api.runtime.onUserScriptConnect",
	"RE-05": "webextensions.api.runtime.Port",
	"RE-06": "webextensions.api.runtime.Port",
	"RE-08": "webextensions.api.runtime.sendMessage",
	"RZ-02": "webextensions.api.runtime",
	"RZ-03": "webextensions.api.runtime.onMessage",
	"RZ-04": "webextensions.api.runtime.connect",
	// One-time messages: the sending side.
	"MS-01": "webextensions.api.runtime.sendMessage",
	"MS-02": "webextensions.api.runtime.sendMessage",
	"MS-03": "webextensions.api.runtime.sendMessage",
	"MS-04": "webextensions.api.runtime.sendMessage",
	"MX-09": "webextensions.manifest.externally_connectable",
	"MX-12": "webextensions.manifest.externally_connectable",
	"MT-03": "webextensions.api.tabs.sendMessage",
	"MT-04": "webextensions.api.tabs.sendMessage",
	"MT-05": "webextensions.api.tabs.sendMessage",
	"MT-06": "webextensions.api.tabs.sendMessage",
	"MT-07": "webextensions.api.tabs.sendMessage",
	"MT-16": "webextensions.api.tabs.sendMessage",
	"MN-01": "webextensions.api.runtime.sendNativeMessage",
	"MN-02": "webextensions.api.runtime.sendNativeMessage",
	"MN-03": "webextensions.api.runtime.sendNativeMessage",
	"MN-04": "webextensions.api.runtime.sendNativeMessage",
	"MN-05": "webextensions.api.runtime.sendNativeMessage",
	"MU-03": "webextensions.api.runtime.onUserScriptMessage",
	"MU-05": "webextensions.api.runtime.onUserScriptConnect",
	"MU-06": "webextensions.api.runtime.onUserScriptMessage",
}

// BCDParent returns the browser-compat-data feature, as a dotted path, under
// which the behavior id goes; "" for an ID whose prefix has no feature.
func BCDParent(id string) string {
	if p, ok := bcdParentOf[id]; ok {
		return p
	}
	prefix, _, _ := strings.Cut(id, "-")
	return bcdParents[prefix]
}

// maxKeyLen bounds a feature key made from a title, cut at a word.
const maxKeyLen = 60

var (
	codeSpan  = regexp.MustCompile("`[^`]*`")
	nonKey    = regexp.MustCompile(`[^a-z0-9]+`)
	leadWords = regexp.MustCompile(`^(the|a|an)_`)
)

// BCDKey returns the sub-feature name of a behavior with this catalog title,
// in BCD's style: snake_case, letters and digits only, at most 60
// characters, cut at a word. Code in backticks keeps its words
// ("`onConnect` fires asynchronously" gives "onconnect_fires_asynchronously").
func BCDKey(title string) string {
	s := codeSpan.ReplaceAllStringFunc(title, func(c string) string { return strings.Trim(c, "`") })
	s = strings.Trim(nonKey.ReplaceAllString(strings.ToLower(s), "_"), "_")
	s = leadWords.ReplaceAllString(s, "")
	for len(s) > maxKeyLen {
		i := strings.LastIndex(s[:maxKeyLen+1], "_")
		if i <= 0 {
			s = s[:maxKeyLen]
			break
		}
		s = s[:i]
	}
	if s == "" {
		return "behavior"
	}
	return s
}
