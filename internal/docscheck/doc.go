// Package docscheck holds tests that keep the prose documentation true to
// the code: the worked examples of docs/promotions.md are run through the
// real `cartstream evaluate`, and every `cartstream` command line in the
// operator documentation uses flags that command has.
//
// It has no code of its own; it is never imported.
package docscheck
