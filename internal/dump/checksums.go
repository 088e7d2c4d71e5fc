package dump

import (
	"bytes"
	"fmt"
	"strings"
)

// MergeChecksumLine returns the checksum file content with the line for
// fileName set to hexSum, in the md5sum/sha1sum format Wikimedia publishes:
// "<hex>  <file name>\n". Other files' lines keep their text and order; a
// new file is appended; setting the same sum again changes nothing.
func MergeChecksumLine(existing []byte, fileName, hexSum string) ([]byte, error) {
	if fileName == "" || strings.ContainsAny(fileName, "\n\r") {
		return nil, fmt.Errorf("checksum file name %q: must be one non-empty line", fileName)
	}
	if !isLowerHex(hexSum) {
		return nil, fmt.Errorf("checksum %q for %s: want lower-case hex", hexSum, fileName)
	}
	var out bytes.Buffer
	found := false
	for i, line := range strings.Split(string(existing), "\n") {
		if line == "" {
			continue
		}
		sum, name, err := parseChecksumLine(line)
		if err != nil {
			return nil, fmt.Errorf("checksum file line %d: %w", i+1, err)
		}
		if name == fileName {
			if found {
				continue // an earlier bad merge duplicated it; keep one
			}
			found = true
			line = hexSum + "  " + fileName
		} else if !isLowerHex(sum) {
			return nil, fmt.Errorf("checksum file line %d: %q is not a hex digest", i+1, sum)
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	if !found {
		out.WriteString(hexSum + "  " + fileName + "\n")
	}
	return out.Bytes(), nil
}

// ParseChecksumFile returns file name → hex digest.
func ParseChecksumFile(content []byte) (map[string]string, error) {
	sums := map[string]string{}
	for i, line := range strings.Split(string(content), "\n") {
		if line == "" {
			continue
		}
		sum, name, err := parseChecksumLine(line)
		if err != nil {
			return nil, fmt.Errorf("checksum file line %d: %w", i+1, err)
		}
		sums[name] = sum
	}
	return sums, nil
}

// parseChecksumLine splits "<hex>  <name>", also accepting md5sum's binary
// marker "<hex> *<name>".
func parseChecksumLine(line string) (sum, name string, err error) {
	i := strings.IndexByte(line, ' ')
	if i <= 0 || i+2 > len(line) || (line[i+1] != ' ' && line[i+1] != '*') || i+2 == len(line) {
		return "", "", fmt.Errorf("%q: want \"<hex>  <file name>\"", line)
	}
	return line[:i], line[i+2:], nil
}

func isLowerHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
