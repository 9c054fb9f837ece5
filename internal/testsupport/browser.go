package testsupport

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/assetgate/assetgate/storage/storagetest"
)

// ChromiumPath is where Debian's chromium package puts the browser;
// scripts/install-chromium.sh installs it.
const ChromiumPath = "/usr/bin/chromium"

// NewBrowser starts a headless Chromium with a fresh profile, for at most
// two minutes, and returns its chromedp context; it is closed when the test
// ends. The test skips when Chromium is not installed (fails when CI=true).
func NewBrowser(t *testing.T) context.Context {
	t.Helper()
	return NewBrowserFor(t, 2*time.Minute)
}

// NewBrowserFor is NewBrowser for at most d (a long walk through an
// application).
func NewBrowserFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	RequireTool(t, ChromiumPath, "scripts/install-chromium.sh")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	storagetest.LogRealPart(t, storagetest.PartChromium)
	return ctx
}
