package replay

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Progress reports the progress of a replay or verify step.
type Progress interface {
	// Start begins a step of total units (records, operations).
	Start(label string, total int64)
	// Add counts n more units done.
	Add(n int64)
	// Done ends the step.
	Done()
	// Log prints a line between steps.
	Log(format string, args ...any)
}

type nopProgress struct{}

func (nopProgress) Start(string, int64) {}
func (nopProgress) Add(int64)           {}
func (nopProgress) Done()               {}
func (nopProgress) Log(string, ...any)  {}

// NewProgress returns a progress bar on w when w is a terminal, and plain
// lines (at most one a second, and at the end) otherwise.
func NewProgress(w io.Writer) Progress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barProgress{w: w}
	}
	return &lineProgress{w: w, every: time.Second}
}

// barProgress draws schollz/progressbar bars.
type barProgress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (b *barProgress) Start(label string, total int64) {
	b.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(b.w),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rec"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(b.w) }),
	)
}

func (b *barProgress) Add(n int64) {
	if b.bar != nil {
		_ = b.bar.Add64(n)
	}
}

func (b *barProgress) Done() {
	if b.bar != nil {
		_ = b.bar.Finish()
		b.bar = nil
	}
}

func (b *barProgress) Log(format string, args ...any) {
	if b.bar != nil {
		_ = b.bar.Clear()
	}
	fmt.Fprintf(b.w, format+"\n", args...)
}

// lineProgress prints "label: n/total" lines for logs and pipes.
type lineProgress struct {
	w     io.Writer
	every time.Duration

	mu          sync.Mutex
	label       string
	total, done int64
	start, last time.Time
}

func (l *lineProgress) Start(label string, total int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.label, l.total, l.done = label, total, 0
	l.start, l.last = time.Now(), time.Now()
	fmt.Fprintf(l.w, "%s: 0/%d\n", label, total)
}

func (l *lineProgress) Add(n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done += n
	if time.Since(l.last) >= l.every {
		l.last = time.Now()
		fmt.Fprintf(l.w, "%s: %d/%d\n", l.label, l.done, l.total)
	}
}

func (l *lineProgress) Done() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.label == "" {
		return
	}
	fmt.Fprintf(l.w, "%s: %d/%d done in %s\n", l.label, l.done, l.total, time.Since(l.start).Round(time.Millisecond))
	l.label = ""
}

func (l *lineProgress) Log(format string, args ...any) {
	fmt.Fprintf(l.w, format+"\n", args...)
}
