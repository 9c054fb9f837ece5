package jsonapitest

import "testing"

func TestCheckURI(t *testing.T) {
	for _, tc := range []struct {
		uri string
		ok  bool
	}{
		{"https://api.example.com/api/v1/devices?page%5Bnumber%5D=1&page%5Bsize%5D=100", true},
		{"https://api.example.com/api/v1/devices", true},
		{"http://127.0.0.1:8080/api/v1/devices/01J?include=group&sort=-name#x", true},
		{"http://[::1]:8080/a?b=c,d", true},
		{"urn:example:a", true},
		{"https://api.example.com/api/v1/devices?page[number]=1", false},
		{"https://api.example.com/api/v1/devices?q=a b", false},
		{"https://api.example.com/api/v1/devices?q=%zz", false},
		{"https://api.example.com/api/v1/devices?q=%4", false},
		{"https://api.example.com/a|b", false},
		{"https://api.example.com/a?q=\"", false},
		{"https://api.exa mple.com/a", false},
		{"https://api.example.com:80x/a", false},
		{"/api/v1/devices", false},
		{"1http://x", false},
	} {
		if err := CheckURI(tc.uri); (err == nil) != tc.ok {
			t.Errorf("CheckURI(%q) = %v, want ok %v", tc.uri, err, tc.ok)
		}
	}
}

func TestCheckLinks(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		ok        bool
	}{
		{"OK", `{"links":{"self":"https://x.example/a?page%5Bsize%5D=1","prev":null},"data":[{"links":{"self":"/a/b"}}]}`, true},
		{"ErrTopLevel", `{"links":{"next":"https://x.example/a?page[size]=1"}}`, false},
		{"ErrNested", `{"data":{"relationships":{"group":{"links":{"related":"https://x.example/a b"}}}}}`, false},
		{"ErrHref", `{"links":{"about":{"href":"https://x.example/a?x=[1]"}}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckLinks([]byte(tc.doc)); (err == nil) != tc.ok {
				t.Fatalf("CheckLinks = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
