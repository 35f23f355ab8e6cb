package endpoint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The SSE reader: both targets read their streams with it.
//
// Why not go-openai's stream reader: it matches lines with regular
// expressions (allocations on every line), appends every non-data line
// (": keep-alive" comments, "event:" lines) to an unbounded error
// accumulator, fails after EmptyMessagesLimit consecutive such lines, cannot
// tell a missing "data: [DONE]" from a clean end or from a stream cut in the
// middle of a line (all three come back as io.EOF and a partial last line is
// dropped silently), reads lines with no length limit, knows no bare-CR line
// endings or multi-line data fields, and has no notion of a named event such
// as llama.cpp's "error:" line or Anthropic's "event: error". This reader
// follows the WHATWG event-stream rules and reports exactly how a stream
// ended, which the measurement needs.

// Limits of the SSE reader. A line or an event beyond them is an error, so a
// misbehaving server cannot make the client buffer without bound.
const (
	sseInitialBuffer = 4 << 10
	sseMaxLine       = 1 << 20
	sseMaxEvent      = 4 << 20
	// sseMaxEmptyReads bounds consecutive (0, nil) reads from the source.
	sseMaxEmptyReads = 100
)

var (
	// errSSETruncated means the stream ended in the middle of a line.
	errSSETruncated = errors.New("the event stream ended in the middle of a line")
	// errSSELineTooLong means a line exceeded sseMaxLine.
	errSSELineTooLong = fmt.Errorf("an event stream line is longer than %d bytes", sseMaxLine)
	// errSSEEventTooLarge means an event's data exceeded sseMaxEvent.
	errSSEEventTooLarge = fmt.Errorf("an event stream event is larger than %d bytes", sseMaxEvent)
)

// sseEvent is one dispatched server-sent event. Name is the "event" field
// (empty for the default "message" type); Data is the data fields joined by
// "\n". Both alias the reader's buffers and stay valid only until the next
// call to Next.
type sseEvent struct {
	Name []byte
	Data []byte
}

// sseReader reads server-sent events from an io.Reader.
//
// It accepts LF, CRLF and bare CR line endings; comment lines (": keep-alive")
// and "id:"/"retry:" fields are skipped; "data:" with or without a space;
// several data lines in one event are joined with "\n"; a leading byte order
// mark is dropped. As an extension for llama.cpp's server, which reports
// errors inside a stream as an "error: {json}" line, such a line becomes an
// event named "error" whose data is the JSON.
//
// At the end of the source Next returns io.EOF when the stream ended at a line
// boundary (an event whose data lines were complete but which lacked the final
// blank line is still dispatched first), errSSETruncated when it ended in the
// middle of a line, and the source's error otherwise. Every call consumes
// input or returns an error, so a loop over Next always ends.
type sseReader struct {
	src  io.Reader
	buf  []byte
	r, w int
	err  error // sticky error of src

	skipLF     bool // the last line ended in CR: skip a directly following LF
	started    bool // the byte order mark check is done
	dispatched bool // name and data were handed out: reset them first

	name    []byte
	data    []byte
	hasData bool

	// reads counts the reads from src that returned bytes: an event that
	// Next returns with reads unchanged since the one before was already
	// in the buffer when that one was returned, so it arrived with it.
	reads int

	// Diagnostics for the caller.
	events       int  // events dispatched
	unknownLines int  // lines that are not a known field or a comment
	partialField bool // the line cut off by the end of the stream began like a field
}

// newSSEReader returns a reader of src.
func newSSEReader(src io.Reader) *sseReader {
	return &sseReader{src: src, buf: make([]byte, sseInitialBuffer)}
}

// reset makes s read src from the start, keeping its buffers.
func (s *sseReader) reset(src io.Reader) {
	*s = sseReader{src: src, buf: s.buf[:cap(s.buf)], name: s.name[:0], data: s.data[:0]}
	if len(s.buf) == 0 || len(s.buf) > 8*sseInitialBuffer {
		s.buf = make([]byte, sseInitialBuffer)
	}
	if cap(s.data) > 8*sseInitialBuffer {
		s.data = nil
	}
}

