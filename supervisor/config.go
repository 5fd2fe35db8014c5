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

	"github.com/corralhq/corral/protocol"
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
