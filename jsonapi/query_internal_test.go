package jsonapi

import (
	"errors"
	"reflect"
	"testing"

	"github.com/assetgate/assetgate/resource"
)

func TestParseQuery(t *testing.T) {
	a := New(Deps{})
	for _, tc := range []struct {
		name  string
		raw   string
		kind  queryKind
		want  parsedQuery
		param string // the parameter a 400 points at; "" for success
	}{
		{name: "Empty", raw: "", kind: queryList},
		{name: "Everything", kind: queryList,
			raw: "include=group,group.configuration&fields[devices]=name,imei&fields[device-groups]=&sort=-last_event_at,name&page[number]=3&page[size]=25&filter[fault]=true&filter[search]=a%2Cb",
			want: parsedQuery{
				Query: resource.Query{
					Include: []string{"group", "group.configuration"},
					Fields:  map[string][]string{"devices": {"name", "imei"}, "device-groups": {}},
				},
				sort:   []resource.SortField{{Field: "last_event_at", Desc: true}, {Field: "name"}},
				page:   resource.Page{Number: 3, Size: 25},
				filter: map[string]string{"fault": "true", "search": "a,b"},
			}},
		{name: "Encoded", kind: queryList, raw: "page%5Bnumber%5D=2&filter%5Bfault%5D=false",
			want: parsedQuery{page: resource.Page{Number: 2}, filter: map[string]string{"fault": "false"}}},
		{name: "IncludeDuplicatesFolded", raw: "include=group,group", kind: queryOne, want: parsedQuery{Query: resource.Query{Include: []string{"group"}}}},
		{name: "IncludeEmpty", raw: "include=", kind: queryOne, want: parsedQuery{Query: resource.Query{Include: []string{}}}},
		{name: "FilterEmptyValue", raw: "filter[imei]=", kind: queryList, want: parsedQuery{filter: map[string]string{"imei": ""}}},
		{name: "ErrMalformed", raw: "a=%zz", kind: queryList, param: "-"},
		{name: "ErrTwice", raw: "sort=name&sort=imei", kind: queryList, param: "sort"},
		{name: "ErrUnknown", raw: "foo=bar", kind: queryList, param: "foo"},
		{name: "ErrPageOffset", raw: "page[offset]=3", kind: queryList, param: "page[offset]"},
		{name: "ErrPageSizeTooBig", raw: "page[size]=101", kind: queryList, param: "page[size]"},
		{name: "ErrPageSizeZero", raw: "page[size]=0", kind: queryList, param: "page[size]"},
		{name: "ErrPageNumberText", raw: "page[number]=two", kind: queryList, param: "page[number]"},
		{name: "ErrPageNumberNegative", raw: "page[number]=-1", kind: queryList, param: "page[number]"},
		{name: "ErrSortEmptyItem", raw: "sort=name,", kind: queryList, param: "sort"},
		{name: "ErrSortEmpty", raw: "sort=", kind: queryList, param: "sort"},
		{name: "ErrIncludeSpace", raw: "include=group,%20group.configuration", kind: queryList, param: "include"},
		{name: "ErrFilterNested", raw: "filter[a][b]=1", kind: queryList, param: "filter[a][b]"},
		{name: "ErrFilterNoName", raw: "filter[]=1", kind: queryList, param: "filter[]"},
		{name: "ErrFieldsUnknownType", raw: "fields[events]=name", kind: queryList, param: "fields[events]"},
		{name: "ErrFieldsUnknownMember", raw: "fields[devices]=secret", kind: queryOne, param: "fields[devices]"},
		{name: "ErrSortOnOne", raw: "sort=name", kind: queryOne, param: "sort"},
		{name: "ErrFilterOnOne", raw: "filter[fault]=true", kind: queryOne, param: "filter[fault]"},
		{name: "ErrPageOnOne", raw: "page[size]=1", kind: queryOne, param: "page[size]"},
		{name: "ErrIncludeOnNone", raw: "include=group", kind: queryNone, param: "include"},
		{name: "ErrFieldsOnNone", raw: "fields[devices]=name", kind: queryNone, param: "fields[devices]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.parseParams(tc.raw, tc.kind)
			if tc.param == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got  %+v\nwant %+v", got, tc.want)
				}
				return
			}
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != 400 {
				t.Fatalf("error %v, want a 400", err)
			}
			if tc.param != "-" && ae.Parameter != tc.param {
				t.Fatalf("parameter %q, want %q", ae.Parameter, tc.param)
			}
		})
	}
}
