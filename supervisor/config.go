package supervisor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/protocol"
	"github.com/corralhq/corral/sharedstate"
)

// Config is a corral.toml file.
type Config struct {
	// MaxMessage is the largest message accepted on any connection, in
	// bytes (64 MiB when 0).
	MaxMessage int `toml:"max_message"`
	// Socket is where to listen; empty means a fresh private directory.
	Socket string `toml:"socket"`
	// Pools declared by [pool.NAME] tables, started with the supervisor.
	Pools map[string]protocol.PoolSpec `toml:"pool"`
	// AutoCreate makes an operation on a missing shared object create it
	// with default parameters (true when unset); off, it is not_found.
	AutoCreate *bool `toml:"auto_create"`
	// Shared objects declared by [KIND.NAME] tables ([queue.jobs],
	// [semaphore.gpu], …), created at Start.
	Queue            map[string]ObjectDecl `toml:"queue"`
	JoinableQueue    map[string]ObjectDecl `toml:"joinablequeue"`
	SimpleQueue      map[string]ObjectDecl `toml:"simplequeue"`
	Lock             map[string]ObjectDecl `toml:"lock"`
	RLock            map[string]ObjectDecl `toml:"rlock"`
	Semaphore        map[string]ObjectDecl `toml:"semaphore"`
	BoundedSemaphore map[string]ObjectDecl `toml:"boundedsemaphore"`
	Event            map[string]ObjectDecl `toml:"event"`
	Condition        map[string]ObjectDecl `toml:"condition"`
	Barrier          map[string]ObjectDecl `toml:"barrier"`
	Value            map[string]ObjectDecl `toml:"value"`
	Array            map[string]ObjectDecl `toml:"array"`
	Dict             map[string]ObjectDecl `toml:"dict"`
	List             map[string]ObjectDecl `toml:"list"`
	Namespace        map[string]ObjectDecl `toml:"namespace"`
	Pipe             map[string]ObjectDecl `toml:"pipe"`
}

// ObjectDecl is a [KIND.NAME] table: object.create's params (§ObjectParams)
// in TOML. Initial is any TOML value (a number, an array, a table), taken as
// the JSON it maps to.
type ObjectDecl struct {
	Maxsize  int              `toml:"maxsize"`
	Value    *int             `toml:"value"`
	Parties  int              `toml:"parties"`
	Timeout  protocol.Seconds `toml:"timeout"`
	Typecode string           `toml:"typecode"`
	Initial  any              `toml:"initial"`
	Size     int              `toml:"size"`
	Lock     string           `toml:"lock"`
	Duplex   *bool            `toml:"duplex"`
}

func (c *Config) autoCreate() bool { return c.AutoCreate == nil || *c.AutoCreate }

// declared is one declared object, ready for createObject.
type declared struct {
	kind, name string
	params     protocol.ObjectParams
	err        error // Initial could not be taken as JSON
}

// objects lists the declared objects in creation order: by kind, then
// name, conditions last so that the locks they name exist.
func (c *Config) objects() []declared {
	tables := []struct {
		kind string
		m    map[string]ObjectDecl
	}{
		{"queue", c.Queue}, {"joinablequeue", c.JoinableQueue}, {"simplequeue", c.SimpleQueue},
		{"lock", c.Lock}, {"rlock", c.RLock}, {"semaphore", c.Semaphore},
		{"boundedsemaphore", c.BoundedSemaphore}, {"event", c.Event}, {"barrier", c.Barrier},
		{"value", c.Value}, {"array", c.Array}, {"dict", c.Dict}, {"list", c.List},
		{"namespace", c.Namespace}, {"pipe", c.Pipe}, {"condition", c.Condition},
	}
	var out []declared
	for _, t := range tables {
		names := make([]string, 0, len(t.m))
		for name := range t.m {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			d := t.m[name]
			p := protocol.ObjectParams{Maxsize: d.Maxsize, Value: d.Value, Parties: d.Parties,
				Timeout: d.Timeout, Typecode: d.Typecode, Size: d.Size, Lock: d.Lock, Duplex: d.Duplex}
			var err error
			if d.Initial != nil {
				p.Initial, err = json.Marshal(d.Initial)
			}
			out = append(out, declared{kind: t.kind, name: name, params: p, err: err})
		}
	}
	return out
}

var decodeErrRE = regexp.MustCompile(`^toml: line (\d+) \(last key "(.*?)"\): (.*)$`)

// ConfigError lists every problem found in a config file, each with its
// location, so that a user fixes them all in one pass.
type ConfigError struct {
	Path     string
	Problems []string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("config %s:\n  %s", e.Path, strings.Join(e.Problems, "\n  "))
}