// Next returns the next event.
func (s *sseReader) Next() (sseEvent, error) {
	if s.dispatched {
		s.name = s.name[:0]
		s.data = s.data[:0]
		s.hasData = false
		s.dispatched = false
	}
	for {
		line, err := s.readLine()
		if err != nil {
			if err == io.EOF && s.hasData {
				return s.dispatch(), nil
			}
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if s.hasData {
				return s.dispatch(), nil
			}
			s.name = s.name[:0]
			continue
		}
		if err := s.field(line); err != nil {
			return sseEvent{}, err
		}
	}
}

func (s *sseReader) dispatch() sseEvent {
	s.dispatched = true
	s.events++
	return sseEvent{Name: s.name, Data: s.data}
}

// field processes one non-empty line.
func (s *sseReader) field(line []byte) error {
	if line[0] == ':' {
		return nil // a comment, such as ": keep-alive"
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "data":
		if s.hasData {
			s.data = append(s.data, '\n')
		}
		if len(s.data)+len(value) > sseMaxEvent {
			return errSSEEventTooLarge
		}
		s.data = append(s.data, value...)
		s.hasData = true
	case "event":
		s.name = append(s.name[:0], value...)
	case "error":
		// llama.cpp: "error: {json}" followed by a blank line.
		if len(value) > sseMaxEvent {
			return errSSEEventTooLarge
		}
		s.name = append(s.name[:0], "error"...)
		s.data = append(s.data[:0], value...)
		s.hasData = true
	case "id", "retry":
	default:
		s.unknownLines++
	}
	return nil
}

// readLine returns the next line without its terminator. The line aliases
// s.buf and is valid until the next call.
func (s *sseReader) readLine() ([]byte, error) {
	empty := 0
	for {
		if s.skipLF && s.r < s.w {
			if s.buf[s.r] == '\n' {
				s.r++
			}
			s.skipLF = false
		}
		if !s.skipLF && s.r < s.w {
			if line, ok := s.cutLine(); ok {
				return line, nil
			}
		}
		if s.err != nil {
			if s.r < s.w {
				s.partialField = sseLooksLikeField(s.buf[s.r:s.w])
				s.r = s.w
				if s.err == io.EOF {
					return nil, errSSETruncated
				}
			}
			return nil, s.err
		}
		if s.r > 0 {
			s.w = copy(s.buf, s.buf[s.r:s.w])
			s.r = 0
		}
		if s.w == len(s.buf) {
			if len(s.buf) >= sseMaxLine {
				return nil, errSSELineTooLong
			}
			nb := make([]byte, min(2*len(s.buf), sseMaxLine))
			copy(nb, s.buf[:s.w])
			s.buf = nb
		}
		n, err := s.src.Read(s.buf[s.w:])
		if n < 0 || n > len(s.buf)-s.w {
			s.err = io.ErrShortBuffer
			continue
		}
		s.w += n
		if n > 0 {
			s.reads++
		}
		if err != nil {
			s.err = err
		} else if n == 0 {
			empty++
			if empty >= sseMaxEmptyReads {
				s.err = io.ErrNoProgress
			}
		} else {
			empty = 0
		}
	}
}

// cutLine cuts the next complete line out of s.buf[s.r:s.w].
func (s *sseReader) cutLine() ([]byte, bool) {
	b := s.buf[s.r:s.w]
	i := bytes.IndexByte(b, '\n')
	end := b
	if i >= 0 {
		end = b[:i]
	}
	if j := bytes.IndexByte(end, '\r'); j >= 0 {
		i = j
	}
	if i < 0 {
		return nil, false
	}
	line := b[:i]
	if b[i] == '\r' {
		s.skipLF = true
	}
	s.r += i + 1
	if !s.started {
		s.started = true
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	}
	return line, true
}

// sseLooksLikeField reports whether an incomplete line starts like an event
// stream line: a comment or a known field name.
func sseLooksLikeField(line []byte) bool {
	if len(line) == 0 || line[0] == ':' {
		return true
	}
	for _, f := range []string{"data", "event", "id", "retry", "error"} {
		// The line starts with the field name, or is cut inside it.
		if bytes.HasPrefix(line, []byte(f)) || strings.HasPrefix(f, string(line)) {
			return true
		}
	}
	return false
}
