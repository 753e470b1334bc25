package viz

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attn-go/attn/tensor"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// findBrowser returns a Chromium binary on PATH, or "".
func findBrowser() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserPage builds a page of 2 layers × 3 heads over 10 tokens (one of
// them hostile) whose heads attend to different positions, and returns it
// with its weights.
func browserPage(t *testing.T) (path string, tokens []string, weights [2][3]*tensor.Tensor) {
	tokens = []string{"<s>", "The", " cat", "</script><script>window.__pwned=1;alert(1)</script>", " on", " the", "\n", "mat", "é日本🙂", "."}
	T := len(tokens)
	p, err := NewPage(tokens, tokens, PageOptions{Title: "browser test"})
	if err != nil {
		t.Fatal(err)
	}
	for l := range 2 {
		for h := range 3 {
			w := tensor.Must(tensor.New(T, T))
			for i := range T {
				// Causal rows: most weight on one earlier key that depends on
				// the layer and head, the rest spread evenly.
				target := (i * (l + h + 1)) % (i + 1)
				if l == 1 {
					target = max(0, i-h)
				}
				rest := 0.3 / float32(i+1)
				for j := 0; j <= i; j++ {
					w.Set(rest, i, j)
				}
				w.Set(0.7+rest, i, target)
			}
			weights[l][h] = w
			if err := p.Add(l, h, w); err != nil {
				t.Fatal(err)
			}
		}
	}
	path = filepath.Join(t.TempDir(), "page.html")
	if err := p.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path, tokens, weights
}

// expectLines counts the lines the head view should draw: weights of at
// least 0.01 (the default minimum) of the given heads, only for query row
// q when q >= 0.
func expectLines(ws [3]*tensor.Tensor, heads []int, q int) int {
	n := 0
	for _, h := range heads {
		w := ws[h]
		for i := range w.Dim(0) {
			if q >= 0 && i != q {
				continue
			}
			for j := range w.Dim(1) {
				if quantize(float64(w.At(i, j))) >= 100 {
					n++
				}
			}
		}
	}
	return n
}

// TestBrowser opens a generated page in headless Chromium and drives it:
// no console errors or exceptions, the layer selector and head checkboxes
// change the lines drawn, hovering a token focuses its lines, clicking a
// thumbnail enlarges it, and the screenshot is not blank.
func TestBrowser(t *testing.T) {
	bin := findBrowser()
	if bin == "" && os.Getenv("ATTN_REQUIRE_BROWSER") != "" {
		t.Fatal("ATTN_REQUIRE_BROWSER is set (as CI does) but no Chromium is on PATH")
	}
	if bin == "" {
		t.Skip("no Chromium on PATH (looked for chromium, chromium-browser, google-chrome): install Debian's chromium package (apt-get install -y chromium) to run this test")
	}
	path, tokens, weights := browserPage(t)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 1400),
	)
	defer acancel()

	var mu sync.Mutex
	var problems []string
	report := func(s string) {
		mu.Lock()
		problems = append(problems, s)
		mu.Unlock()
	}
	var bctx context.Context
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			report(fmt.Sprintf("exception at %d:%d: %s", e.ExceptionDetails.LineNumber, e.ExceptionDetails.ColumnNumber, msg))
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				report("console." + string(e.Type) + ": " + strings.Join(parts, " "))
			}
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError {
				report("log error: " + e.Entry.Text + " " + e.Entry.URL)
			}
		case *page.EventJavascriptDialogOpening:
			report("a dialog opened: " + e.Message)
			go func() {
				_, _ = chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
			}()
		}
	}))
	defer bcancel()

	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("%s: %v (browser problems so far: %q)", what, err, problems)
		}
	}
	lines := func() []string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#hv line")].map(l =>
			[l.dataset.h, l.dataset.q, l.dataset.k, l.getAttribute("stroke-opacity")].join(":"))`))
		must("reading the lines", err)
		return v
	}
	centre := func(sel string) (x, y float64) {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[[]float64](`(() => {
			const e = document.querySelector(`+fmt.Sprintf("%q", sel)+`);
			e.scrollIntoView({block: "center"});
			const r = e.getBoundingClientRect();
			return [r.left + r.width / 2, r.top + r.height / 2];
		})()`))
		must("locating "+sel, err)
		return v[0], v[1]
	}

	must("opening the page", chromedp.Do(bctx,
		chromedp.Navigate("file://"+path),
		chromedp.WaitReady(chromedp.CSS("#hv line")),
	))

	// The last layer is shown first, with every head.
	last := lines()
	if want := expectLines(weights[1], []int{0, 1, 2}, -1); len(last) != want {
		t.Errorf("layer 1: %d lines, want %d", len(last), want)
	}
	// Another layer draws other lines.
	must("choosing layer 0", chromedp.Do(bctx,
		chromedp.SetValue(chromedp.CSS("#layer"), "0"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("layer").dispatchEvent(new Event("change"))`),
	))
	first := lines()
	if want := expectLines(weights[0], []int{0, 1, 2}, -1); len(first) != want {
		t.Errorf("layer 0: %d lines, want %d", len(first), want)
	}
	if strings.Join(first, ",") == strings.Join(last, ",") {
		t.Error("changing the layer did not change the lines")
	}
	// Unchecking head 1 removes its lines.
	must("unchecking head 1", chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`#heads input[data-head="1"]`))))
	twoHeads := lines()
	if want := expectLines(weights[0], []int{0, 2}, -1); len(twoHeads) != want {
		t.Errorf("heads 0 and 2: %d lines, want %d", len(twoHeads), want)
	}
	for _, l := range twoHeads {
		if strings.HasPrefix(l, "1:") {
			t.Fatalf("head 1 unchecked but line %s drawn", l)
		}
	}
	// Hovering query token 5 leaves only its lines; leaving restores all.
	x, y := centre(`#hv text.q[data-i="5"]`)
	must("hovering a token", chromedp.Do(bctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y)))
	focused := lines()
	if want := expectLines(weights[0], []int{0, 2}, 5); len(focused) != want || want == 0 {
		t.Errorf("hovering query 5: %d lines, want %d", len(focused), want)
	}
	for _, l := range focused {
		if strings.Split(l, ":")[1] != "5" {
			t.Errorf("hovering query 5 shows line %s", l)
		}
	}
	must("leaving the token", chromedp.Do(bctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x+600, y)))
	if n := len(lines()); n != len(twoHeads) {
		t.Errorf("after the hover: %d lines, want %d", n, len(twoHeads))
	}

	// The hostile token is text on the page, not markup.
	shown, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('#hv text.q[data-i="3"]').textContent`))
	must("reading token 3", err)
	if shown != DisplayLabel(tokens[3]) {
		t.Errorf("token 3 shown as %q, want %q", shown, DisplayLabel(tokens[3]))
	}
	pwned, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.__pwned !== undefined`))
	must("checking for injected script", err)
	if pwned {
		t.Error("a token's markup ran as script")
	}

	// Model view: one thumbnail per layer and head; hover names it, click
	// enlarges it.
	nThumbs, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#grid canvas").length`))
	must("counting thumbnails", err)
	if nThumbs != 6 {
		t.Errorf("%d thumbnails, want 6", nThumbs)
	}
	hidden, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.getElementById("zoom").hidden`))
	must("reading the zoom state", err)
	if !hidden {
		t.Error("the enlarged view is open before any click")
	}
	const thumb = `#grid canvas[data-layer="1"][data-head="2"]`
	x, y = centre(thumb)
	must("hovering a thumbnail", chromedp.Do(bctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y)))
	info, err := chromedp.Run(bctx, chromedp.TextContent(chromedp.CSS("#mvinfo")))
	must("reading the model view info", err)
	if !strings.Contains(info, "layer 1, head 2") {
		t.Errorf("hovering the thumbnail shows %q", info)
	}
	must("clicking a thumbnail", chromedp.Do(bctx, chromedp.MouseClickXY(x, y), chromedp.WaitVisible(chromedp.CSS("#zoomcanvas"))))
	title, err := chromedp.Run(bctx, chromedp.TextContent(chromedp.CSS("#zoomtitle")))
	must("reading the zoom title", err)
	if title != "layer 1, head 2" {
		t.Errorf("enlarged view titled %q, want %q", title, "layer 1, head 2")
	}
	colours, err := chromedp.Run(bctx, chromedp.Evaluate[int](`(() => {
		const c = document.getElementById("zoomcanvas");
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		const s = new Set();
		for (let i = 0; i < d.length; i += 4) s.add(d[i] << 16 | d[i + 1] << 8 | d[i + 2]);
		return s.size;
	})()`))
	must("reading the enlarged canvas", err)
	if colours < 4 {
		t.Errorf("the enlarged head has %d colours; want a drawn matrix", colours)
	}

	// The screenshot is not blank.
	must("scrolling to the top", chromedp.Do(bctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)))
	shot, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
	must("taking a screenshot", err)
	img, err := png.Decode(bytes.NewReader(shot))
	must("decoding the screenshot", err)
	if n := distinctColours(img); n < 16 {
		t.Errorf("the screenshot has %d distinct colours: blank or nearly", n)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser: %s", p)
	}
}

func distinctColours(img image.Image) int {
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	return len(seen)
}
