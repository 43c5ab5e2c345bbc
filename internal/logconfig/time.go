package logconfig

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// strfPart is one piece of a compiled %{format}t: literal text, a Go
// layout for one strftime conversion, or a conversion Go has no layout for.
type strfPart struct {
	literal string
	layout  string
	special byte // 's' epoch seconds, 'j' day of year, 'e' space-padded day, 'u'/'w' weekday
}

// bindTime compiles %t and %{format}t: the CLF date, begin: or end:
// prefixes, sec/msec/usec/msec_frac/usec_frac, or a strftime format.
func (it *item) bindTime() error {
	arg := it.arg
	end := false
	switch {
	case strings.HasPrefix(arg, "begin:"):
		arg = arg[len("begin:"):]
	case strings.HasPrefix(arg, "end:"):
		arg, end = arg[len("end:"):], true
	}
	at := func(e *Entry) time.Time {
		if end {
			return e.Start.Add(e.Duration)
		}
		return e.Start
	}
	switch {
	case it.arg == "":
		it.fn = func(b []byte, e *Entry, _ string) []byte {
			return at(e).AppendFormat(append(b, '['), "02/Jan/2006:15:04:05 -0700]")
		}
	case arg == "sec":
		it.fn = func(b []byte, e *Entry, _ string) []byte { return strconv.AppendInt(b, at(e).Unix(), 10) }
	case arg == "msec":
		it.fn = func(b []byte, e *Entry, _ string) []byte { return strconv.AppendInt(b, at(e).UnixMilli(), 10) }
	case arg == "usec":
		it.fn = func(b []byte, e *Entry, _ string) []byte { return strconv.AppendInt(b, at(e).UnixMicro(), 10) }
	case arg == "msec_frac":
		it.fn = func(b []byte, e *Entry, _ string) []byte { return appendPadded(b, int64(at(e).Nanosecond()/1e6), 3) }
	case arg == "usec_frac":
		it.fn = func(b []byte, e *Entry, _ string) []byte { return appendPadded(b, int64(at(e).Nanosecond()/1e3), 6) }
	default:
		parts, err := compileStrftime(arg)
		if err != nil {
			return err
		}
		it.fn = func(b []byte, e *Entry, _ string) []byte { return appendStrftime(b, at(e), parts) }
	}
	return nil
}

// strftimeLayouts maps a strftime conversion to its Go layout, in the C
// locale.
var strftimeLayouts = map[byte]string{
	'a': "Mon", 'A': "Monday", 'b': "Jan", 'h': "Jan", 'B': "January",
	'd': "02", 'H': "15", 'I': "03", 'm': "01", 'M': "04", 'S': "05",
	'p': "PM", 'y': "06", 'Y': "2006", 'z': "-0700", 'Z': "MST",
	'T': "15:04:05", 'D': "01/02/06", 'F': "2006-01-02", 'R': "15:04",
	'r': "03:04:05 PM", 'c': "Mon Jan _2 15:04:05 2006", 'x': "01/02/06", 'X': "15:04:05",
	'n': "\n", 't': "\t", '%': "%",
}

func compileStrftime(f string) ([]strfPart, error) {
	var parts []strfPart
	for f != "" {
		i := strings.IndexByte(f, '%')
		if i < 0 {
			parts = append(parts, strfPart{literal: f})
			break
		}
		if i > 0 {
			parts = append(parts, strfPart{literal: f[:i]})
		}
		if i+1 == len(f) {
			return nil, fmt.Errorf("%%{...}t: the time format ends with a lone %%; write %%%% for a literal %%")
		}
		c := f[i+1]
		switch {
		case c == 's' || c == 'j' || c == 'e' || c == 'u' || c == 'w':
			parts = append(parts, strfPart{special: c})
		case strftimeLayouts[c] != "":
			l := strftimeLayouts[c]
			if c == 'n' || c == 't' || c == '%' {
				parts = append(parts, strfPart{literal: l})
			} else {
				parts = append(parts, strfPart{layout: l})
			}
		default:
			return nil, fmt.Errorf("%%{...}t: strftime conversion %%%c is not supported; use %%Y %%m %%d %%H %%M %%S %%z and the like", c)
		}
		f = f[i+2:]
	}
	return parts, nil
}

func appendStrftime(b []byte, t time.Time, parts []strfPart) []byte {
	for _, p := range parts {
		switch {
		case p.layout != "":
			b = t.AppendFormat(b, p.layout)
		case p.special == 's':
			b = strconv.AppendInt(b, t.Unix(), 10)
		case p.special == 'j':
			b = appendPadded(b, int64(t.YearDay()), 3)
		case p.special == 'e':
			b = t.AppendFormat(b, "_2")
		case p.special == 'u':
			d := int64(t.Weekday())
			if d == 0 {
				d = 7
			}
			b = strconv.AppendInt(b, d, 10)
		case p.special == 'w':
			b = strconv.AppendInt(b, int64(t.Weekday()), 10)
		default:
			b = append(b, p.literal...)
		}
	}
	return b
}

func appendPadded(b []byte, n int64, width int) []byte {
	s := strconv.FormatInt(n, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}
