package pipes

import (
	"bytes"
	"io"
	"strings"

	"github.com/rs/zerolog"
	json "github.com/segmentio/encoding/json"
)

// maxLogLine bounds one forwarded line; longer output is split, so a child
// that never prints a newline cannot grow the supervisor without limit.
const maxLogLine = 64 << 10

// ForwardLines logs every line read from r until EOF with log, which should
// already carry the child's identity (pool, worker, pid). A line that is a
// JSON object with a "level" field keeps its level, message and fields;
// any other line is logged as it is, at info level, with msg as the message
// and the text in "line".
func ForwardLines(r io.Reader, log zerolog.Logger, msg string) {
	lr := NewLineReader(r, maxLogLine)
	for {
		line, err := lr.ReadLine()
		if err != nil {
			if err == io.EOF {
				return
			}
			var tooLong *LineTooLongError
			if !asTooLong(err, &tooLong) {
				return
			}
			log.Warn().Int("limit", maxLogLine).Msg(msg + ": line over the limit, dropped")
			// The reader cannot resynchronise mid-line: start afresh on
			// what follows, so later lines still reach the log.
			lr = NewLineReader(r, maxLogLine)
			continue
		}
		LogLine(log, msg, line)
	}
}

func asTooLong(err error, target **LineTooLongError) bool {
	t, ok := err.(*LineTooLongError)
	if ok {
		*target = t
	}
	return ok
}

// LogLine logs one line of a child's output as ForwardLines does.
func LogLine(log zerolog.Logger, msg string, line []byte) {
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var fields map[string]any
		if json.Unmarshal(trimmed, &fields) == nil {
			if lv, ok := fields["level"].(string); ok {
				level, err := zerolog.ParseLevel(strings.ToLower(lv))
				if err != nil || level == zerolog.NoLevel {
					level = zerolog.InfoLevel
				}
				text := msg
				for _, k := range []string{"message", "msg"} {
					if m, ok := fields[k].(string); ok {
						text = m
						delete(fields, k)
					}
				}
				delete(fields, "level")
				delete(fields, "time")
				log.WithLevel(level).Fields(fields).Msg(text)
				return
			}
		}
	}
	log.Info().Str("line", string(line)).Msg(msg)
}
