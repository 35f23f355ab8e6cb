package run

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// RecordWriter appends Records as JSON lines. It is safe for concurrent use.
// Lines are buffered and flushed at least every FlushInterval, and on Flush
// and Close, so an interrupted run loses no completed request that reached
// Write more than one interval before the interruption.
type RecordWriter struct {
	mu    sync.Mutex
	bw    *bufio.Writer
	lines sync.Pool // *recordLine: records are encoded outside mu
	limit int       // longest line written (maxWrittenLine)
	w     io.Writer
	n     int64
	err   error
	stop  chan struct{}
	done  chan struct{}
	close sync.Once
}

// FlushInterval is how often a RecordWriter flushes buffered lines.
const FlushInterval = 500 * time.Millisecond

// NewRecordWriter returns a RecordWriter appending to w. If w is an
// io.Closer, Close closes it.
func NewRecordWriter(w io.Writer) *RecordWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	rw := &RecordWriter{bw: bw, w: w, limit: maxWrittenLine, stop: make(chan struct{}), done: make(chan struct{})}
	rw.lines.New = func() any { return newRecordLine() }
	go rw.flusher()
	return rw
}

// recordLine is a buffer and the encoder writing into it: one record's
// line is encoded in one, by the goroutine that writes the record, so
// that records are encoded in parallel and only the finished lines are
// appended under the writer's lock.
type recordLine struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newRecordLine() *recordLine {
	l := &recordLine{}
	l.enc = json.NewEncoder(&l.buf)
	l.enc.SetEscapeHTML(false)
	return l
}

func (rw *RecordWriter) flusher() {
	defer close(rw.done)
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-rw.stop:
			return
		case <-t.C:
			_ = rw.Flush()
		}
	}
}

// Write appends one record. Schema is filled in when empty. A record whose
// line would be longer than the reader takes is written cut (see
// capRecordLine), never refused and never as a line the reader refuses.
func (rw *RecordWriter) Write(r *Record) error {
	if r.Schema == "" {
		r.Schema = RecordSchema
	}
	l := rw.lines.Get().(*recordLine)
	defer func() {
		if l.buf.Cap() <= 1<<20 { // do not keep a huge record's buffer
			rw.lines.Put(l)
		}
	}()
	l.buf.Reset()
	var encErr error
	if b, ok := r.appendJSON(l.buf.AvailableBuffer()); ok {
		l.buf.Write(b)
	} else {
		encErr = l.enc.Encode(r)
	}
	line := l.buf.Bytes()
	if encErr == nil && len(line) > rw.limit {
		line, encErr = capRecordLine(r, rw.limit)
	}
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.err != nil {
		return rw.err
	}
	if encErr != nil {
		rw.err = fmt.Errorf("writing record: %w", encErr)
		return rw.err
	}
	if _, err := rw.bw.Write(line); err != nil {
		rw.err = fmt.Errorf("writing record: %w", err)
		return rw.err
	}
	rw.n++
	return nil
}

// Count is the number of records written so far.
func (rw *RecordWriter) Count() int64 {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return rw.n
}

// Flush writes buffered lines through to the underlying writer, and syncs it
// when it is a file.
func (rw *RecordWriter) Flush() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.err != nil {
		return rw.err
	}
	if err := rw.bw.Flush(); err != nil {
		rw.err = fmt.Errorf("flushing records: %w", err)
		return rw.err
	}
	return nil
}

// Close flushes and stops the writer, closing the underlying writer when it
// is an io.Closer.
func (rw *RecordWriter) Close() error {
	var err error
	rw.close.Do(func() {
		close(rw.stop)
		<-rw.done
		err = rw.Flush()
		if c, ok := rw.w.(io.Closer); ok {
			err = errors.Join(err, c.Close())
		}
	})
	return err
}

// ErrTornTail marks a last line of records.jsonl that was cut short: a
// process killed while writing leaves a line with no newline that is not
// valid JSON. Every record before it is whole.
var ErrTornTail = errors.New("the last line of the records was cut short (the run was killed while writing it)")

// RecordReader decodes Records from JSON lines.
type RecordReader struct {
	br   *bufio.Reader
	line int
}

// maxRecordLine bounds one line of records.jsonl (an answer is in it).
const maxRecordLine = 64 << 20

// NewRecordReader returns a RecordReader over r.
func NewRecordReader(r io.Reader) *RecordReader {
	return &RecordReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// Read returns the next record, or io.EOF after the last one. A blank line is
// skipped. A malformed line is an error naming its line number; a malformed
// last line without a newline is reported as ErrTornTail (wrapped, with its
// line number), which callers may treat as the end of a killed run's records.
func (rr *RecordReader) Read() (Record, error) {
	for {
		b, err := rr.readLine()
		if len(b) == 0 && err != nil {
			return Record{}, err
		}
		rr.line++
		if len(trimSpace(b)) == 0 {
			continue
		}
		var r Record
		if jerr := json.Unmarshal(b, &r); jerr != nil {
			if errors.Is(err, io.EOF) {
				return Record{}, fmt.Errorf("records line %d: %w", rr.line, ErrTornTail)
			}
			return Record{}, fmt.Errorf("records line %d: %w", rr.line, jerr)
		}
		if r.Schema != RecordSchema {
			return Record{}, fmt.Errorf("records line %d: schema %q, want %q", rr.line, r.Schema, RecordSchema)
		}
		return r, nil
	}
}

// readLine returns the next line without its newline; err is io.EOF with a
// last line that had no newline, and with no line at all.
func (rr *RecordReader) readLine() ([]byte, error) {
	var line []byte
	for {
		chunk, err := rr.br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxRecordLine {
			return nil, fmt.Errorf("records line %d is longer than %d MiB", rr.line+1, maxRecordLine>>20)
		}
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return line, io.EOF
		default:
			return nil, fmt.Errorf("reading records after line %d: %w", rr.line, err)
		}
	}
}

// ReadRecords reads every record from r. On a malformed line it returns the
// records before it together with the error (for a torn last line, one that
// wraps ErrTornTail).
func ReadRecords(r io.Reader) ([]Record, error) {
	rr := NewRecordReader(r)
	var out []Record
	for {
		rec, err := rr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
