// Package locate finds the browser binary to launch: Chrome or Chromium on
// PATH or in the usual install places of each operating system, including
// the Chrome for Testing builds that Puppeteer downloads, and tells its
// version. It only looks at the file system; it does not drive a browser.
package locate
