package sharedstate

import (
	"strconv"
	"sync"
	"testing"
)

// Typecode range checks, as array.array and ctypes: in range stores, out of
// range is ErrRange (not a silent wrap), the wrong JSON type is ErrType.
func TestTypecodeParse(t *testing.T) {
	tests := []struct {
		tc   Typecode
		in   string
		want string // "" when an error is wanted
		err  error
	}{
		{'b', "127", "127", nil}, {'b', "128", "", ErrRange}, {'b', "-129", "", ErrRange},
		{'B', "255", "255", nil}, {'B', "-1", "", ErrRange}, {'B', "256", "", ErrRange},
		{'h', "-32768", "-32768", nil}, {'h', "32768", "", ErrRange},
		{'H', "65535", "65535", nil}, {'H', "65536", "", ErrRange},
		{'i', "2147483647", "2147483647", nil}, {'i', "1099511627776", "", ErrRange}, // 2**40
		{'i', "-2147483649", "", ErrRange},
		{'I', "4294967295", "4294967295", nil}, {'I', "4294967296", "", ErrRange},
		{'l', "1099511627776", "1099511627776", nil}, {'l', "9223372036854775808", "", ErrRange},
		{'q', "-9223372036854775808", "-9223372036854775808", nil},
		{'L', "18446744073709551615", "18446744073709551615", nil}, {'Q', "18446744073709551616", "", ErrRange},
		{'Q', "-1", "", ErrRange},
		{'i', `"5"`, "", ErrType}, {'i', "3.0", "", ErrType}, {'i', "1e3", "", ErrType},
		{'i', "true", "", ErrType}, {'i', "null", "", ErrType}, {'i', "[1]", "", ErrType},
		{'d', "1", "1.0", nil}, {'d', "0.25", "0.25", nil}, {'d', "-1e300", "-1e+300", nil},
		{'d', "1e400", "", ErrRange}, {'d', `"x"`, "", ErrType},
		{'f', "0.1", "0.10000000149011612", nil}, {'f', "1e39", "", ErrRange},
		{'c', `"a"`, `"a"`, nil}, {'c', `"é"`, `"é"`, nil}, {'c', `"ab"`, "", ErrType},
		{'c', `"€"`, "", ErrRange}, {'c', "65", "", ErrType}, {'c', `""`, "", ErrType},
		{'u', `"€"`, `"€"`, nil}, {'u', `"ab"`, "", ErrType},
	}
	for _, tt := range tests {
		s, err := tt.tc.parse(raw(tt.in))
		if tt.err != nil {
			if err == nil {
				t.Errorf("'%s' %s: no error; want %v", tt.tc, tt.in, tt.err)
			} else if !errorIs(err, tt.err) {
				t.Errorf("'%s' %s: %v; want %v", tt.tc, tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("'%s' %s: %v", tt.tc, tt.in, err)
			continue
		}
		if got := string(tt.tc.format(s)); got != tt.want {
			t.Errorf("'%s' %s = %s; want %s", tt.tc, tt.in, got, tt.want)
		}
	}
	if _, err := ParseTypecode("x"); !errorIs(err, ErrValue) {
		t.Errorf("bad typecode: %v", err)
	}
}

func TestValue(t *testing.T) {
	v := create[Value](t, KindValue, "n", Params{Typecode: "i", Initial: raw("5")})
	if string(v.Get()) != "5" {
		t.Fatalf("initial %s", v.Get())
	}
	wantErr(t, v.Set(raw("1099511627776")), ErrRange)
	wantErr(t, v.Set(raw(`"7"`)), ErrType)
	if string(v.Get()) != "5" {
		t.Fatalf("failed set changed the value to %s", v.Get())
	}
	nv, err := v.Add(raw("-7"))
	noErr(t, err)
	if string(nv) != "-2" {
		t.Fatalf("add = %s", nv)
	}
	noErr(t, v.Set(raw("2147483647")))
	_, err = v.Add(raw("1"))
	wantErr(t, err, ErrRange)
	_, err = v.Add(raw("1.5"))
	wantErr(t, err, ErrType)
	if string(v.Get()) != "2147483647" {
		t.Fatalf("overflowing add changed the value to %s", v.Get())
	}
	ok, err := v.CompareAndSwap(raw("1"), raw("2"))
	if ok || err != nil {
		t.Fatalf("CAS on a mismatch = %v, %v", ok, err)
	}
	ok, err = v.CompareAndSwap(raw("2147483647"), raw("0"))
	if !ok || err != nil || string(v.Get()) != "0" {
		t.Fatalf("CAS = %v, %v, value %s", ok, err, v.Get())
	}
	_, err = v.CompareAndSwap(raw("0"), raw("1e3"))
	wantErr(t, err, ErrType)

	u := create[Value](t, KindValue, "u", Params{Typecode: "Q"})
	_, err = u.Add(raw("-1"))
	wantErr(t, err, ErrRange)
	nv, err = u.Add(raw("18446744073709551615"))
	if err != nil || string(nv) != "18446744073709551615" {
		t.Fatalf("Q add = %s, %v", nv, err)
	}
	f := create[Value](t, KindValue, "f", Params{Typecode: "d"})
	nv, err = f.Add(raw("1"))
	if err != nil || string(nv) != "1.0" {
		t.Fatalf("d add = %s, %v", nv, err)
	}
	c := create[Value](t, KindValue, "c", Params{Typecode: "c", Initial: raw(`"x"`)})
	_, err = c.Add(raw("1"))
	wantErr(t, err, ErrType)
	if v.GetLock() == nil || !v.GetLock().Recursive() {
		t.Fatal("get_lock is not an RLock")
	}
}

// 8 goroutines × 10,000 adds end exact, as the counter test.
func TestValueAddConcurrent(t *testing.T) {
	v := create[Value](t, KindValue, "counter", Params{Typecode: "q"})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10000; i++ {
				if _, err := v.Add(raw("1")); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if string(v.Get()) != "80000" {
		t.Fatalf("counter = %s", v.Get())
	}
}

func TestArray(t *testing.T) {
	a := create[Array](t, KindArray, "a", Params{Typecode: "i", Size: 5})
	if a.Len() != 5 || string(a.Slice(Omit, Omit)) != "[0,0,0,0,0]" {
		t.Fatalf("new array %s", a.Slice(Omit, Omit))
	}
	for i := 0; i < 5; i++ {
		noErr(t, a.Set(i, raw(strconv.Itoa(i*10))))
	}
	if v, err := a.Get(-1); err != nil || string(v) != "40" {
		t.Fatalf("a[-1] = %s, %v", v, err)
	}
	_, err := a.Get(5)
	wantErr(t, err, ErrIndex)
	_, err = a.Get(-6)
	wantErr(t, err, ErrIndex)
	wantErr(t, a.Set(7, raw("1")), ErrIndex)
	wantErr(t, a.Set(0, raw("1099511627776")), ErrRange)
	for _, tt := range []struct {
		lo, hi int
		want   string
	}{{1, 3, "[10,20]"}, {-2, Omit, "[30,40]"}, {3, 1, "[]"}, {-100, 100, "[0,10,20,30,40]"}} {
		if got := string(a.Slice(tt.lo, tt.hi)); got != tt.want {
			t.Errorf("a[%d:%d] = %s; want %s", tt.lo, tt.hi, got, tt.want)
		}
	}
	wantErr(t, a.SetSlice(0, 2, raw("[1]")), ErrValue)
	wantErr(t, a.SetSlice(0, 2, raw("[1, 1099511627776]")), ErrRange)
	if string(a.Slice(0, 2)) != "[0,10]" {
		t.Fatal("failed slice assignment changed the array")
	}
	noErr(t, a.SetSlice(0, 2, raw("[7, 8]")))
	if string(a.Slice(Omit, Omit)) != "[7,8,20,30,40]" {
		t.Fatalf("after slice assignment: %s", a.Slice(Omit, Omit))
	}
	b := create[Array](t, KindArray, "b", Params{Typecode: "d", Initial: raw("[1, 2.5]")})
	if string(b.Slice(Omit, Omit)) != "[1.0,2.5]" {
		t.Fatalf("initialised array %s", b.Slice(Omit, Omit))
	}
	s := newStore(t, Options{})
	_, err = s.Create(KindArray, "c", Params{Typecode: "i", Initial: raw(`[1, "x"]`)})
	wantErr(t, err, ErrType)
	_, err = s.Create(KindArray, "c", Params{Typecode: "z", Size: 1})
	wantErr(t, err, ErrValue)
}