// LoadConfig reads and validates a TOML config. Unknown keys and wrong types
// are errors naming the file, line and key; nothing is started on error.
func LoadConfig(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return ParseConfig(path, src)
}

// ParseConfig is LoadConfig on bytes already read; path is for messages.
func ParseConfig(path string, src []byte) (*Config, error) {
	var cfg Config
	md, err := toml.Decode(string(src), &cfg)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			msg := perr.Message
			if perr.LastKey != "" {
				msg = fmt.Sprintf("key %q: %s", perr.LastKey, msg)
			}
			return nil, &ConfigError{Path: path, Problems: []string{
				fmt.Sprintf("%s:%d: %s", path, perr.Position.Line, msg),
			}}
		}
		// Type mismatches come as plain errors: "toml: line 3 (last key
		// "pool.a.workers"): incompatible types: …".
		if m := decodeErrRE.FindStringSubmatch(err.Error()); m != nil {
			return nil, &ConfigError{Path: path, Problems: []string{
				fmt.Sprintf("%s:%s: key %q: %s", path, m[1], m[2], m[3]),
			}}
		}
		return nil, &ConfigError{Path: path, Problems: []string{fmt.Sprintf("%s: %v", path, err)}}
	}
	var problems []string
	for _, key := range md.Undecoded() {
		if len(key) > 3 && key[2] == "initial" && validKind(key[0]) {
			continue // inside a table-valued initial, taken as a whole
		}
		line := keyLine(src, key)
		problems = append(problems, fmt.Sprintf("%s:%d: unknown key %q", path, line, key.String()))
	}
	names := make([]string, 0, len(cfg.Pools))
	for name := range cfg.Pools {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		spec := cfg.Pools[name]
		spec.Name = name
		if err := ValidatePool(&spec); err != nil {
			line := keyLine(src, toml.Key{"pool", name})
			problems = append(problems, fmt.Sprintf("%s:%d: [pool.%s]: %s", path, line, name, err.Message))
		}
		cfg.Pools[name] = spec
	}
	// Declared objects are created in a scratch store, so that every
	// parameter problem is reported now, with its line.
	scratch := &Supervisor{store: sharedstate.NewMemStore(sharedstate.Options{MaxItemSize: cfg.MaxMessage})}
	for _, d := range cfg.objects() {
		line := keyLine(src, toml.Key{d.kind, d.name})
		if d.err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: [%s.%s]: initial: %v", path, line, d.kind, d.name, d.err))
			continue
		}
		if err := scratch.createObject(d.kind, d.name, &d.params); err != nil {
			msg := strings.TrimPrefix(strings.TrimPrefix(err.Message, "invalid params: "), "field \"params\": ")
			problems = append(problems, fmt.Sprintf("%s:%d: [%s.%s]: %s", path, line, d.kind, d.name, msg))
		}
	}
	scratch.store.Close()
	if cfg.MaxMessage < 0 {
		problems = append(problems, fmt.Sprintf("%s:%d: max_message must be positive", path, keyLine(src, toml.Key{"max_message"})))
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Path: path, Problems: problems}
	}
	return &cfg, nil
}

// keyLine finds the line where key is defined: the line of its table
// header, then the first "last = …" line after it. BurntSushi/toml keeps no
// positions for keys it did not decode, and the files are small.
func keyLine(src []byte, key toml.Key) int {
	table := key
	last := ""
	if len(key) > 1 {
		table, last = key[:len(key)-1], key[len(key)-1]
	} else {
		table, last = nil, key[0]
	}
	header := "[" + strings.Join(table, ".") + "]"
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(nil, len(src)+1)
	n, inTable, headerLine := 0, len(table) == 0, 0
	for sc.Scan() {
		n++
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "[") {
			if strings.ReplaceAll(l, " ", "") == header {
				inTable, headerLine = true, n
				if len(key) == len(table)+1 && last == "" {
					return n
				}
				continue
			}
			if inTable && headerLine > 0 {
				break
			}
			inTable = false
			continue
		}
		if inTable {
			if k, _, ok := strings.Cut(l, "="); ok && strings.Trim(strings.TrimSpace(k), `"`) == last {
				return n
			}
		}
	}
	if headerLine > 0 {
		return headerLine
	}
	// A [pool.NAME] whose key is the table itself.
	header = "[" + strings.Join(key, ".") + "]"
	sc = bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(nil, len(src)+1)
	for n = 1; sc.Scan(); n++ {
		if strings.ReplaceAll(strings.TrimSpace(sc.Text()), " ", "") == header {
			return n
		}
	}
	return 0
}
