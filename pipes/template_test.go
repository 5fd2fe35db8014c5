package pipes

import (
	"reflect"
	"testing"
)

// The expected values are what GNU parallel 20221122 prints for
// `parallel echo '[{}]' '[{.}]' '[{/}]' '[{//}]' '[{/.}]' ::: INPUT`.
func TestTemplatePathForms(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in                          string
		noExt, base, dir, baseNoExt string
	}{
		{"a/b.tar.gz", "a/b.tar", "b.tar.gz", "a", "b.tar"},
		{"a.d/b", "a.d/b", "b", "a.d", "b"},
		{".bashrc", "", ".bashrc", ".", ""},
		{"a.", "a", "a.", ".", "a"},
		{".", "", ".", ".", ""},
		{"..", ".", "..", ".", "."},
		{"../a.b", "../a", "a.b", "..", "a"},
		{"/x/y", "/x/y", "y", "/x", "y"},
		{"/x/y.z", "/x/y", "y.z", "/x", "y"},
		{"dir/", "dir/", "", ".", ""},
		{"/", "/", "", "/", ""},
		{"/etc", "/etc", "etc", "/", "etc"},
		{"", "", "", ".", ""},
		{"a b/c d.e", "a b/c d", "c d.e", "a b", "c d"},
		{"./a", "./a", "a", ".", "a"},
		{"/a//b//", "/a//b//", "", "/a", ""},
		{"file.txt", "file", "file.txt", ".", "file"},
	}
	tmpl := ParseTemplate([]string{"{}", "{.}", "{/}", "{//}", "{/.}"})
	for _, c := range cases {
		got := tmpl.Expand(c.in, 1, 1)
		want := []string{c.in, c.noExt, c.base, c.dir, c.baseNoExt}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("input %q: got %q, want %q", c.in, got, want)
		}
	}
}

func TestTemplateExpand(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		args   []string
		input  string
		seq    int64
		slot   int
		want   []string
		append bool
	}{
		{"no args: input appended", nil, "x", 1, 1, []string{"x"}, true},
		{"no placeholder: input appended", []string{"-n", "hi"}, "in put", 1, 1, []string{"-n", "hi", "in put"}, true},
		{"bare {}", []string{"{}"}, "a", 1, 1, []string{"a"}, false},
		{"embedded", []string{"pre{}post"}, "a", 1, 1, []string{"preapost"}, false},
		{"twice in one arg", []string{"{}-{}"}, "a", 1, 1, []string{"a-a"}, false},
		{"in several args", []string{"{}", "x", "{/}"}, "d/f", 1, 1, []string{"d/f", "x", "f"}, false},
		{"forms embedded", []string{"out/{/.}.png", "{//}:{.}"}, "src/img.jpg", 1, 1, []string{"out/img.png", "src:src/img"}, false},
		{"seq and slot", []string{"{#}", "{%}", "{}"}, "a", 42, 3, []string{"42", "3", "a"}, false},
		{"seq embedded", []string{"job{#}of{%}"}, "a", 7, 2, []string{"job7of2"}, false},
		// parallel appends the input only when the command has no
		// replacement string at all: `parallel echo {#} ::: a` prints 1.
		{"only {#}: nothing appended", []string{"{#}"}, "a", 5, 1, []string{"5"}, false},
		{"only {%}: nothing appended", []string{"slot={%}"}, "a", 5, 2, []string{"slot=2"}, false},
		{"braces that are not placeholders", []string{"{", "}", "{x}", "{{}}"}, "a", 1, 1, []string{"{", "}", "{x}", "{a}"}, false},
		{"awk program kept", []string{"{print $1}"}, "a", 1, 1, []string{"{print $1}", "a"}, true},
		{"input with spaces", []string{"{}"}, "a b  c", 1, 1, []string{"a b  c"}, false},
		{"input with quotes", []string{"[{}]"}, `it's "q"`, 1, 1, []string{`[it's "q"]`}, false},
		{"input with $ and backslash", []string{"{}"}, `$HOME \n \\ $(id) ${x}`, 1, 1, []string{`$HOME \n \\ $(id) ${x}`}, false},
		{"input with leading dash", []string{"{}"}, "-rf", 1, 1, []string{"-rf"}, false},
		{"leading dash appended", []string{"--"}, "--help", 1, 1, []string{"--", "--help"}, true},
		{"input that looks like a placeholder is not expanded again", []string{"{}"}, "{#}{}", 9, 1, []string{"{#}{}"}, false},
		{"input with newline", []string{"{}"}, "a\nb", 1, 1, []string{"a\nb"}, false},
		{"invalid UTF-8", []string{"<{}>"}, "\xff\xfe", 1, 1, []string{"<\xff\xfe>"}, false},
		{"empty input", []string{"x{}y"}, "", 1, 1, []string{"xy"}, false},
	}
	for _, c := range cases {
		tmpl := ParseTemplate(c.args)
		if got := tmpl.AppendsInput(); got != c.append {
			t.Errorf("%s: AppendsInput() = %v, want %v", c.name, got, c.append)
		}
		got := tmpl.Expand(c.input, c.seq, c.slot)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Expand(%q) = %q, want %q", c.name, c.input, got, c.want)
		}
	}
}

// Expand does not change the template: the same template serves every job.
func TestTemplateReuse(t *testing.T) {
	t.Parallel()
	args := []string{"a{}", "b"}
	tmpl := ParseTemplate(args)
	first := tmpl.Expand("1", 1, 1)
	second := tmpl.Expand("2", 2, 2)
	if !reflect.DeepEqual(first, []string{"a1", "b"}) || !reflect.DeepEqual(second, []string{"a2", "b"}) {
		t.Fatalf("got %q then %q", first, second)
	}
	if !reflect.DeepEqual(args, []string{"a{}", "b"}) {
		t.Fatalf("template args changed: %q", args)
	}
}
