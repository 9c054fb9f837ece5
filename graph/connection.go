package graph

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/assetgate/assetgate/graph/model"
	"github.com/assetgate/assetgate/resource"
)

// This file maps Relay connection arguments (first/after, last/before) onto
// the pages of the resource services. A cursor is the opaque form of an
// item's offset in the list, so cursors of a list stay valid while it does
// not change in front of them.

// cursorPrefix starts the decoded form of every cursor.
const cursorPrefix = "offset:"

// maxOffset bounds cursor offsets, so that the page numbers they need stay valid.
const maxOffset = 9_000_000

// pageArgs are the Relay paging arguments of a connection field.
type pageArgs struct {
	first, last   *int
	after, before *string
}

// encodeCursor returns the cursor of the item at offset.
func encodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.Itoa(offset)))
}

// decodeCursor returns the offset of a cursor; EInvalid pointing at the
// argument arg when it is not a cursor this API made.
func decodeCursor(arg, cursor string) (int, error) {
	bad := resource.Invalidf(arg, "%s is not a cursor of this list", arg)
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, bad
	}
	digits, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok {
		return 0, bad
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 || n > maxOffset || strconv.Itoa(n) != digits {
		return 0, bad
	}
	return n, nil
}

// lister reads one page of a list and returns its items and how many
// items the list has in all.
type lister[T any] func(ctx context.Context, page resource.Page) ([]T, int, error)

// window is a slice [start, end) of a list; end < 0 means "to the end".
type window struct{ start, end int }

// window returns the slice of the list the arguments select, before any
// total is known. EInvalid pointing at first, last, after or before.
func (a pageArgs) window() (window, error) {
	for _, n := range []struct {
		arg string
		v   *int
	}{{"first", a.first}, {"last", a.last}} {
		if n.v != nil && (*n.v < 0 || *n.v > resource.MaxPageSize) {
			return window{}, resource.Invalidf(n.arg, "%s must be between 0 and %d", n.arg, resource.MaxPageSize)
		}
	}
	w := window{start: 0, end: -1}
	if a.after != nil {
		off, err := decodeCursor("after", *a.after)
		if err != nil {
			return w, err
		}
		w.start = off + 1
	}
	if a.before != nil {
		off, err := decodeCursor("before", *a.before)
		if err != nil {
			return w, err
		}
		w.end = max(off, w.start)
	}
	first := a.first
	if first == nil && a.last == nil {
		n := resource.DefaultPageSize
		first = &n
	}
	if first != nil && (w.end < 0 || w.start+*first < w.end) {
		w.end = w.start + *first
	}
	return w, nil
}

// fetchPage reads the items the paging arguments select through list. It
// returns them, the offset of the first one and the list's total.
func fetchPage[T any](ctx context.Context, a pageArgs, list lister[T]) (items []T, start, total int, err error) {
	w, err := a.window()
	if err != nil {
		return nil, 0, 0, err
	}
	if w.end < 0 || a.last != nil {
		// The end is the list's end (last without before), or last counts
		// back from an end that may lie beyond the list: either way the
		// total is needed first.
		if _, total, err = list(ctx, resource.Page{Number: 1, Size: 1}); err != nil {
			return nil, 0, 0, err
		}
		if w.end < 0 || w.end > total {
			w.end = max(total, w.start)
		}
		if a.last != nil {
			w.start = max(w.start, w.end-*a.last)
		}
	}
	n := w.end - w.start
	if n <= 0 {
		if a.last == nil && w.end >= 0 {
			_, total, err = list(ctx, resource.Page{Number: 1, Size: 1})
		}
		return nil, w.start, total, err
	}
	items, total, err = readWindow(ctx, w.start, n, list)
	return items, w.start, total, err
}

// readWindow reads n items (at most MaxPageSize) from offset start. The
// services serve numbered pages, so it picks a page that covers the window
// and trims it; when no page of at most MaxPageSize items does, it reads
// the two pages of n items around it.
func readWindow[T any](ctx context.Context, start, n int, list lister[T]) ([]T, int, error) {
	for size := n; size <= resource.MaxPageSize; size++ {
		if start/size == (start+n-1)/size {
			page := resource.Page{Number: start/size + 1, Size: size}
			items, total, err := list(ctx, page)
			return trim(items, start-page.Offset(), n), total, err
		}
	}
	page := resource.Page{Number: start/n + 1, Size: n}
	items, _, err := list(ctx, page)
	if err != nil {
		return nil, 0, err
	}
	next, total, err := list(ctx, resource.Page{Number: page.Number + 1, Size: n})
	if err != nil {
		return nil, 0, err
	}
	return trim(append(items, next...), start-page.Offset(), n), total, nil
}

// trim returns at most n items of items from index from.
func trim[T any](items []T, from, n int) []T {
	if from >= len(items) {
		return nil
	}
	return items[from:min(len(items), from+n)]
}

// pageInfo returns the PageInfo of n items from offset start of a list of
// total items.
func pageInfo(start, n, total int) *model.PageInfo {
	info := &model.PageInfo{HasPreviousPage: start > 0, HasNextPage: start+n < total}
	if n > 0 {
		first, last := encodeCursor(start), encodeCursor(start+n-1)
		info.StartCursor, info.EndCursor = &first, &last
	}
	return info
}

// edges builds the edges of items from offset start with mk.
func edges[T, E any](items []T, start int, mk func(cursor string, node T) E) []E {
	out := make([]E, len(items))
	for i, it := range items {
		out[i] = mk(encodeCursor(start+i), it)
	}
	return out
}
