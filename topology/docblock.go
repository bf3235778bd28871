package topology

import (
	"bytes"
	"fmt"
	"strings"
)

// Markers of a generated block in a Markdown document. Between a BEGIN
// marker naming a format and the next END marker, RewriteDoc puts the
// graph rendered in that format inside a code fence (```mermaid for
// Mermaid, so GitHub draws it). docs/architecture.md holds such blocks;
// `make docs` rewrites them and a test fails when they are stale.
const (
	docBeginPrefix = "<!-- BEGIN GENERATED: cartstream topology --format "
	docBeginSuffix = " (make docs rewrites this block) -->"
	docEnd         = "<!-- END GENERATED -->"
)

// DocBlockBegin returns the BEGIN marker of a generated block in format.
func DocBlockBegin(format string) string { return docBeginPrefix + format + docBeginSuffix }

// DocBlockEnd is the END marker of every generated block.
const DocBlockEnd = docEnd

// RewriteDoc returns doc with every generated block replaced by the graph
// rendered in the block's format. Text outside the blocks is kept byte for
// byte. A BEGIN marker without an END, or naming an unknown format, is an
// error.
func (t *Topology) RewriteDoc(doc []byte) ([]byte, error) {
	var out bytes.Buffer
	rest := doc
	for {
		i := bytes.Index(rest, []byte(docBeginPrefix))
		if i < 0 {
			out.Write(rest)
			return out.Bytes(), nil
		}
		lineEnd := bytes.IndexByte(rest[i:], '\n')
		if lineEnd < 0 {
			return nil, fmt.Errorf("topology: generated block at byte %d: BEGIN marker is the last line", len(doc)-len(rest)+i)
		}
		marker := string(rest[i : i+lineEnd])
		format, ok := strings.CutSuffix(strings.TrimPrefix(marker, docBeginPrefix), docBeginSuffix)
		if !ok {
			return nil, fmt.Errorf("topology: malformed generated-block marker %q", marker)
		}
		end := bytes.Index(rest[i+lineEnd:], []byte(docEnd))
		if end < 0 {
			return nil, fmt.Errorf("topology: generated block %q has no %s", marker, docEnd)
		}
		var body bytes.Buffer
		if err := t.Render(&body, format); err != nil {
			return nil, err
		}
		fence := "```"
		if format != FormatText {
			fence += format
		}
		out.Write(rest[:i+lineEnd+1])
		fmt.Fprintf(&out, "%s\n%s```\n", fence, body.Bytes())
		rest = rest[i+lineEnd+end:]
	}
}
