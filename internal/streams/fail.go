package streams

import "github.com/lovoo/goka"

// Fail stops the partition of a callback that cannot finish its record:
// the record is not marked as done, so it is read again by whichever
// instance processes the partition next. Callbacks call Fail, never
// goka's Context.Fail directly (TestCallbacksFailThroughStreams).
//
// goka v1.1.14's Context.Fail panics to abort the callback only while the
// partition is running. Once the partition is stopping (a rebalance, a
// shutdown, another partition's failure) it records the error and returns,
// the callback carries on, and when it returns goka marks the record as
// done: a dead letter whose write failed, or a state read that failed,
// was committed as if processed. make chaos found it (seed 20261122: an
// injected bad record whose dead-letter write was cancelled by a
// rebalance was never dead-lettered; the partition resumed after it).
// Fail therefore panics itself when Context.Fail returns. goka recovers
// the panic in the partition processor and reports it as the partition's
// error; the record's offset is never marked.
func Fail(ctx goka.Context, err error) {
	ctx.Fail(err)
	panic(&failedRecord{err: err})
}

// failedRecord is the panic value of Fail once goka returned from
// Context.Fail; its message is what goka reports.
type failedRecord struct{ err error }

func (f *failedRecord) Error() string {
	return "record failed while its partition was stopping: " + f.err.Error()
}

func (f *failedRecord) Unwrap() error { return f.err }
