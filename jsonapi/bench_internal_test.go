package jsonapi

import "testing"

// BenchmarkParseQuery parses the query of the benchmark's device list row
// with a filter and a sparse fieldset on top (make bench-micro).
func BenchmarkParseQuery(b *testing.B) {
	a := New(Deps{})
	raw := "filter%5Bfault%5D=true&filter%5Bsearch%5D=truck&sort=-last_event_at,name&page%5Bnumber%5D=3&page%5Bsize%5D=25&include=group&fields%5Bdevices%5D=name,imei,fault"
	for b.Loop() {
		if _, err := parseList(a, raw, deviceFilters); err != nil {
			b.Fatal(err)
		}
	}
}
