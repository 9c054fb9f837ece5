package resource

import (
	"math"
	"strings"
	"unicode/utf8"
)

// ValidateIMEI checks that imei is 15 decimal digits whose last digit is the
// Luhn check digit of the first 14; EInvalid pointing at imei otherwise.
func ValidateIMEI(imei string) error {
	if len(imei) != 15 {
		return Invalidf("imei", "imei must be 15 digits")
	}
	sum := 0
	for i := range 15 {
		c := imei[14-i]
		if c < '0' || c > '9' {
			return Invalidf("imei", "imei must be 15 digits")
		}
		d := int(c - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	if sum%10 != 0 {
		return Invalidf("imei", "imei has a wrong check digit (Luhn)")
	}
	return nil
}

// NormalizeMAC reads a MAC address in any of the forms it is commonly
// written in — XX:XX:XX:XX:XX:XX, XX-XX-XX-XX-XX-XX, XXXX.XXXX.XXXX or 12
// bare hexadecimal digits, in either case — and returns it as
// XX:XX:XX:XX:XX:XX in upper case, the one form devices are stored and
// filtered in; EInvalid pointing at mac otherwise.
func NormalizeMAC(mac string) (string, error) {
	bad := Invalidf("mac", "mac must be 12 hexadecimal digits: XX:XX:XX:XX:XX:XX, XX-XX-XX-XX-XX-XX, XXXX.XXXX.XXXX or XXXXXXXXXXXX")
	var hex string
	switch {
	case len(mac) == 17 && (separatedEvery(mac, 2, ':') || separatedEvery(mac, 2, '-')):
		hex = mac[0:2] + mac[3:5] + mac[6:8] + mac[9:11] + mac[12:14] + mac[15:17]
	case len(mac) == 14 && separatedEvery(mac, 4, '.'):
		hex = mac[0:4] + mac[5:9] + mac[10:14]
	case len(mac) == 12:
		hex = mac
	default:
		return "", bad
	}
	for i := range len(hex) {
		c := hex[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return "", bad
		}
	}
	hex = strings.ToUpper(hex)
	return hex[0:2] + ":" + hex[2:4] + ":" + hex[4:6] + ":" + hex[6:8] + ":" + hex[8:10] + ":" + hex[10:12], nil
}

// separatedEvery reports whether s has sep after every group of n
// characters, and nowhere else.
func separatedEvery(s string, n int, sep byte) bool {
	for i := range len(s) {
		if (i%(n+1) == n) != (s[i] == sep) {
			return false
		}
	}
	return true
}

// ValidateCoordinates checks a position: both latitude and longitude or
// neither, latitude in [-90, 90] and longitude in [-180, 180]. EInvalid
// pointing at latitude or longitude.
func ValidateCoordinates(lat, lon *float64) error {
	switch {
	case lat == nil && lon == nil:
		return nil
	case lat == nil:
		return Invalidf("latitude", "latitude and longitude must be given together")
	case lon == nil:
		return Invalidf("longitude", "latitude and longitude must be given together")
	case math.IsNaN(*lat) || *lat < -90 || *lat > 90:
		return Invalidf("latitude", "latitude must be between -90 and 90")
	case math.IsNaN(*lon) || *lon < -180 || *lon > 180:
		return Invalidf("longitude", "longitude must be between -180 and 180")
	}
	return nil
}

// maxNameLen bounds the names of devices, groups and configurations.
const maxNameLen = 200

// normalizeName trims a name and checks that it has 1 to 200 characters of
// storable text (see StorableText); EInvalid pointing at field.
func normalizeName(field, name string) (string, error) {
	if err := CheckText(field, name); err != nil {
		return "", err
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > maxNameLen {
		return "", Invalidf(field, "%s must be 1 to %d characters", field, maxNameLen)
	}
	return name, nil
}

// StorableText reports whether s is text both databases store as given:
// valid UTF-8 without NUL characters. PostgreSQL refuses both (invalid
// byte sequence for encoding "UTF8"), SQLite keeps them; every string that
// reaches a store is checked first, so both refuse the same input, as
// invalid, and neither fails on it.
func StorableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// CheckText returns EInvalid pointing at field unless s is StorableText.
func CheckText(field, s string) error {
	switch {
	case !utf8.ValidString(s):
		return Invalidf(field, "%s must be valid UTF-8", field)
	case strings.ContainsRune(s, 0):
		return Invalidf(field, "%s must not contain NUL characters", field)
	}
	return nil
}
