package pipes

import (
	"strconv"
	"strings"
)

// Template is a command's argument list with GNU parallel's replacement
// strings in it:
//
//	{}    the input
//	{.}   the input without its extension
//	{/}   the input's basename
//	{//}  the input's directory
//	{/.}  the basename without its extension
//	{#}   the job's sequence number (1, 2, …)
//	{%}   the job slot (1 … the number of workers)
//
// Arguments are substituted one by one and passed to the command as they
// are, never through a shell, so an input with spaces, quotes or a leading
// dash arrives intact as one argument.
type Template struct {
	args      []string
	hasRepl   bool // some argument holds a replacement string
	templated []bool
}

// ParseTemplate reads args. When none of them holds a replacement string,
// the input is appended as the last argument, as parallel does; like
// parallel, an argument list with only {#} or {%} gets no input appended.
func ParseTemplate(args []string) *Template {
	t := &Template{args: args, templated: make([]bool, len(args))}
	for i, a := range args {
		for _, p := range placeholders {
			if strings.Contains(a, p) {
				t.templated[i] = true
				t.hasRepl = true
			}
		}
	}
	return t
}

var placeholders = []string{"{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}"}

// AppendsInput reports whether Expand adds the input as a last argument.
func (t *Template) AppendsInput() bool { return !t.hasRepl }

// Expand returns the arguments for one job.
func (t *Template) Expand(input string, seq int64, slot int) []string {
	out := make([]string, 0, len(t.args)+1)
	for i, a := range t.args {
		if !t.templated[i] {
			out = append(out, a)
			continue
		}
		out = append(out, expandArg(a, input, seq, slot))
	}
	if !t.hasRepl {
		out = append(out, input)
	}
	return out
}

func expandArg(a, input string, seq int64, slot int) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(a, '{')
		if i < 0 {
			b.WriteString(a)
			return b.String()
		}
		b.WriteString(a[:i])
		a = a[i:]
		switch {
		case strings.HasPrefix(a, "{}"):
			b.WriteString(input)
			a = a[2:]
		case strings.HasPrefix(a, "{.}"):
			b.WriteString(noExt(input))
			a = a[3:]
		case strings.HasPrefix(a, "{/}"):
			b.WriteString(basename(input))
			a = a[3:]
		case strings.HasPrefix(a, "{//}"):
			b.WriteString(dirname(input))
			a = a[4:]
		case strings.HasPrefix(a, "{/.}"):
			b.WriteString(noExt(basename(input)))
			a = a[4:]
		case strings.HasPrefix(a, "{#}"):
			b.WriteString(strconv.FormatInt(seq, 10))
			a = a[3:]
		case strings.HasPrefix(a, "{%}"):
			b.WriteString(strconv.Itoa(slot))
			a = a[3:]
		default:
			b.WriteByte('{')
			a = a[1:]
		}
	}
}

// basename is the text after the last slash, as parallel's {/} (s:.*/::).
func basename(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// dirname is Perl's File::Basename dirname, which parallel's {//} uses:
// "." for a bare name, "/" for a file in the root, trailing slashes ignored.
func dirname(s string) string {
	t := strings.TrimRight(s, "/")
	if t == "" {
		if s != "" {
			return "/"
		}
		return "."
	}
	i := strings.LastIndexByte(t, '/')
	if i < 0 {
		return "."
	}
	d := strings.TrimRight(t[:i], "/")
	if d == "" {
		return "/"
	}
	return d
}

// noExt drops an extension from the last path element, as parallel's {.}
// (s:\.[^/.]*$::): "a/b.tar.gz" → "a/b.tar", "a.d/b" stays, ".bashrc" → "",
// "a." → "a".
func noExt(s string) string {
	i := strings.LastIndexByte(s, '.')
	if i < 0 || strings.IndexByte(s[i+1:], '/') >= 0 {
		return s
	}
	return s[:i]
}

// CommandLine renders a command and its arguments for logs and messages,
// each word quoted as a shell would need it, so what is shown can be pasted
// back into a shell.
func CommandLine(cmd string, args []string) string {
	var b strings.Builder
	b.WriteString(ShellQuote(cmd))
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(ShellQuote(a))
	}
	return b.String()
}

// ShellQuote returns s as one shell word: as it is when it is plainly safe,
// otherwise in single quotes.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
